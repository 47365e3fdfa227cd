"""The demo company's customers: accounts, their people, and the moments that matter.

This is the "who and when" of the simulation (the background clicks are ``activity.py``):

- accounts with skewed sizes (log-normal employees), industries and countries, created over
  the window, some going dormant;
- teams that grow by invitation (an ``Invite Sent`` by a member, the invitee's sign-up and
  ``Invite Accepted``), held back by the free plan's seat limit (``Plan Limit Reached``)
  until the account upgrades;
- upgrades drawn from a hazard that rises with usage (the account's engagement) and fit
  (employees, industry), calibrated so about a quarter of accounts pay by the end. Most
  upgrades are preceded by hand-raising (pricing views, ``Upgrade Clicked``, limits; SSO and
  audit-log interest before enterprise), some are silent, and some accounts raise hands and
  never buy: PQLs get real signal and real misses.

All randomness comes from one seeded ``numpy.random.Generator``, in a fixed order.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from beachhead.demo import names, vocab
from beachhead.demo.salesorg import SalesOrg
from beachhead.demo.scale import ScaleSpec

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

SOLO_SHARE = 0.08  # users on their own, with a personal address and no workspace
FREE_MAIL_SHARE = 0.07  # invited members who use a personal address anyway
PAID_SHARE = 0.27  # accounts on a paid plan by the end (calibrated)
SECOND_STEP_SHARE = 0.3  # of eligible paid accounts that move up once more
MAX_BLOCKED_INVITES = 3  # after a few invites bounce off the seat limit, people stop trying


@dataclass(slots=True)
class AccountRec:
    """One customer account (a workspace) and its story."""

    id: str
    name: str
    domain: str
    industry: str
    employees: int
    country: str
    created: int  # ms since epoch
    active_end: int  # dormant from here on (or the window's end)
    engagement: float
    owner: str = ""
    updated: int = 0  # the CRM row's updated_at
    members: list[int] = field(default_factory=list)  # user indexes in join order
    # (time, plan, seats, mrr, user index of the upgrader), in time order
    upgrades: list[tuple[int, str, int, int, int]] = field(default_factory=list)

    def plan_at(self, t: int) -> str:
        plan = "free"
        for ts, p, *_ in self.upgrades:
            if ts <= t:
                plan = p
        return plan


@dataclass(slots=True)
class UserRec:
    """One person who signed up (or, with ``account == -1``, works alone)."""

    first: str
    last: str
    email: str
    title: str
    department: str
    role: str
    account: int  # index into accounts, -1 for none
    join: int  # sign-up time, ms
    stop: int  # activity fades from here (churn, dormancy, or the end)
    invited: bool
    anonymous_id: str | None = None
    anon_views: list[tuple[int, int]] = field(default_factory=list)  # (ms, page code)
    id: str = ""


@dataclass(slots=True)
class SimpleEvents:
    """Track and page messages by identified users, as columns (activity.py adds the bulk)."""

    ts: list[int] = field(default_factory=list)
    user: list[int] = field(default_factory=list)
    code: list[int] = field(default_factory=list)
    prop: list[int] = field(default_factory=list)
    group: list[int] = field(default_factory=list)  # context.groupId account index, -1 none

    def add(self, ts: int, user: int, name: str, prop: int, group: int) -> None:
        self.ts.append(int(ts))
        self.user.append(user)
        self.code.append(vocab.CODE[name])
        self.prop.append(prop)
        self.group.append(group)


@dataclass(slots=True)
class Company:
    """Everything the simulation decided; the writer turns it into files."""

    start: int
    end: int
    accounts: list[AccountRec]
    users: list[UserRec]
    events: SimpleEvents
    anonymous_visitors: list[tuple[str, list[tuple[int, int]]]]  # never signed up


@dataclass(frozen=True, slots=True)
class _Pool:
    """Pre-drawn attributes for up to ``n`` people, so each new person costs no draws."""

    first: list[int]
    last: list[int]
    dept: list[int]
    dept_founder: list[int]
    level: list[float]
    level_founder: list[float]
    number: list[int]
    work_mail: list[bool]
    provider: list[int]
    admin: list[bool]
    churn: list[bool]
    churn_after: list[int]  # ms after joining
    anon: list[float]
    method: list[int]  # sign-up method: google, email, sso
    uuid_bytes: bytes

    @staticmethod
    def draw(rng: np.random.Generator, n: int) -> _Pool:
        founder_w = list(vocab.DEPARTMENT_WEIGHTS)
        # Whoever starts a workspace tends to be in product, engineering, operations or data.
        for d, extra in (("product", 10), ("engineering", 8), ("operations", 4), ("data", 4)):
            founder_w[vocab.DEPARTMENTS.index(d)] += extra
        return _Pool(
            first=rng.integers(0, len(names.FIRST_NAMES), n).tolist(),
            last=rng.integers(0, len(names.LAST_NAMES), n).tolist(),
            dept=_choice(rng, n, vocab.DEPARTMENT_WEIGHTS).tolist(),
            dept_founder=_choice(rng, n, tuple(founder_w)).tolist(),
            level=rng.beta(2.0, 3.0, n).tolist(),
            level_founder=rng.beta(3.0, 2.0, n).tolist(),
            number=rng.integers(1, 999, n).tolist(),
            work_mail=(rng.random(n) >= FREE_MAIL_SHARE).tolist(),
            provider=rng.integers(0, len(names.FREE_MAIL), n).tolist(),
            admin=(rng.random(n) < 0.1).tolist(),
            churn=(rng.random(n) < 0.12).tolist(),
            churn_after=(3 * DAY + rng.exponential(40.0, n) * DAY).astype(np.int64).tolist(),
            anon=rng.random(n).tolist(),
            method=_choice(rng, n, (5, 4, 1)).tolist(),
            uuid_bytes=rng.bytes(16 * n),
        )


def _choice(rng: np.random.Generator, n: int, weights: tuple[float, ...]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _calibrate(rate: np.ndarray, exposure_days: np.ndarray, target: float) -> float:
    """The base hazard for which the expected share of events within exposure is ``target``."""
    if not len(rate) or not np.any(exposure_days > 0):
        return 0.0
    lo, hi = 1e-9, 10.0
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        share = float(np.mean(1.0 - np.exp(-mid * rate * np.maximum(exposure_days, 0))))
        lo, hi = (mid, hi) if share < target else (lo, mid)
    return math.sqrt(lo * hi)


def _sizes(raw: np.ndarray, cap: np.ndarray, budget: float) -> np.ndarray:
    """Team sizes ``1 + c * raw`` (capped) with ``c`` chosen so they sum to about ``budget``."""
    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        total = np.minimum(cap, 1 + np.round(mid * raw)).sum()
        lo, hi = (mid, hi) if total < budget else (lo, mid)
    return np.minimum(cap, 1 + np.round(lo * raw)).astype(np.int64)


def _uuid(raw: bytes) -> str:
    """A version-4 shaped UUID from 16 random bytes."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _seats(plan: str, team: int, employees: int) -> int:
    if plan == "team":
        return min(25, max(3, team + 2))
    if plan == "business":
        return min(250, max(10, team + 5))
    return max(team + 10, min(employees, 50 + employees // 20))


class _Builder:
    """Builds a Company step by step; holds the generator so draws stay in one order."""

    def __init__(self, rng: np.random.Generator, spec: ScaleSpec, end: int, org: SalesOrg) -> None:
        self.rng = rng
        self.spec = spec
        self.end = end
        self.start = end - spec.days * DAY
        self.org = org
        self.users: list[UserRec] = []
        self.ev = SimpleEvents()
        self.accounts: list[AccountRec] = []
        self.team_size = np.zeros(0, dtype=np.int64)
        self.pool = _Pool.draw(rng, 0)
        self.emails: set[str] = set()

    # --- accounts -------------------------------------------------------------------------

    def make_accounts(self) -> None:
        rng, n, window = self.rng, self.spec.accounts, self.spec.days * DAY
        employees = np.clip(np.round(np.exp(rng.normal(math.log(35), 1.7, n))), 1, 250_000)
        industry = _choice(rng, n, vocab.INDUSTRY_WEIGHTS)
        country = _choice(rng, n, vocab.COUNTRY_WEIGHTS)
        created = self.start + ((window - 2 * DAY) * rng.beta(1.0, 1.5, n)).astype(np.int64)
        engagement = np.exp(rng.normal(0.0, 0.6, n))
        dormant_p = np.clip(0.35 / (0.4 + engagement), 0.05, 0.6)
        dormant = rng.random(n) < dormant_p
        dormant_at = created + 4 * DAY + (rng.exponential(25.0, n) * DAY).astype(np.int64)
        active_end = np.where(dormant, np.minimum(dormant_at, self.end), self.end)
        size_raw = np.exp(rng.normal(math.log(2.0) + 0.3 * np.log10(employees), 0.8))
        cap = np.minimum(employees, 400)
        budget = self.spec.users * (1 - SOLO_SHARE)
        self.team_size = _sizes(size_raw, cap, budget)

        company = names.company_names(rng, n)
        owner_pick = rng.random(n)
        updated_lag = (rng.uniform(0.5, 7.0, n) * DAY).astype(np.int64)
        for i in range(n):
            name, domain = company[i]
            emp = int(employees[i])
            acc = AccountRec(
                id=names.slug(name),
                name=name,
                domain=domain,
                industry=vocab.INDUSTRIES[int(industry[i])],
                employees=emp,
                country=vocab.COUNTRIES[int(country[i])],
                created=int(created[i]),
                active_end=int(active_end[i]),
                engagement=float(engagement[i]),
            )
            acc.owner = self.org.owner_for(emp, float(owner_pick[i]))
            acc.updated = min(acc.created + int(updated_lag[i]), self.end - MINUTE)
            self.accounts.append(acc)
        self._plan_upgrades(employees, industry)
        # Seat limits keep teams of free accounts small: size the teams again so the people
        # who can actually join add up to the budget (upgrade decisions stay as drawn).
        final_limit = np.array(
            [vocab.PLAN_BY_KEY[a.plan_at(self.end)].seat_limit or 10**9 for a in self.accounts]
        )
        self.team_size = _sizes(size_raw, np.minimum(cap, final_limit), budget)

    def _plan_upgrades(self, employees: np.ndarray, industry: np.ndarray) -> None:
        """Decide when (if ever) each account moves up a plan: usage and fit raise the odds."""
        rng, n = self.rng, len(self.accounts)
        eng = np.array([a.engagement for a in self.accounts])
        created = np.array([a.created for a in self.accounts], dtype=np.int64)
        active_end = np.array([a.active_end for a in self.accounts], dtype=np.int64)
        ind_fit = np.array([vocab.INDUSTRY_FIT[vocab.INDUSTRIES[int(k)]] for k in industry])
        fit = 0.45 * np.log10(employees) + ind_fit + rng.normal(0.0, 0.3, n)
        crowded = np.where(self.team_size > vocab.FREE_SEAT_LIMIT, 1.8, 1.0)
        rate = eng**1.4 * np.exp(0.9 * (fit - fit.mean())) * crowded
        t0 = created + 2 * DAY
        base = _calibrate(rate, (active_end - t0) / DAY, PAID_SHARE)
        wait = rng.exponential(1.0, n) / np.maximum(base * rate, 1e-12)
        t1 = t0 + np.minimum(wait * DAY, 1e15).astype(np.int64)
        up1 = t1 < active_end
        biz = rng.random(n) < 0.08 + 0.35 * (employees >= 250)
        plan1 = np.where(biz, "business", "team")

        eligible = up1 & ((employees >= 200) | (self.team_size >= 15))
        rate2 = np.exp(0.8 * fit) * eng
        t20 = t1 + 10 * DAY
        expo = np.where(eligible, (active_end - t20) / DAY, 0.0)
        base2 = _calibrate(rate2[eligible], expo[eligible], SECOND_STEP_SHARE)
        wait2 = rng.exponential(1.0, n) / np.maximum(base2 * rate2, 1e-12)
        t2 = t20 + np.minimum(wait2 * DAY, 1e15).astype(np.int64)
        up2 = eligible & (t2 < active_end)
        for i, acc in enumerate(self.accounts):
            if up1[i]:
                acc.upgrades.append((int(t1[i]), str(plan1[i]), 0, 0, -1))
                nxt = "enterprise" if employees[i] >= 500 else "business"
                if up2[i] and nxt != plan1[i]:
                    acc.upgrades.append((int(t2[i]), nxt, 0, 0, -1))

    # --- people ---------------------------------------------------------------------------

    def _person(self, account: int, join: int, founder: bool, invited: bool) -> int:
        """A new user from the next row of the pre-drawn pool (draws stay vectorised)."""
        pool, i = self.pool, len(self.users)
        first, last = names.FIRST_NAMES[pool.first[i]], names.LAST_NAMES[pool.last[i]]
        dept = vocab.DEPARTMENTS[pool.dept_founder[i] if founder else pool.dept[i]]
        titles = vocab.TITLES[dept]
        level = pool.level_founder[i] if founder else pool.level[i]
        title = titles[min(len(titles) - 1, int(level * len(titles)))]
        number = int(pool.number[i])
        if account >= 0 and (founder or pool.work_mail[i]):
            email = names.work_email(first, last, self.accounts[account].domain, number)
        else:
            provider = names.FREE_MAIL[pool.provider[i]]
            email = names.free_email(first, last, provider, number)
        while email in self.emails:  # two Ana Silvas at one company: the second gets a digit
            local, _, domain = email.partition("@")
            email = f"{local}{number % 10}@{domain}"
            number //= 10
            if not number:
                number = i + 1
        self.emails.add(email)
        role = "admin" if founder or account < 0 or pool.admin[i] else "member"
        stop = join + int(pool.churn_after[i]) if pool.churn[i] else self.end
        if account >= 0:
            stop = min(stop, self.accounts[account].active_end)
        user = UserRec(
            first=first,
            last=last,
            email=email,
            title=title,
            department=dept,
            role=role,
            account=account,
            join=join,
            stop=max(min(stop, self.end), join + MINUTE),
            invited=invited,
        )
        p_anon = 0.7 if founder else (0.2 if invited else 0.5)
        if pool.anon[i] < p_anon:
            user.anonymous_id = _uuid(pool.uuid_bytes[16 * i : 16 * i + 16])
        self.users.append(user)
        return i

    def anonymous_views(self) -> None:
        """Page views before sign-up (up to 14 days before) for users with an anonymousId."""
        rng = self.rng
        who = [i for i, u in enumerate(self.users) if u.anonymous_id]
        if not who:
            return
        counts = 1 + rng.poisson(1.5, len(who))
        join = np.array([self.users[i].join for i in who], dtype=np.int64)
        lo = np.maximum(self.start, join - 14 * DAY)
        hi = join - MINUTE
        rows = np.repeat(np.arange(len(who)), counts)
        span = np.maximum(hi - lo, 0)[rows]
        times = lo[rows] + (rng.random(len(rows)) * span).astype(np.int64)
        pages = _choice(rng, len(rows), (3, 2, 4))  # Pricing, Docs, Home
        codes = [vocab.CODE[p] for p in vocab.PAGES]
        order = np.lexsort((times, rows))
        for r in order.tolist():
            k = int(rows[r])
            if span[r] > 0:
                self.users[who[k]].anon_views.append((int(times[r]), codes[int(pages[r])]))

    def make_people(self) -> None:
        """Founders, invited members (held back by seat limits), then people on their own."""
        rng = self.rng
        n_solo = round(self.spec.users * SOLO_SHARE)
        self.pool = _Pool.draw(rng, int(self.team_size.sum()) + n_solo)
        for a, acc in enumerate(self.accounts):
            founder = self._person(a, acc.created, founder=True, invited=False)
            acc.members.append(founder)
            self._signed_up(founder, a, invited=False)
            want = int(self.team_size[a]) - 1
            span = max(acc.active_end - acc.created, HOUR)
            offsets = (np.sort(rng.beta(0.7, 1.6, want)) * span).astype(np.int64).tolist()
            by_founder = (rng.random(want) < 0.6).tolist()
            which = rng.random(want).tolist()
            lags = (rng.exponential(18.0, want) * HOUR).astype(np.int64).tolist()
            joined_at: list[int] = [acc.created]
            blocked = 0
            for j, off in enumerate(offsets):
                t = acc.created + 10 * MINUTE + off
                inviter, lag = founder, lags[j]
                if not by_founder[j]:  # a teammate who is already there invites
                    other = acc.members[int(which[j] * len(acc.members))]
                    inviter = other if self.users[other].join < t else founder
                admitted = self._admit(acc, t, joined_at)
                if admitted != t:  # no free seat: the invite hits the plan's limit
                    blocked += 1
                    if blocked <= MAX_BLOCKED_INVITES:
                        sent = self._sent(inviter, t, lag)
                        self._invite(a, inviter, sent)
                        if acc.plan_at(t) != "enterprise":
                            key = f"seats:{acc.plan_at(t)}"
                            limit = vocab.prop("Plan Limit Reached", key)
                            self.ev.add(sent + 1000, inviter, "Plan Limit Reached", limit, a)
                    if admitted is None or admitted >= acc.active_end:
                        continue
                    # Invited again once the upgrade freed a seat.
                    lag = min(lag, admitted - t)
                    t = admitted
                else:
                    self._invite(a, inviter, self._sent(inviter, t, lag))
                bisect.insort(joined_at, t)
                member = self._person(a, t, founder=False, invited=True)
                acc.members.append(member)
                self._signed_up(member, a, invited=True)
                role = self.users[member].role
                self.ev.add(
                    t + 1000, member, "Invite Accepted", vocab.prop("Invite Accepted", role), a
                )
        window = self.spec.days * DAY
        joins = self.start + (rng.beta(1.0, 1.3, n_solo) * (window - DAY)).astype(np.int64)
        for t in joins:
            u = self._person(-1, int(t), founder=False, invited=False)
            self._signed_up(u, -1, invited=False)

    def _sent(self, inviter: int, joins: int, lag: int) -> int:
        """When an invitation went out: ``lag`` before the invitee joins, but after the
        inviter's own first minutes (spread over five minutes, not one millisecond)."""
        earliest = self.users[inviter].join + MINUTE + lag % (5 * MINUTE)
        return max(self.users[inviter].join + 1000, min(max(earliest, joins - lag), joins - 1000))

    def _invite(self, a: int, inviter: int, sent: int) -> None:
        self.ev.add(sent, inviter, "Invite Sent", vocab.prop("Invite Sent", "member"), a)

    def _admit(self, acc: AccountRec, t: int, joined_at: list[int]) -> int | None:
        """When an invitee can join: at ``t``, after the upgrade that frees a seat, or never."""
        members_then = bisect.bisect_right(joined_at, t)
        if members_then < vocab.FREE_SEAT_LIMIT:  # room on every plan
            return t
        limit = vocab.PLAN_BY_KEY[acc.plan_at(t)].seat_limit
        if limit is None or members_then < limit:
            return t
        for ts, p, *_ in acc.upgrades:
            new_limit = vocab.PLAN_BY_KEY[p].seat_limit
            if ts > t and (new_limit is None or members_then < new_limit):
                return ts + int(self.rng.exponential(2.0) * DAY) + MINUTE
        return None

    def _signed_up(self, user: int, account: int, invited: bool) -> None:
        method = ("google", "email", "sso")[self.pool.method[user]]
        key = f"{method}:{invited}"
        self.ev.add(
            self.users[user].join + 200, user, "Signed Up", vocab.prop("Signed Up", key), account
        )

    # --- hand-raising, upgrades and misses -----------------------------------------------

    def make_signals(self) -> None:
        rng = self.rng
        for a, acc in enumerate(self.accounts):
            if not acc.members:
                continue
            plan = "free"
            resolved: list[tuple[int, str, int, int, int]] = []
            for t, new_plan, *_ in acc.upgrades:
                present = [m for m in acc.members if self.users[m].join < t]
                admins = [m for m in present if self.users[m].role == "admin"] or present
                who = admins[int(rng.integers(0, len(admins)))]
                team = int(self.team_size[a])
                seats = _seats(new_plan, max(team, len(present)), acc.employees)
                mrr = seats * vocab.PLAN_BY_KEY[new_plan].price_per_seat
                if rng.random() >= 0.15:  # most buyers raise their hand first; some do not
                    self._hand_raise(a, who, admins, t, plan, new_plan)
                resolved.append((t, new_plan, seats, mrr, who))
                plan = new_plan
            acc.upgrades = resolved
            self._misses(a, acc)

    def _at(self, user: int, t: int) -> int:
        """A time no earlier than a minute after the user's sign-up, and before the end."""
        return min(max(t, self.users[user].join + MINUTE), self.end - 1)

    def _hand_raise(self, a: int, who: int, admins: list[int], t: int, plan: str, new: str) -> None:
        rng, ev = self.rng, self.ev
        for _ in range(1 + int(rng.poisson(1.2))):
            when = self._at(who, t - int(rng.uniform(0.01, 7.0) * DAY))
            ev.add(when, who, "Pricing", vocab.PROP_RANGE[vocab.CODE["Pricing"]][0], a)
        if new == "enterprise":
            for _ in range(1 + int(rng.poisson(1.5))):
                u = admins[int(rng.integers(0, len(admins)))]
                when = self._at(u, t - int(rng.uniform(1.0, 30.0) * DAY))
                ev.add(when, u, "SSO Settings Viewed", vocab.prop("SSO Settings Viewed", "okta"), a)
            for _ in range(int(rng.poisson(1.0))):
                u = admins[int(rng.integers(0, len(admins)))]
                when = self._at(u, t - int(rng.uniform(1.0, 30.0) * DAY))
                ev.add(when, u, "Audit Log Viewed", vocab.prop("Audit Log Viewed", "90d"), a)
        if rng.random() < (0.4 if new == "enterprise" else 0.8):
            loc = ("banner", "settings", "limit_modal", "pricing_page")[int(rng.integers(0, 4))]
            when = self._at(who, t - int(rng.uniform(1.0, 30.0) * MINUTE))
            ev.add(when, who, "Upgrade Clicked", vocab.prop("Upgrade Clicked", f"{new}:{loc}"), a)
        if plan == "free" and rng.random() < 0.5:
            limit = ("reports", "dashboards")[int(rng.integers(0, 2))]
            when = self._at(who, t - int(rng.uniform(0.5, 5.0) * DAY))
            ev.add(
                when,
                who,
                "Plan Limit Reached",
                vocab.prop("Plan Limit Reached", f"{limit}:free"),
                a,
            )

    def _misses(self, a: int, acc: AccountRec) -> None:
        """Accounts that look interested and do not buy (yet): the PQLs' false positives."""
        rng, ev = self.rng, self.ev
        plan_end = acc.plan_at(self.end)
        active = [m for m in acc.members if self.users[m].join < acc.active_end - HOUR]
        if not active:
            return

        def when(u: int) -> int:
            lo = self.users[u].join + MINUTE
            hi = max(lo + 1, acc.active_end)
            return self._at(u, int(rng.integers(lo, hi)))

        if plan_end == "free" and rng.random() < float(
            np.clip(0.15 + 0.25 * (acc.engagement - 1), 0.05, 0.6)
        ):
            u = active[int(rng.integers(0, len(active)))]
            for _ in range(1 + int(rng.poisson(1.0))):
                ev.add(when(u), u, "Pricing", vocab.PROP_RANGE[vocab.CODE["Pricing"]][0], a)
            if rng.random() < 0.35:
                ev.add(
                    when(u), u, "Upgrade Clicked", vocab.prop("Upgrade Clicked", "team:banner"), a
                )
            if rng.random() < 0.3:
                ev.add(
                    when(u),
                    u,
                    "Plan Limit Reached",
                    vocab.prop("Plan Limit Reached", "reports:free"),
                    a,
                )
        if acc.employees >= 500 and plan_end != "enterprise" and rng.random() < 0.3:
            u = active[int(rng.integers(0, len(active)))]
            for _ in range(1 + int(rng.poisson(0.8))):
                ev.add(
                    when(u),
                    u,
                    "SSO Settings Viewed",
                    vocab.prop("SSO Settings Viewed", "google"),
                    a,
                )

    # --- anonymous traffic and ids --------------------------------------------------------

    def anonymous_visitors(self) -> list[tuple[str, list[tuple[int, int]]]]:
        """Visitors who look around (Home, Pricing, Docs) and never sign up."""
        rng = self.rng
        n = max(1, round(self.spec.users * 0.04))
        window = self.spec.days * DAY
        raw = rng.bytes(16 * n)
        last = self.start + (rng.uniform(0.05, 1.0, n) * window).astype(np.int64)
        counts = 1 + rng.poisson(1.0, n)
        rows = np.repeat(np.arange(n), counts)
        lo = np.maximum(self.start, last - 14 * DAY)[rows]
        times = lo + (rng.random(len(rows)) * (last[rows] - lo)).astype(np.int64)
        pages = _choice(rng, len(rows), (3, 2, 4))
        codes = [vocab.CODE[p] for p in vocab.PAGES]
        views: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for r in np.lexsort((times, rows)).tolist():
            views[int(rows[r])].append((int(times[r]), codes[int(pages[r])]))
        return [(_uuid(raw[16 * k : 16 * k + 16]), views[k]) for k in range(n)]

    def assign_ids(self) -> np.ndarray:
        """Number users in sign-up order (``u_00001`` first); returns old index -> new index."""
        order = sorted(range(len(self.users)), key=lambda i: (self.users[i].join, i))
        width = max(5, len(str(len(self.users))))
        remap = np.empty(len(self.users), dtype=np.int64)
        for new, old in enumerate(order):
            remap[old] = new
        self.users = [self.users[i] for i in order]
        for new, user in enumerate(self.users):
            user.id = f"u_{new + 1:0{width}d}"
        for acc in self.accounts:
            acc.members = [int(remap[m]) for m in acc.members]
            acc.upgrades = [(t, p, s, m, int(remap[w])) for t, p, s, m, w in acc.upgrades]
        return remap


def simulate(rng: np.random.Generator, spec: ScaleSpec, end_ms: int, org: SalesOrg) -> Company:
    """Run the company simulation (accounts, people, moments) for one scale and seed."""
    b = _Builder(rng, spec, end_ms, org)
    b.make_accounts()
    b.make_people()
    b.make_signals()
    b.anonymous_views()
    visitors = b.anonymous_visitors()
    remap = b.assign_ids()
    ev = b.ev
    ev.user = remap[np.asarray(ev.user, dtype=np.int64)].tolist() if ev.user else []
    return Company(
        start=b.start,
        end=end_ms,
        accounts=b.accounts,
        users=b.users,
        events=ev,
        anonymous_visitors=visitors,
    )
