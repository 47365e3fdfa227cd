"""The alert outbox table and every query on it (SQLite or PostgreSQL).

One row is one alert for one target (a Slack or webhook destination of one ``alerts:``
entry). Rows that go out together share an ``idempotency_key``: a plain alert is a group
of one; a bundled alert's rows of one target and one window share the window's key and go
as one digest. The key is the ``X-Beachhead-Event-Id`` receivers see, the same on every
retry of that delivery.

Statuses: ``pending`` (waiting for ``next_attempt_at``), ``sending`` (claimed by a
deliverer until ``lease_until``), ``delivered``, ``gave_up``.

Claiming (``claim_due``) is how the project avoids sending a row twice: a deliverer first
flips a whole group to ``sending`` with its own ``claim_token`` and a lease, commits, and
only then sends; ``finish`` writes the outcome only where the token is still its own.

- PostgreSQL: the due rows of the chosen groups are locked with ``SELECT ... FOR UPDATE``
  in id order (so two claimers never deadlock and never split a group), re-checked after
  the lock (READ COMMITTED re-evaluates the condition on the newest row version), then
  updated. A second deliverer waits a moment for the first's short transaction and then
  sees the rows as no longer due.
- SQLite: ``UPDATE ... WHERE idempotency_key IN (...) AND <due>``, the due condition
  re-checked by the statement itself; SQLite has a single writer, so the statement is
  atomic against other processes (the write transaction starts at the UPDATE, so it never
  works from a stale read snapshot).

A deliverer killed after claiming leaves rows ``sending``; once the lease has passed
they are due again, and a later run sends them under the same key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    distinct,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from beachhead.store.state_models import Base

PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
GAVE_UP = "gave_up"
STATUSES = (PENDING, SENDING, DELIVERED, GAVE_UP)


class OutboxRow(Base):
    """One alert for one target, waiting to be delivered or already settled."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        Index("ix_alert_outbox_due", "status", "next_attempt_at"),
        Index("ix_alert_outbox_key", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), nullable=False)
    target_key: Mapped[str] = mapped_column(String(200), nullable=False)
    target_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # slack | webhook
    target: Mapped[str] = mapped_column(Text, nullable=False)  # JSON, ${NAME} unresolved
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of AlertEvent.to_dict
    bundle_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    give_up_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


@dataclass(frozen=True, slots=True)
class Claim:
    """A group a deliverer now holds: send it, then ``finish`` with the same token."""

    token: str
    key: str
    rows: tuple[OutboxRow, ...]


@dataclass(frozen=True, slots=True)
class Counts:
    """Deliveries (distinct idempotency keys) per state."""

    pending_waiting: int
    pending_due: int
    sending: int
    delivered: int
    gave_up: int


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now),
        and_(OutboxRow.status == SENDING, OutboxRow.lease_until <= now),
    )


def add_rows(session: Session, rows: Sequence[OutboxRow]) -> None:
    """Insert rows in the caller's transaction (nothing is committed here)."""
    session.add_all(rows)
    session.flush()


def _rekey_late_rows(session: Session, key: str, ids: list[int]) -> str:
    """A row that joined a window after its digest was sent gets a fresh key of its own."""
    settled = session.scalar(
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.idempotency_key == key, OutboxRow.id.not_in(ids))
    )
    if not settled:
        return key
    new_key = f"{key[:40]}-{uuid.uuid4().hex[:16]}"
    session.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(idempotency_key=new_key))
    return new_key


def claim_due(
    session: Session, now: datetime, lease_until: datetime, limit: int, tries: int = 3
) -> list[Claim]:
    """Claim up to ``limit`` due groups for this deliverer and commit the claim.

    When every group it picked was taken by another deliverer in the meantime, it looks
    again (up to ``tries`` times), so an empty answer means "nothing due", not "lost a race".
    """
    for _ in range(max(1, tries)):
        found, claims = _claim_once(session, now, lease_until, limit)
        if claims or not found:
            return claims
    return []


