"""What the account (PQA) and user pages show, gathered from the stores (no HTML here).

``account_page(runtime, config, account_id, page)`` and ``user_page(...)`` return plain
dataclasses the templates render: traits and the facts a rep reads first (plan, seats used
of purchased, MRR, owner), stage and its history, scores with bands, members with their
last activity, 90 days of activity per day, open and past qualifications with evidence
(only those ``visibility`` shows: the inbox's rule for the viewer), and one page of the
timeline of messages. Identity and scores come from the cached ``Directory`` (one
evaluation at the app's now); activity and the timeline are queried per request, with the
events store lock held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from beachhead.directory import Directory, directory
from beachhead.qualify.lifecycle import Qualification, StageChange
from beachhead.rules.model import Config, Level
from beachhead.rules.result import EntityEval
from beachhead.runtime import Runtime
from beachhead.store import activity_queries as aq
from beachhead.store import journey_queries as jq
from beachhead.store.inbox import Visibility

CHART_DAYS = 90
TIMELINE_PAGE = 50
UNSTAGED = "unstaged"


@dataclass(frozen=True, slots=True)
class ScoreShown:
    key: str
    name: str
    points: float
    band: str | None


@dataclass(frozen=True, slots=True)
class MemberShown:
    id: str
    name: str | None
    email: str | None
    title: str | None
    department: str | None
    last_active: datetime | None
    usage: ScoreShown | None


@dataclass(frozen=True, slots=True)
class TimelineShown:
    ts: datetime
    type: str
    label: str  # the event or page name, else the message type
    who: str | None
    details: str  # properties (or traits) as short JSON


@dataclass
class Timeline:
    rows: list[TimelineShown]
    total: int
    page: int
    pages: int


@dataclass
class EntityPage:
    """Fields shared by the account and the user page."""

    id: str
    level: str
    as_of: datetime
    traits: dict[str, Any]
    scores: list[ScoreShown]
    activity: list[tuple[date, int]]
    open: list[Qualification]
    past: list[Qualification]
    timeline: Timeline


@dataclass
class AccountPage(EntityPage):
    name: str = ""
    plan: Any = None
    seats: Any = None
    members_count: int = 0
    seats_used_pct: float | None = None
    mrr: Any = None
    owner: Any = None
    stage: str = UNSTAGED
    stage_name: str = "Unstaged"
    stage_since: datetime | None = None
    stage_history: list[StageChange] = field(default_factory=list)
    members: list[MemberShown] = field(default_factory=list)


@dataclass
class UserPage(EntityPage):
    name: str = ""
    email: Any = None
    primary_account: str | None = None
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    last_active: datetime | None = None
    account_scores: list[ScoreShown] = field(default_factory=list)


class NotFound(LookupError):
    """No such account or user at the app's now."""


def stage_names(config: Config) -> dict[str, str]:
    return {**{s.key: s.name for s in config.stages}, UNSTAGED: "Unstaged"}


def scores_shown(config: Config, ev: EntityEval | None, level: Level) -> list[ScoreShown]:
    if ev is None:
        return []
    out = []
    for key, score in config.scores.items():
        if score.level is level and key in ev.scores:
            sv = ev.scores[key]
            out.append(ScoreShown(key, score.name or key, sv.points, sv.band))
    return out


def _usage(config: Config, ev: EntityEval | None) -> ScoreShown | None:
    shown = scores_shown(config, ev, Level.USER)
    return next((s for s in shown if s.key == "usage"), shown[0] if shown else None)


def days_filled(per_day: dict[date, int], end: datetime, days: int) -> list[tuple[date, int]]:
    """``days`` consecutive UTC days ending at ``end``'s day, zeros where nothing happened."""
    last = end.date()
    return [
        (d, per_day.get(d, 0)) for d in (last - timedelta(days=i) for i in range(days - 1, -1, -1))
    ]


