"""Store rows for the evaluation benchmark, generated with numpy and bulk-loaded as Arrow.

The evaluation benchmark measures the engine, not the import path, so the data goes
straight into the events store's tables (``events``, ``trait_rows``, ``links``,
``memberships``) of a DuckDB file made by ``DuckDBEventStore`` (so the schema is the real
one). The file is cached under ``bench/.cache/`` by size, seed and generator version:
building 30M events takes minutes, opening a cached file takes nothing.

The shape, per ``n`` events: ``n / 100`` users and ``n / 1000`` accounts (10M events: 100k
users, 10k accounts), 120 days ending at ``AS_OF``. Accounts have skewed sizes (a few big
ones, many small), plans free/team/business/enterprise with seats, employees, industry,
country, mrr, and a later upgrade row for paying accounts (so traits are merged). Most users
join their account by a group call, some by their email's domain, some (free mail) join
none; some are in two accounts; 30% browsed anonymously before signing up and are linked.
Activity: 15 track events and 3 pages with realistic properties, heavy users doing more,
40% carrying ``context.groupId``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from beachhead.store.events_duckdb import (
    EVENTS_ARROW,
    LINKS_ARROW,
    MEMBERSHIPS_ARROW,
    TRAITS_ARROW,
    DuckDBEventStore,
)

GENERATOR_VERSION = 1
CACHE = Path(__file__).resolve().parent / ".cache"
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
DAYS = 120
CHUNK = 2_000_000
US_PER_DAY = 86_400_000_000

TRACK = [
    ("Logged In", 30.0),
    ("Report Created", 14.0),
    ("Dashboard Shared", 4.0),
    ("Comment Added", 8.0),
    ("Invite Sent", 2.0),
    ("Invite Accepted", 1.5),
    ("Plan Limit Reached", 0.6),
    ("Upgrade Clicked", 0.4),
    ("SSO Settings Viewed", 0.3),
    ("Audit Log Viewed", 0.3),
    ("API Key Created", 0.4),
    ("Integration Connected", 0.6),
    ("Export Created", 3.0),
    ("Support Ticket Created", 0.5),
    ("Signed Up", 0.4),
]
PAGES = [("Pricing", 1.5), ("Docs", 5.0), ("Home", 6.0)]
ACTIVITY = TRACK + PAGES
VARIANTS = 24
PLANS = ["free", "team", "business", "enterprise"]
DEPARTMENTS = [
    "engineering",
    "product",
    "marketing",
    "sales",
    "finance",
    "operations",
    "design",
    "support",
    "revops",
    "data",
]
INDUSTRIES = ["software", "fintech", "saas", "retail", "health", "education", "media", "logistics"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "AU", "BR", "IN", "JP", "ES"]
TITLES = ["Engineer", "Manager", "Director", "Analyst", "VP", "Designer", "Lead"]


@dataclass(frozen=True)
class Shape:
    events: int
    users: int
    accounts: int
    seed: int


def shape(events: int, seed: int = 1) -> Shape:
    return Shape(events, max(50, events // 100), max(5, events // 1000), seed)


def cache_path(events: int, seed: int = 1) -> Path:
    return CACHE / f"evaluate-{events}-s{seed}-v{GENERATOR_VERSION}.duckdb"


def _props(rng: np.random.Generator, name: str) -> list[str]:
    """VARIANTS property objects for one event or page name, as JSON text."""
    out = []
    for k in range(VARIANTS):
        p: dict[str, object]
        if name == "Report Created":
            p = {
                "rows": int(rng.integers(1, 5000)),
                "shared": bool(k % 3 == 0),
                "template": ["blank", "funnel", "retention", "revenue"][k % 4],
            }
        elif name == "Export Created":
            p = {"format": ["csv", "pdf", "xlsx"][k % 3], "rows": int(rng.integers(10, 100000))}
        elif name == "Invite Sent":
            p = {"role": "admin" if k % 5 == 0 else "member", "count": int(1 + k % 4)}
        elif name == "Dashboard Shared":
            p = {"channel": ["email", "slack", "link"][k % 3], "viewers": int(1 + k)}
        elif name == "Upgrade Clicked":
            p = {"plan": ["team", "business", "enterprise"][k % 3]}
        elif name == "Support Ticket Created":
            p = {"priority": "high" if k % 4 == 0 else "low", "minutes": float(5 + 7.5 * k)}
        elif name == "Integration Connected":
            p = {"integration": ["salesforce", "slack", "github", "hubspot", "jira", "okta"][k % 6]}
        elif name in ("Pricing", "Docs", "Home"):
            ref = ["google", "direct", "newsletter", "g2"][k % 4]
            p = {"path": f"/{name.lower()}", "referrer": ref}
            if name == "Docs":
                p["section"] = ["api", "sso", "getting-started", "billing"][k % 4]
        elif name == "Comment Added":
            p = {"length": int(rng.integers(5, 400)), "mention": bool(k % 2)}
        else:
            p = {"client": "web" if k % 3 else "desktop"}
        out.append(orjson.dumps(p).decode())
    return out


def _str_ids(prefix: str, idx: np.ndarray) -> pa.Array:
    nums = pc.cast(pa.array(idx, pa.int64()), pa.string())
    return pc.binary_join_element_wise(pa.scalar(prefix), nums, "")


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("datetime64[us]"), pa.timestamp("us"))


def _iso(us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))).isoformat()


class _World:
    """Accounts and users (small: python loops are fine), with the arrays activity needs."""

    def __init__(self, s: Shape, rng: np.random.Generator) -> None:
        self.s = s
        end = int(AS_OF.timestamp() * 1_000_000)
        self.end = end
        self.start = end - DAYS * US_PER_DAY
        na, nu = s.accounts, s.users
        # Accounts: created in the first 60 days; plans skewed to free.
        self.acc_created = self.start + rng.integers(0, 60 * US_PER_DAY, na)
        self.acc_plan = rng.choice(4, na, p=[0.55, 0.25, 0.12, 0.08])
        self.acc_employees = np.minimum(rng.lognormal(4.5, 1.6, na).astype(np.int64) + 2, 50000)
        # Users: an account each, skewed (a few accounts get many users).
        r = rng.random(nu)
        self.user_acc = np.minimum((na * r**2.2).astype(np.int64), na - 1)
        sizes = np.bincount(self.user_acc, minlength=na)
        seats_base = np.array([5, 10, 20, 100])[self.acc_plan]
        self.acc_seats = np.maximum(seats_base, (sizes * rng.uniform(0.9, 1.6, na)).astype(int))
        self.user_join = self.acc_created[self.user_acc] + rng.integers(
            0, 50 * US_PER_DAY, nu
        ).astype(np.int64)
        self.user_join = np.minimum(self.user_join, end - US_PER_DAY)
        self.user_free_mail = rng.random(nu) < 0.08
        self.user_by_domain = (rng.random(nu) < 0.07) & ~self.user_free_mail
        self.user_anon = rng.random(nu) < 0.30
        self.user_second = np.where(rng.random(nu) < 0.05, rng.integers(0, na, nu), -1)
        self.user_dept = rng.integers(0, len(DEPARTMENTS), nu)
        self.user_role = rng.random(nu) < 0.15
        # Activity weight per user: heavy-tailed.
        self.user_weight = rng.pareto(1.5, nu) + 0.2

    def trait_tables(self, rng: np.random.Generator, seq0: int) -> tuple[pa.Table, ...]:
        s, end = self.s, self.end
        t_kind: list[str] = []
        t_id: list[str] = []
        t_ts: list[int] = []
        t_traits: list[str] = []
        t_src: list[str] = []
        m_user: list[str] = []
        m_acc: list[str] = []
        m_ts: list[int] = []
        l_from: list[str] = []
        l_to: list[str] = []
        l_ts: list[int] = []
        upgrades = 0
        for a in range(s.accounts):
            founding = {
                "name": f"Company {a}",
                "domain": f"co{a}.example",
                "plan": "free",
                "seats": 5,
                "mrr": 0,
                "employees": int(self.acc_employees[a]),
                "industry": INDUSTRIES[a % len(INDUSTRIES)],
                "country": COUNTRIES[(a * 7) % len(COUNTRIES)],
                "created_at": _iso(int(self.acc_created[a])),
            }
            t_kind.append("account")
            t_id.append(f"acct_{a}")
            t_ts.append(int(self.acc_created[a]))
            t_traits.append(orjson.dumps(founding).decode())
            t_src.append("group")
            plan = int(self.acc_plan[a])
            if plan > 0:
                upgrades += 1
                when = int(self.acc_created[a]) + int(rng.integers(1, 50)) * US_PER_DAY
                upgrade = {
                    "plan": PLANS[plan],
                    "seats": int(self.acc_seats[a]),
                    "mrr": int(self.acc_seats[a]) * [0, 15, 40, 90][plan],
                }
                t_kind.append("account")
                t_id.append(f"acct_{a}")
                t_ts.append(min(when, end - 1))
                t_traits.append(orjson.dumps(upgrade).decode())
                t_src.append("group")
        for u in range(s.users):
            a = int(self.user_acc[u])
            email = f"user{u}@gmail.com" if self.user_free_mail[u] else f"user{u}@co{a}.example"
            traits = {
                "email": email,
                "name": f"User {u}",
                "title": TITLES[u % len(TITLES)],
                "department": DEPARTMENTS[int(self.user_dept[u])],
                "role": "admin" if self.user_role[u] else "member",
                "created_at": _iso(int(self.user_join[u])),
            }
            join = int(self.user_join[u])
            t_kind.append("user")
            t_id.append(f"u_{u}")
            t_ts.append(join)
            t_traits.append(orjson.dumps(traits).decode())
            t_src.append("identify")
            if self.user_anon[u]:
                l_from.append(f"anon_{u}")
                l_to.append(f"u_{u}")
                l_ts.append(join)
            if not self.user_by_domain[u] and not self.user_free_mail[u]:
                m_user.append(f"u_{u}")
                m_acc.append(f"acct_{a}")
                m_ts.append(join + 500_000)
            if self.user_second[u] >= 0:
                m_user.append(f"u_{u}")
                m_acc.append(f"acct_{int(self.user_second[u])}")
                m_ts.append(join + 900_000)
        n_t = len(t_kind)
        traits = pa.table(
            {
                "seq": pa.array(np.arange(seq0, seq0 + n_t), pa.int64()),
                "kind": pa.array(t_kind, pa.string()),
                "entity_id": pa.array(t_id, pa.string()),
                "ts": _ts(np.array(t_ts, np.int64)),
                "traits": pa.array(t_traits, pa.string()),
                "source": pa.array(t_src, pa.string()),
            },
            schema=TRAITS_ARROW,
        )
        seq0 += n_t
        n_m = len(m_user)
        members = pa.table(
            {
                "seq": pa.array(np.arange(seq0, seq0 + n_m), pa.int64()),
                "user_id": pa.array(m_user, pa.string()),
                "account_id": pa.array(m_acc, pa.string()),
                "ts": _ts(np.array(m_ts, np.int64)),
                "source": pa.array(["group"] * n_m, pa.string()),
            },
            schema=MEMBERSHIPS_ARROW,
        )
        seq0 += n_m
        n_l = len(l_from)
        links = pa.table(
            {
                "seq": pa.array(np.arange(seq0, seq0 + n_l), pa.int64()),
                "from_id": pa.array(l_from, pa.string()),
                "to_id": pa.array(l_to, pa.string()),
                "ts": _ts(np.array(l_ts, np.int64)),
            },
            schema=LINKS_ARROW,
        )
        return traits, members, links

    def activity(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """n activity rows, in time order: user, code, variant, ts, anonymous, with group."""
        w = self.user_weight / self.user_weight.sum()
        user = rng.choice(self.s.users, n, p=w).astype(np.int32)
        weights = np.array([wt for _, wt in ACTIVITY])
        code = rng.choice(len(ACTIVITY), n, p=weights / weights.sum()).astype(np.int16)
        variant = rng.integers(0, VARIANTS, n, dtype=np.int16)
        join = self.user_join[user]
        # From three days before sign-up (anonymous browsing) to the end, recent-heavy.
        lo = join - 3 * US_PER_DAY
        frac = 1.0 - rng.random(n) ** 1.3
        ts = lo + (frac * (self.end - lo)).astype(np.int64)
        ts = np.minimum(ts, self.end - 1)
        before = ts < join
        anon = before & self.user_anon[user]
        ts = np.where(before & ~anon, join + (ts - lo) // 3, ts)
        with_group = (rng.random(n) < 0.4) & ~anon
        order = np.argsort(ts, kind="stable")
        return {
            "user": user[order],
            "code": code[order],
            "variant": variant[order],
            "ts": ts[order],
            "anon": anon[order],
            "group": with_group[order],
        }


def _event_chunk(
    world: _World,
    act: dict[str, np.ndarray],
    lo: int,
    hi: int,
    seq0: int,
    props: pa.Array,
) -> pa.Table:
    n = hi - lo
    user = act["user"][lo:hi]
    code = act["code"][lo:hi]
    anon = act["anon"][lo:hi]
    grp = act["group"][lo:hi]
    ts = _ts(act["ts"][lo:hi])
    names = pa.array([name for name, _ in ACTIVITY], pa.string())
    kinds = pa.array(["track"] * len(TRACK) + ["page"] * len(PAGES), pa.string())
    uid = _str_ids("u_", user)
    aid = _str_ids("anon_", user)
    acc = _str_ids("acct_", world.user_acc[user])
    null = pa.nulls(n, pa.string())
    prop_idx = pa.array(code.astype(np.int64) * VARIANTS + act["variant"][lo:hi])
    mids = _str_ids("m", np.arange(seq0, seq0 + n))
    return pa.table(
        {
            "seq": pa.array(np.arange(seq0, seq0 + n), pa.int64()),
            "message_id": mids,
            "type": pc.take(kinds, pa.array(code)),
            "event": pc.take(names, pa.array(code)),
            "user_id": pc.if_else(pa.array(anon), null, uid),
            "anonymous_id": pc.if_else(pa.array(anon), aid, null),
            "group_id": null,
            "context_group_id": pc.if_else(pa.array(grp), acc, null),
            "previous_id": null,
            "ts": ts,
            "received_at": ts,
            "properties": pc.take(props, prop_idx),
            "traits": pa.array(["{}"] * 1, pa.string()).take(pa.array(np.zeros(n, np.int64))),
            "raw": null,
            "content_hash": mids,
            "source": pa.array(["bench"], pa.string()).take(pa.array(np.zeros(n, np.int64))),
        },
        schema=EVENTS_ARROW,
    )


def _identity_events(traits: pa.Table, members: pa.Table, seq0: int) -> pa.Table:
    """The identify and group messages behind the trait rows (they name the users)."""
    users = traits.filter(pc.equal(traits["kind"], "user"))
    n_i, n_g = users.num_rows, members.num_rows
    n = n_i + n_g
    seq = np.arange(seq0, seq0 + n)
    mids = _str_ids("m", seq)
    null = pa.nulls(n, pa.string())
    return pa.table(
        {
            "seq": pa.array(seq, pa.int64()),
            "message_id": mids,
            "type": pa.array(["identify"] * n_i + ["group"] * n_g, pa.string()),
            "event": null,
            "user_id": pa.concat_arrays(
                [users["entity_id"].combine_chunks(), members["user_id"].combine_chunks()]
            ),
            "anonymous_id": null,
            "group_id": pa.concat_arrays(
                [pa.nulls(n_i, pa.string()), members["account_id"].combine_chunks()]
            ),
            "context_group_id": null,
            "previous_id": null,
            "ts": pa.concat_arrays([users["ts"].combine_chunks(), members["ts"].combine_chunks()]),
            "received_at": pa.concat_arrays(
                [users["ts"].combine_chunks(), members["ts"].combine_chunks()]
            ),
            "properties": pa.array(["{}"] * n, pa.string()),
            "traits": pa.concat_arrays(
                [users["traits"].combine_chunks(), pa.array(["{}"] * n_g, pa.string())]
            ),
            "raw": null,
            "content_hash": mids,
            "source": pa.array(["bench"] * n, pa.string()),
        },
        schema=EVENTS_ARROW,
    )


def build(path: Path, events: int, seed: int = 1) -> None:
    """Write a fresh store with ``events`` messages (activity + identify + group) to ``path``."""
    s = shape(events, seed)
    rng = np.random.default_rng(seed)
    world = _World(s, rng)
    traits, members, links = world.trait_tables(rng, seq0=10**12)
    ident = _identity_events(traits, members, seq0=events + 1)
    n_act = max(0, events - ident.num_rows)
    props = pa.array([t for name, _ in ACTIVITY for t in _props(rng, name)], pa.string())
    act = world.activity(rng, n_act)
    store = DuckDBEventStore(path)
    try:
        con = store.raw_connection()
        for name, table in (
            ("trait_rows", traits),
            ("memberships", members),
            ("links", links),
            ("events", ident),
        ):
            con.register("_bh_bulk", table)
            con.execute(f"INSERT INTO {name} SELECT * FROM _bh_bulk")
            con.unregister("_bh_bulk")
        for lo in range(0, n_act, CHUNK):
            hi = min(n_act, lo + CHUNK)
            chunk = _event_chunk(world, act, lo, hi, lo + 1, props)
            con.register("_bh_bulk", chunk)
            con.execute("INSERT INTO events SELECT * FROM _bh_bulk")
            con.unregister("_bh_bulk")
        con.execute("CHECKPOINT")
    finally:
        store.close()


def ensure(events: int, seed: int = 1) -> Path:
    """The cached store file for (events, seed), built first when missing."""
    path = cache_path(events, seed)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".building")
    os.close(fd)
    os.unlink(tmp)  # DuckDB wants to create the file itself
    try:
        build(Path(tmp), events, seed)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp + ".wal")
    return path
