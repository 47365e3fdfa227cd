"""Read-only queries over the state store for the account, user and Journey pages.

The Journey board must stay fast with 10k accounts and 100k qualifications, so these
return plain tuples from column selects (no ORM objects) and aggregate in the database:
current stages, open qualifications per (account, pql), accounts with open work for a team,
and moves between stages over a period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from beachhead.qualify.lifecycle import Qualification, StageChange
from beachhead.store.inbox import Visibility
from beachhead.store.qualification_models import (
    AccountStageRow,
    LifecycleLockRow,
    QualificationRow,
    StageHistoryRow,
)
from beachhead.store.qualifications import _to_q
from beachhead.store.state import StateStore


@dataclass(frozen=True, slots=True)
class StageMove:
    from_stage: str | None  # None: unstaged
    to_stage: str | None
    count: int


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def lifecycle_version(state: StateStore) -> int:
    """The lifecycle lock's counter: every writer of qualifications and stages (evaluations,
    rep actions) bumps it in its transaction, so an unchanged counter means unchanged
    qualifications and stages (a one-row read)."""
    with state.session() as s:
        return int(s.scalar(select(LifecycleLockRow.counter).where(LifecycleLockRow.id == 1)) or 0)


def current_stages(state: StateStore) -> dict[str, tuple[str | None, datetime]]:
    """Every account's recorded stage (None = unstaged) and since when."""
    stmt = select(AccountStageRow.account_id, AccountStageRow.stage, AccountStageRow.since)
    with state.session() as s:
        return {a: (st, _aware(since)) for a, st, since in s.execute(stmt)}


def open_by_account(state: StateStore) -> dict[str, dict[str, int]]:
    """Open qualifications counted per account and PQL (PQLs of members count too)."""
    q = QualificationRow
    stmt = (
        select(q.account_id, q.pql, func.count())
        .where(q.closed_at.is_(None), q.account_id.is_not(None))
        .group_by(q.account_id, q.pql)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    with state.session() as s:
        for account_id, pql, n in s.execute(stmt):
            if account_id is not None:
                out[account_id][pql] = int(n)
    return dict(out)


def accounts_with_open_work(state: StateStore, team: str) -> set[str]:
    """Accounts holding an open qualification routed to ``team``."""
    q = QualificationRow
    stmt = (
        select(q.account_id)
        .where(q.closed_at.is_(None), q.team == team, q.account_id.is_not(None))
        .distinct()
    )
    with state.session() as s:
        return {a for (a,) in s.execute(stmt) if a is not None}


def stage_moves(
    state: StateStore, start: datetime, end: datetime, accounts: set[str] | None = None
) -> list[StageMove]:
    """Changes of stage recorded with ``start < at <= end`` (first placements left out),
    counted per (from, to); only of ``accounts`` when given."""
    h = StageHistoryRow
    where = (h.initial.is_(False), h.at > _naive(start), h.at <= _naive(end))
    counts: dict[tuple[str | None, str | None], int] = defaultdict(int)
    with state.session() as s:
        if accounts is None:
            stmt = select(h.from_stage, h.stage, func.count()).where(*where)
            for f, t, n in s.execute(stmt.group_by(h.from_stage, h.stage)):
                counts[(f, t)] += int(n)
        else:
            for a, f, t in s.execute(select(h.account_id, h.from_stage, h.stage).where(*where)):
                if a in accounts:
                    counts[(f, t)] += 1
    rows = [StageMove(f, t, n) for (f, t), n in counts.items()]
    return sorted(rows, key=lambda m: (-m.count, m.from_stage or "", m.to_stage or ""))


def stage_history(state: StateStore, account_id: str) -> list[StageChange]:
    """One account's stage changes, oldest first."""
    h = StageHistoryRow
    stmt = select(h).where(h.account_id == account_id).order_by(h.at, h.id)
    with state.session() as s:
        return [
            StageChange(r.account_id, r.stage, r.from_stage, _aware(r.at), r.initial)
            for r in s.scalars(stmt)
        ]


def qualifications_of(
    state: StateStore,
    pqls: Sequence[str],
    entity_ids: Collection[str],
    visibility: Visibility | None = None,
) -> list[Qualification]:
    """Qualifications of ``pqls`` held by ``entity_ids`` (an account and its members, or one
    user), newest first, only those ``visibility`` lets the viewer see (the inbox's rule;
    None: all). Asking by (pql, entity) lets the database use the (pql, entity_id) index
    instead of scanning every qualification."""
    if not pqls or not entity_ids:
        return []
    q = QualificationRow
    stmt = (
        select(q)
        .where(q.pql.in_(list(pqls)), q.entity_id.in_(sorted(entity_ids)))
        .order_by(q.qualified_at.desc(), q.id)
    )
    seen = visibility.clause() if visibility is not None else None
    if seen is not None:
        stmt = stmt.where(seen)
    with state.session() as s:
        return [_to_q(r) for r in s.scalars(stmt)]
