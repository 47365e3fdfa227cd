"""ORM models of the qualification tables (schema owned by migrations 0002 and 0005).

Qualifications with their evidence, the history of every status change and assignment,
the journey stage history of accounts, the recorded evaluations, round-robin cursors, and
one lock row that serialises recorded evaluations and rep actions across processes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from beachhead.store.state_models import Base

OPEN_WHERE = text("closed_at IS NULL")


class QualificationRow(Base):
    """One qualification; at most one open per (pql, entity) (a partial unique index)."""

    __tablename__ = "qualifications"
    __table_args__ = (
        Index(
            "ux_qualifications_open",
            "pql",
            "entity_id",
            unique=True,
            sqlite_where=OPEN_WHERE,
            postgresql_where=OPEN_WHERE,
        ),
        Index("ix_qualifications_status", "status"),
        Index("ix_qualifications_pql_entity", "pql", "entity_id", "closed_at"),
        Index("ix_qualifications_rep", "rep"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    pql: Mapped[str] = mapped_column(String(200), nullable=False)
    level: Mapped[str] = mapped_column(String(10), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(500), nullable=False)
    account_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    qualified_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    touch: Mapped[str] = mapped_column(String(10), nullable=False)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rep: Mapped[str | None] = mapped_column(String(320), nullable=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    plan_at_qualification: Mapped[str | None] = mapped_column(String(200), nullable=True)
    stage_at_qualification: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(320), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class QualificationHistoryRow(Base):
    """A status change or an assignment: when, by whom, why and which rule decided it."""

    __tablename__ = "qualification_history"
    __table_args__ = (Index("ix_qualification_history_q", "qualification_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    qualification_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("qualifications.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(320), nullable=False)
    status_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status_to: Mapped[str] = mapped_column(String(20), nullable=False)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rep: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rule: Mapped[str] = mapped_column(Text, nullable=False, default="")


class StageHistoryRow(Base):
    """An account entering a journey stage (``stage`` NULL = unstaged)."""

    __tablename__ = "stage_history"
    __table_args__ = (Index("ix_stage_history_account", "account_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(500), nullable=False)
    stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    from_stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    initial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AccountStageRow(Base):
    """Each account's current stage and since when (the head of its stage history)."""

    __tablename__ = "account_stages"

    account_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(200), nullable=True)
    since: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class EvaluationRow(Base):
    """A recorded evaluation: the as_of lifecycle clocks have reached."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[datetime] = mapped_column(DateTime, nullable=False, unique=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    created: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    open: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class RoutingCursorRow(Base):
    """Where round-robin continues in a team's rotation."""

    __tablename__ = "routing_cursors"

    team: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class LifecycleLockRow(Base):
    """One row; updating it first serialises lifecycle writers (SQLite and PostgreSQL)."""

    __tablename__ = "lifecycle_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class QualificationScoreRow(Base):
    """A qualification's entity's current value of one score (schema: migration 0005).

    Written when the qualification is recorded and refreshed at every recorded evaluation
    while it is open; a closed qualification keeps the values it had when it closed. The
    inbox filters by ``band`` and sorts by ``points`` (ties by qualification id).
    """

    __tablename__ = "qualification_scores"
    __table_args__ = (
        Index("ix_qualification_scores_band", "score", "band", "points", "qualification_id"),
        Index("ix_qualification_scores_points", "score", "points", "qualification_id"),
    )

    qualification_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("qualifications.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[str] = mapped_column(String(200), primary_key=True)
    points: Mapped[float] = mapped_column(Float, nullable=False)
    band: Mapped[str | None] = mapped_column(String(10), nullable=True)
