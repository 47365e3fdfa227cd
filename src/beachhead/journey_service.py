"""The Journey board: a column per stage with account cards, and the moves between stages.

Counts are exact; each column shows at most ``cap`` cards (the accounts longest in the
stage with open qualifications first), so the board stays fast with 10k accounts. Stages
come from the recorded stage history (``account_stages``: what the lifecycle recorded at
the latest evaluation); accounts never evaluated fall back to the cached evaluation.

Filters: ``owner`` (the account's ``owner`` trait, a rep's email) and ``team`` (accounts
owned by a rep of that team, or holding an open qualification routed to it). The moves
are counted over the filtered accounts too.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from beachhead.directory import Directory, directory
from beachhead.rules.model import Config
from beachhead.runtime import Runtime
from beachhead.store import journey_queries as jq

UNSTAGED = "unstaged"
DEFAULT_CAP = 24
GROUPED_KEEP = 32  # filter combinations remembered per lifecycle version


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    name: str
    plan: str | None
    band: str | None  # the first account score with bands (fit in the template)
    band_score: str | None
    open_pqls: dict[str, int]
    since: datetime | None
    days_in_stage: int | None


@dataclass
class Column:
    key: str
    name: str
    count: int
    cards: list[Card] = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


@dataclass
class Board:
    as_of: datetime
    columns: list[Column]
    total: int
    moves: list[jq.StageMove]
    period_start: datetime
    period_days: int
    owners: list[str]
    teams: list[str]


@dataclass
class _StateView:
    """Stages and open work per account at one lifecycle version (see ``state_view``)."""

    version: int
    stages: dict[str, tuple[str | None, datetime]]
    open_work: dict[str, dict[str, int]]
    teams: dict[str, set[str]] = field(default_factory=dict)
    grouped: dict[tuple[Any, ...], Grouped] = field(default_factory=dict)


_views: weakref.WeakKeyDictionary[Any, _StateView] = weakref.WeakKeyDictionary()
_views_lock = threading.Lock()


def state_view(runtime: Runtime) -> _StateView:
    """Recorded stages and open qualifications per account, read again only when the
    lifecycle version moved: grouping 100k qualifications costs most of a second on
    SQLite, and the board is read far more often than evaluations or rep actions write."""
    state = runtime.state
    version = jq.lifecycle_version(state)
    with _views_lock:
        hit = _views.get(runtime)
    if hit is not None and hit.version == version:
        return hit
    view = _StateView(version, jq.current_stages(state), jq.open_by_account(state))
    with _views_lock:
        _views[runtime] = view
    return view


def _with_work(runtime: Runtime, view: _StateView, team: str) -> set[str]:
    if team not in view.teams:
        view.teams[team] = jq.accounts_with_open_work(runtime.state, team)
    return view.teams[team]


def _band_score(config: Config) -> str | None:
    for key, score in config.scores.items():
        if score.level.value == "account" and score.bands is not None:
            return key
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _filtered(
    runtime: Runtime,
    config: Config,
    d: Directory,
    view: _StateView,
    team: str | None,
    owner: str | None,
) -> set[str]:
    ids = set(d.snapshot.accounts)
    if owner:
        want = owner.lower()
        ids = {a for a in ids if (_text(d.snapshot.accounts[a].get("owner")) or "").lower() == want}
    if team:
        try:
            reps = {r.email.lower() for r in config.team(team).reps}
        except KeyError:
            reps = set()
        with_work = _with_work(runtime, view, team)
        ids = {
            a
            for a in ids
            if a in with_work or (_text(d.snapshot.accounts[a].get("owner")) or "").lower() in reps
        }
    return ids


def board(
    runtime: Runtime,
    config: Config,
    team: str | None = None,
    owner: str | None = None,
    period_days: int = 30,
    cap: int = DEFAULT_CAP,
    expand: str | None = None,
) -> Board:
    """The board at the app's now; ``expand`` names a column shown without the cap."""
    d = directory(runtime, config)
    as_of = d.as_of
    view = state_view(runtime)
    order = [s.key for s in config.stages] + [UNSTAGED]
    names = {**{s.key: s.name for s in config.stages}, UNSTAGED: "Unstaged"}
    ids, members, owners = _grouped(runtime, config, d, view, team, owner, tuple(order))
    band_key = _band_score(config)
    columns = []
    for key in [*order, *(k for k in members if k not in order)]:
        accounts = members.get(key, [])
        shown = accounts if key == expand else accounts[:cap]
        cards = [_card(d, a, view.stages, view.open_work, band_key, as_of) for a in shown]
        columns.append(Column(key, names.get(key, key), len(accounts), cards))
    start = as_of - timedelta(days=period_days)
    return Board(
        as_of=as_of,
        columns=columns,
        total=len(ids),
        moves=jq.stage_moves(runtime.state, start, as_of, ids if team or owner else None),
        period_start=start,
        period_days=period_days,
        owners=owners,
        teams=[t.key for t in config.teams],
    )


Grouped = tuple[set[str], dict[str, list[str]], list[str]]


def _grouped(
    runtime: Runtime,
    config: Config,
    d: Directory,
    view: _StateView,
    team: str | None,
    owner: str | None,
    order: tuple[str, ...],
) -> Grouped:
    """The filtered accounts, grouped by stage and ranked (most open work, then longest in
    the stage), and the owners to filter by; kept on the state view for this Directory
    and these filters, since ranking 10k accounts is most of a board's time."""
    key = (d.serial, team, owner, order)
    hit = view.grouped.get(key)
    if hit is not None:
        return hit
    recorded, open_work = view.stages, view.open_work
    ids = _filtered(runtime, config, d, view, team, owner)
    members: dict[str, list[str]] = {k: [] for k in order}
    for a in ids:
        if a in recorded:
            stage = recorded[a][0] or UNSTAGED
        else:
            ev = d.account_eval(a)
            stage = ev.stage if ev is not None and ev.stage else UNSTAGED
        members.setdefault(stage, []).append(a)

    def rank(a: str) -> tuple[int, float, str]:
        since = recorded.get(a, (None, None))[1]
        return (
            -sum(open_work.get(a, {}).values()),
            since.timestamp() if since else float("inf"),
            a,
        )

    for accounts in members.values():
        accounts.sort(key=rank)
    owners = sorted(
        {o for t in d.snapshot.accounts.values() if (o := _text(t.get("owner"))) is not None}
    )
    found: Grouped = (ids, members, owners)
    if len(view.grouped) >= GROUPED_KEEP:
        view.grouped.clear()
    view.grouped[key] = found
    return found


def _card(
    d: Directory,
    account_id: str,
    recorded: dict[str, tuple[str | None, datetime]],
    open_work: dict[str, dict[str, int]],
    band_key: str | None,
    as_of: datetime,
) -> Card:
    traits = d.snapshot.accounts.get(account_id, {})
    ev = d.account_eval(account_id)
    band = ev.scores[band_key].band if ev and band_key and band_key in ev.scores else None
    since = recorded[account_id][1] if account_id in recorded else None
    days = max(0, (as_of - since).days) if since is not None else None
    return Card(
        id=account_id,
        name=_text(traits.get("name")) or account_id,
        plan=_text(traits.get("plan")),
        band=band,
        band_score=band_key,
        open_pqls=dict(sorted(open_work.get(account_id, {}).items())),
        since=since,
        days_in_stage=days,
    )