def _claim_once(
    session: Session, now: datetime, lease_until: datetime, limit: int
) -> tuple[bool, list[Claim]]:
    """``(were there due groups, the claims won)``."""
    token = uuid.uuid4().hex
    with session.begin():
        keys = list(
            session.scalars(
                select(OutboxRow.idempotency_key)
                .where(_due(now))
                .group_by(OutboxRow.idempotency_key)
                .order_by(func.min(OutboxRow.next_attempt_at), func.min(OutboxRow.id))
                .limit(limit)
            )
        )
        if not keys:
            return False, []
        target_ids: list[int] | None = None
        if session.get_bind().dialect.name == "postgresql":
            target_ids = list(
                session.scalars(
                    select(OutboxRow.id)
                    .where(OutboxRow.idempotency_key.in_(keys), _due(now))
                    .order_by(OutboxRow.id)
                    .with_for_update()
                )
            )
            if not target_ids:
                return True, []
        stmt = update(OutboxRow).where(OutboxRow.idempotency_key.in_(keys), _due(now))
        if target_ids is not None:
            stmt = stmt.where(OutboxRow.id.in_(target_ids))
        session.execute(
            stmt.values(status=SENDING, claim_token=token, lease_until=lease_until),
            execution_options={"synchronize_session": False},
        )
        rows = list(
            session.scalars(
                select(OutboxRow).where(OutboxRow.claim_token == token).order_by(OutboxRow.id)
            )
        )
        by_key: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_key.setdefault(row.idempotency_key, []).append(row)
        claims = []
        for key, group in by_key.items():
            real_key = _rekey_late_rows(session, key, [r.id for r in group])
            for r in group:
                r.idempotency_key = real_key
            claims.append(Claim(token, real_key, tuple(group)))
    for c in claims:
        for r in c.rows:
            session.expunge(r)
    return True, claims


def finish_delivered(session: Session, claim: Claim, now: datetime) -> int:
    """Mark the claim's rows delivered (only those still held under its token)."""
    with session.begin():
        result = session.execute(
            update(OutboxRow)
            .where(OutboxRow.claim_token == claim.token, OutboxRow.idempotency_key == claim.key)
            .values(
                status=DELIVERED,
                delivered_at=now,
                attempts=OutboxRow.attempts + 1,
                lease_until=None,
                last_error=None,
            ),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def finish_failed(
    session: Session, claim: Claim, error: str, next_attempt_at: datetime | None
) -> int:
    """Record a failed attempt: retry at ``next_attempt_at``, or give up when it is None."""
    values: dict[str, object] = {
        "attempts": OutboxRow.attempts + 1,
        "lease_until": None,
        "last_error": error[:2000],
    }
    if next_attempt_at is None:
        values["status"] = GAVE_UP
    else:
        values["status"] = PENDING
        values["next_attempt_at"] = next_attempt_at
    with session.begin():
        result = session.execute(
            update(OutboxRow)
            .where(OutboxRow.claim_token == claim.token, OutboxRow.idempotency_key == claim.key)
            .values(**values),
            execution_options={"synchronize_session": False},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def counts(session: Session, now: datetime) -> Counts:
    """How many deliveries are in each state (``pending`` split into due now and waiting)."""
    keys = func.count(distinct(OutboxRow.idempotency_key))
    with session.begin():
        rows = session.execute(select(OutboxRow.status, keys).group_by(OutboxRow.status))
        by_status = {str(status): int(n) for status, n in rows}
        waiting = session.scalar(
            select(keys).where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at > now)
        )
    pending = by_status.get(PENDING, 0)
    return Counts(
        pending_waiting=int(waiting or 0),
        pending_due=pending - int(waiting or 0),
        sending=by_status.get(SENDING, 0),
        delivered=by_status.get(DELIVERED, 0),
        gave_up=by_status.get(GAVE_UP, 0),
    )


def prune(session: Session, before: datetime) -> int:
    """Delete settled rows (delivered or given up) created before ``before``; how many."""
    with session.begin():
        result = session.execute(
            delete(OutboxRow).where(
                OutboxRow.status.in_((DELIVERED, GAVE_UP)), OutboxRow.created_at < before
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def list_rows(session: Session) -> list[OutboxRow]:
    """Every row in id order (tests and the operator's view)."""
    with session.begin():
        rows = list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    for r in rows:
        session.expunge(r)
    return rows
