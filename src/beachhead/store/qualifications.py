"""Repository of qualifications, their history, stage history, evaluations and cursors.

All SQL of the lifecycle lives here; ``qualify/lifecycle.py`` decides, this module loads
the state it decides from (``load_prior``) and saves what it decided (``save_step``).

Concurrency: every writer opens ``locked()``, a transaction whose first statement updates
the single ``lifecycle_lock`` row. On PostgreSQL that row lock makes concurrent
evaluations and rep actions (several processes, one database) take turns; on SQLite the
write takes the database's write lock up front (WAL + busy timeout). Decisions are made
after the lock is held, on what is committed then, so two concurrent evaluations create
and route each qualification once; the partial unique index on open (pql, entity) is the
backstop.

Times are stored as naive UTC and handed out UTC-aware.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from beachhead.qualify.lifecycle import (
    Change,
    Prior,
    Qualification,
    StageChange,
    StepResult,
)
from beachhead.qualify.scores import qualification_scores
from beachhead.store.qualification_models import (
    AccountStageRow,
    EvaluationRow,
    LifecycleLockRow,
    QualificationHistoryRow,
    QualificationRow,
    QualificationScoreRow,
    RoutingCursorRow,
    StageHistoryRow,
)
from beachhead.store.state import StateStore


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _opt_aware(t: datetime | None) -> datetime | None:
    return None if t is None else _aware(t)


def _to_q(r: QualificationRow) -> Qualification:
    return Qualification(
        id=r.id,
        pql=r.pql,
        level=r.level,
        entity_id=r.entity_id,
        account_id=r.account_id,
        priority=r.priority,
        status=r.status,
        qualified_at=_aware(r.qualified_at),
        touch=r.touch,
        evidence=list(r.evidence or []),
        team=r.team,
        rep=r.rep,
        closed_at=_opt_aware(r.closed_at),
        plan_at_qualification=r.plan_at_qualification,
        stage_at_qualification=r.stage_at_qualification,
        owner=r.owner,
        updated_at=_opt_aware(r.updated_at),
    )


def _jsonable(value: Any) -> Any:
    """Evidence values as plain JSON (engines may hand numpy scalars, Decimals, times)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _aware(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return _jsonable(item())
    return str(value)


def _fields(q: Qualification) -> dict[str, Any]:
    return {
        "pql": q.pql,
        "level": q.level,
        "entity_id": q.entity_id,
        "account_id": q.account_id,
        "priority": q.priority,
        "status": q.status,
        "qualified_at": _naive(q.qualified_at),
        "closed_at": None if q.closed_at is None else _naive(q.closed_at),
        "touch": q.touch,
        "team": q.team,
        "rep": q.rep,
        "evidence": _jsonable(q.evidence),
        "plan_at_qualification": q.plan_at_qualification,
        "stage_at_qualification": q.stage_at_qualification,
        "owner": q.owner,
        "updated_at": _naive(q.updated_at or q.qualified_at),
    }


def _to_change(r: QualificationHistoryRow) -> Change:
    return Change(
        r.qualification_id,
        _aware(r.at),
        r.actor,
        r.status_from,
        r.status_to,
        r.team,
        r.rep,
        r.reason,
        r.rule,
    )


class QualificationStore:
    """The lifecycle's tables in one state store (SQLite or PostgreSQL)."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    @contextlib.contextmanager
    def locked(self) -> Iterator[Session]:
        """A transaction that holds the lifecycle lock until it commits (or rolls back)."""
        with self.state.session() as s, s.begin():
            s.execute(
                update(LifecycleLockRow)
                .where(LifecycleLockRow.id == 1)
                .values(counter=LifecycleLockRow.counter + 1)
            )
            yield s

    # -- reading ---------------------------------------------------------------------
    def latest_as_of(self, s: Session) -> datetime | None:
        return _opt_aware(s.scalar(select(func.max(EvaluationRow.as_of))))

    def load_prior(self, s: Session) -> Prior:
        """Open qualifications, the last close per (pql, entity), stages, cursors."""
        open_rows = s.scalars(select(QualificationRow).where(QualificationRow.closed_at.is_(None)))
        last_closed: dict[tuple[str, str], datetime] = {
            (pql, entity): _aware(at)
            for pql, entity, at in s.execute(
                select(
                    QualificationRow.pql,
                    QualificationRow.entity_id,
                    func.max(QualificationRow.closed_at),
                )
                .where(QualificationRow.closed_at.is_not(None))
                .group_by(QualificationRow.pql, QualificationRow.entity_id)
            )
            if at is not None
        }
        stages = {r.account_id: r.stage for r in s.scalars(select(AccountStageRow))}
        cursors = {r.team: r.position for r in s.scalars(select(RoutingCursorRow))}
        return Prior(
            open=[_to_q(r) for r in open_rows],
            last_closed=last_closed,
            last_as_of=self.latest_as_of(s),
            stages=stages,
            cursors=cursors,
        )

    def get(self, s: Session, qualification_id: str) -> Qualification | None:
        row = s.get(QualificationRow, qualification_id)
        return None if row is None else _to_q(row)

    def open_qualifications(self, s: Session) -> list[Qualification]:
        rows = s.scalars(select(QualificationRow).where(QualificationRow.closed_at.is_(None)))
        return [_to_q(r) for r in rows]

    def cursors(self, s: Session) -> dict[str, int]:
        return {r.team: r.position for r in s.scalars(select(RoutingCursorRow))}

    def find(self, status: str | None = None, pql: str | None = None) -> list[Qualification]:
        """Sorted by (pql, entity_id, qualified_at); ``status="open"`` means not closed."""
        stmt = select(QualificationRow)
        if status == "open":
            stmt = stmt.where(QualificationRow.closed_at.is_(None))
        elif status is not None:
            stmt = stmt.where(QualificationRow.status == status)
        if pql is not None:
            stmt = stmt.where(QualificationRow.pql == pql)
        stmt = stmt.order_by(
            QualificationRow.pql, QualificationRow.entity_id, QualificationRow.qualified_at
        )
        with self.state.session() as s:
            return [_to_q(r) for r in s.scalars(stmt)]

    def history(self, qualification_id: str) -> list[Change]:
        with self.state.session() as s:
            rows = s.scalars(
                select(QualificationHistoryRow)
                .where(QualificationHistoryRow.qualification_id == qualification_id)
                .order_by(QualificationHistoryRow.id)
            )
            return [_to_change(r) for r in rows]

    def stage_history(self, account_id: str | None = None) -> list[StageChange]:
        stmt = select(StageHistoryRow).order_by(StageHistoryRow.at, StageHistoryRow.id)
        if account_id is not None:
            stmt = stmt.where(StageHistoryRow.account_id == account_id)
        with self.state.session() as s:
            return [
                StageChange(r.account_id, r.stage, r.from_stage, _aware(r.at), r.initial)
                for r in s.scalars(stmt)
            ]

    def evaluations(self) -> list[datetime]:
        with self.state.session() as s:
            return [
                _aware(t)
                for t in s.scalars(select(EvaluationRow.as_of).order_by(EvaluationRow.as_of))
            ]

    # -- writing ---------------------------------------------------------------------
    def save_qualifications(
        self, s: Session, quals: Sequence[Qualification], new: Sequence[Qualification] = ()
    ) -> None:
        """Update ``quals`` (existing rows) and insert ``new`` ones, in bulk.

        Closings go first: one open qualification per PQL and entity is a unique index,
        and a step may close one and re-key another onto its entity (a merge) or open a
        new one there."""
        closing = [q for q in quals if not q.is_open]
        staying = [q for q in quals if q.is_open]
        if closing:
            s.execute(update(QualificationRow), [{"id": q.id, **_fields(q)} for q in closing])
        if new:
            s.execute(insert(QualificationRow), [{"id": q.id, **_fields(q)} for q in new])
        if staying:
            s.execute(update(QualificationRow), [{"id": q.id, **_fields(q)} for q in staying])
        s.flush()

    def add_changes(self, s: Session, changes: Sequence[Change]) -> None:
        if not changes:
            return
        s.execute(
            insert(QualificationHistoryRow),
            [
                {
                    "qualification_id": c.qualification_id,
                    "at": _naive(c.at),
                    "actor": c.actor,
                    "status_from": c.status_from,
                    "status_to": c.status_to,
                    "team": c.team,
                    "rep": c.rep,
                    "reason": c.reason,
                    "rule": c.rule,
                }
                for c in changes
            ],
        )

    def save_cursors(self, s: Session, cursors: dict[str, int]) -> None:
        for team, position in cursors.items():
            row = s.get(RoutingCursorRow, team)
            if row is None:
                s.add(RoutingCursorRow(team=team, position=position))
            else:
                row.position = position
        s.flush()

    def save_step(self, s: Session, step: StepResult) -> None:
        """Write one evaluation's decisions (inside ``locked()``)."""
        self.save_qualifications(s, step.updated, step.created)
        self.add_changes(s, step.changes)
        if step.stage_changes:
            s.execute(
                insert(StageHistoryRow),
                [
                    {
                        "account_id": sc.account_id,
                        "stage": sc.stage,
                        "from_stage": sc.from_stage,
                        "at": _naive(sc.at),
                        "initial": sc.initial,
                    }
                    for sc in step.stage_changes
                ],
            )
        firsts = [sc for sc in step.stage_changes if sc.initial]
        moves = [sc for sc in step.stage_changes if not sc.initial]
        if firsts:
            s.execute(
                insert(AccountStageRow),
                [
                    {"account_id": sc.account_id, "stage": sc.stage, "since": _naive(sc.at)}
                    for sc in firsts
                ],
            )
        if moves:
            s.execute(
                update(AccountStageRow),
                [
                    {"account_id": sc.account_id, "stage": sc.stage, "since": _naive(sc.at)}
                    for sc in moves
                ],
            )
        self.save_cursors(s, step.cursors)
        self.refresh_scores(s, step)
        as_of = _naive(step.as_of)
        existing = s.scalar(select(EvaluationRow).where(EvaluationRow.as_of == as_of))
        now = datetime.now(UTC).replace(tzinfo=None)
        if existing is None:
            s.add(
                EvaluationRow(
                    as_of=as_of,
                    recorded_at=now,
                    created=len(step.created),
                    open=len(step.open_after),
                )
            )
        else:
            existing.recorded_at, existing.open = now, len(step.open_after)
            existing.created += len(step.created)
        s.flush()

    def refresh_scores(self, s: Session, step: StepResult) -> int:
        """Bring open qualifications' scores to ``step``'s evaluation; rows written.

        Only the difference is written (most scores stay put between evaluations), so
        100k open qualifications cost one read of their rows and a few bulk statements.
        Closed qualifications keep the values they had when they closed.
        """
        if step.evaluation is None:
            return 0
        want = {
            (qid, key): (float(v.points), v.band)
            for qid, scores in qualification_scores(step.evaluation, step.open_after).items()
            for key, v in scores.items()
        }
        t = cast(Table, QualificationScoreRow.__table__)
        conn = s.connection()  # plain rows: no ORM layer over 100k+ tuples
        have = {
            (qid, key): (points, band)
            for qid, key, points, band in conn.execute(
                select(t.c.qualification_id, t.c.score, t.c.points, t.c.band)
                .join(QualificationRow, QualificationRow.id == t.c.qualification_id)
                .where(QualificationRow.closed_at.is_(None))
            )
        }
        new: list[tuple[str, str]] = []
        moved: list[tuple[str, str]] = []
        for k, v in want.items():
            old = have.pop(k, None)
            if old is None:
                new.append(k)
            elif old != v:
                moved.append(k)
        gone = list(have)  # open qualifications' scores the evaluation no longer has
        if new:
            conn.execute(
                t.insert(),
                [
                    {
                        "qualification_id": q,
                        "score": k,
                        "points": want[q, k][0],
                        "band": want[q, k][1],
                    }
                    for q, k in new
                ],
            )
        if moved:
            conn.execute(
                t.update()
                .where(t.c.qualification_id == bindparam("q"), t.c.score == bindparam("k"))
                .values(points=bindparam("p"), band=bindparam("b")),
                [{"q": q, "k": k, "p": want[q, k][0], "b": want[q, k][1]} for q, k in moved],
            )
        if gone:
            conn.execute(
                t.delete().where(
                    t.c.qualification_id == bindparam("q"), t.c.score == bindparam("k")
                ),
                [{"q": q, "k": k} for q, k in gone],
            )
        return len(new) + len(moved) + len(gone)

    def scores_of(self, ids: Sequence[str]) -> dict[str, dict[str, tuple[float, str | None]]]:
        """Qualification id -> score key -> (points, band), as last recorded."""
        out: dict[str, dict[str, tuple[float, str | None]]] = {}
        if not ids:
            return out
        t = QualificationScoreRow
        with self.state.session() as s:
            for qid, key, points, band in s.execute(
                select(t.qualification_id, t.score, t.points, t.band).where(
                    t.qualification_id.in_(list(ids))
                )
            ):
                out.setdefault(qid, {})[key] = (float(points), band)
        return out