def _short_json(value: Any, limit: int = 160) -> str:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value[:limit]
    if not value:
        return ""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timeline(
    runtime: Runtime, raw_ids: set[str], account_id: str | None, as_of: datetime, page: int
) -> Timeline:
    page = max(page, 1)
    with runtime.lock:
        con = runtime.events.ibis()
        if page > 1:  # clamped to the last page before the query: a huge page is no OFFSET
            total = aq.timeline_total(con, raw_ids, account_id, as_of)
            page = clamp_page(page, total, TIMELINE_PAGE)
        rows, total = aq.timeline(
            con, raw_ids, account_id, as_of, TIMELINE_PAGE, (page - 1) * TIMELINE_PAGE
        )
    shown = [
        TimelineShown(
            r.ts,
            r.type,
            r.event or r.type,
            r.who,
            _short_json(r.properties if r.type in aq.ACTIVITY_TYPES else r.traits),
        )
        for r in rows
    ]
    pages = max(1, -(-total // TIMELINE_PAGE))
    return Timeline(shown, total, min(page, pages), pages)


def _split(quals: list[Qualification]) -> tuple[list[Qualification], list[Qualification]]:
    return [q for q in quals if q.is_open], [q for q in quals if not q.is_open]


def _activity(
    runtime: Runtime, raw_ids_of: dict[str, set[str]], account_id: str | None, as_of: datetime
) -> aq.Activity:
    """Per-day activity over the chart's days and each member's last activity."""
    start = datetime.combine(
        as_of.date() - timedelta(days=CHART_DAYS - 1), datetime.min.time(), as_of.tzinfo
    )
    with runtime.lock:
        return aq.activity(runtime.events.ibis(), raw_ids_of, account_id, start, as_of)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def account_page(
    runtime: Runtime,
    config: Config,
    account_id: str,
    page: int = 1,
    d: Directory | None = None,
    visibility: Visibility | None = None,
) -> AccountPage:
    d = d or directory(runtime, config)
    snap = d.snapshot
    if account_id not in snap.accounts:
        raise NotFound(f"no account {account_id!r}")
    traits = dict(snap.accounts[account_id])
    members = sorted(snap.members.get(account_id, ()))
    raw_ids = d.member_raw_ids(account_id)
    act = _activity(runtime, {u: d.raw_ids.get(u, {u}) for u in members}, account_id, d.as_of)
    last = act.last
    shown_members = []
    for uid in members:
        ut = snap.users.get(uid, {})
        shown_members.append(
            MemberShown(
                uid,
                _text(ut.get("name")),
                _text(ut.get("email")),
                _text(ut.get("title")),
                _text(ut.get("department")),
                last.get(uid),
                _usage(config, d.user_eval(uid)),
            )
        )
    shown_members.sort(
        key=lambda m: (
            m.last_active is None,
            -(m.last_active.timestamp() if m.last_active else 0),
            m.id,
        )
    )
    ev = d.account_eval(account_id)
    stage = (ev.stage if ev and ev.stage else UNSTAGED) if d.evaluation is not None else UNSTAGED
    history = jq.stage_history(runtime.state, account_id)
    since = next((h.at for h in reversed(history) if (h.stage or UNSTAGED) == stage), None)
    seats = traits.get("seats")
    pct = (
        round(len(members) * 100 / seats, 2)
        if isinstance(seats, int | float) and not isinstance(seats, bool) and seats > 0
        else None
    )
    pqls = [q.key for q in config.pqls]
    quals = jq.qualifications_of(runtime.state, pqls, {account_id, *members}, visibility)
    open_q, past_q = _split(quals)
    return AccountPage(
        id=account_id,
        level="account",
        as_of=d.as_of,
        traits=traits,
        scores=scores_shown(config, ev, Level.ACCOUNT),
        activity=days_filled(act.per_day, d.as_of, CHART_DAYS),
        open=open_q,
        past=past_q,
        timeline=_timeline(runtime, raw_ids, account_id, d.as_of, page),
        name=_text(traits.get("name")) or account_id,
        plan=traits.get("plan"),
        seats=seats,
        members_count=len(members),
        seats_used_pct=pct,
        mrr=traits.get("mrr"),
        owner=traits.get("owner"),
        stage=stage,
        stage_name=stage_names(config).get(stage, stage),
        stage_since=since,
        stage_history=list(reversed(history)),
        members=shown_members,
    )


def user_page(
    runtime: Runtime,
    config: Config,
    user_id: str,
    page: int = 1,
    d: Directory | None = None,
    visibility: Visibility | None = None,
) -> UserPage:
    d = d or directory(runtime, config)
    snap = d.snapshot
    if user_id not in snap.users:
        raise NotFound(f"no user {user_id!r}")
    traits = dict(snap.users[user_id])
    raw_ids = d.raw_ids.get(user_id, {user_id})
    act = _activity(runtime, {user_id: raw_ids}, None, d.as_of)
    primary = snap.primary.get(user_id)
    accounts = [
        (a, _text(snap.accounts.get(a, {}).get("name")) or a)
        for a in sorted(snap.accounts_of.get(user_id, ()))
    ]
    pqls = [q.key for q in config.pqls]
    open_q, past_q = _split(jq.qualifications_of(runtime.state, pqls, {user_id}, visibility))
    return UserPage(
        id=user_id,
        level="user",
        as_of=d.as_of,
        traits=traits,
        scores=scores_shown(config, d.user_eval(user_id), Level.USER),
        activity=days_filled(act.per_day, d.as_of, CHART_DAYS),
        open=open_q,
        past=past_q,
        timeline=_timeline(runtime, raw_ids, None, d.as_of, page),
        name=_text(traits.get("name")) or user_id,
        email=traits.get("email"),
        primary_account=primary,
        accounts=accounts,
        last_active=act.last.get(user_id),
        account_scores=scores_shown(
            config, d.account_eval(primary) if primary else None, Level.ACCOUNT
        ),
    )


LIST_PAGE = 50


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    name: str
    plan: str | None = None
    stage: str | None = None
    members: int = 0
    owner: str | None = None
    email: str | None = None
    title: str | None = None
    account: str | None = None


def _matches(q: str, *values: object) -> bool:
    return any(isinstance(v, str) and q in v.lower() for v in values)


def account_rows(d: Directory, config: Config, q: str, page: int) -> tuple[list[ListRow], int]:
    """One page of accounts (by name) matching ``q`` in the id, name or domain; and the total."""
    needle = q.strip().lower()
    names = stage_names(config)
    rows = []
    for aid, traits in d.snapshot.accounts.items():
        if needle and not _matches(needle, aid, traits.get("name"), traits.get("domain")):
            continue
        ev = d.account_eval(aid)
        stage = ev.stage if ev is not None and ev.stage else UNSTAGED
        rows.append(
            ListRow(
                aid,
                _text(traits.get("name")) or aid,
                plan=_text(traits.get("plan")),
                stage=names.get(stage, stage),
                members=len(d.snapshot.members.get(aid, ())),
                owner=_text(traits.get("owner")),
            )
        )
    rows.sort(key=lambda r: (r.name.lower(), r.id))
    return _page_of(rows, page), len(rows)


def user_rows(d: Directory, q: str, page: int) -> tuple[list[ListRow], int]:
    """One page of users (by name) matching ``q`` in the id, name or email; and the total."""
    needle = q.strip().lower()
    rows = []
    for uid, traits in d.snapshot.users.items():
        if needle and not _matches(needle, uid, traits.get("name"), traits.get("email")):
            continue
        rows.append(
            ListRow(
                uid,
                _text(traits.get("name")) or uid,
                email=_text(traits.get("email")),
                title=_text(traits.get("title")),
                account=d.snapshot.primary.get(uid),
            )
        )
    rows.sort(key=lambda r: (r.name.lower(), r.id))
    return _page_of(rows, page), len(rows)


def pages_of(total: int, per: int = LIST_PAGE) -> int:
    return max(1, -(-total // per))


def clamp_page(page: int, total: int, per: int = LIST_PAGE) -> int:
    """A page number between 1 and the last page (a huge or negative one is clamped)."""
    return min(max(page, 1), pages_of(total, per))


def _page_of(rows: list[ListRow], page: int) -> list[ListRow]:
    start = (clamp_page(page, len(rows)) - 1) * LIST_PAGE
    return rows[start : start + LIST_PAGE]
