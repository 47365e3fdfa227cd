"""ORM models of the web app's tables (schema owned by migration 0004).

App users (email, argon2 hash, role, team), their server-side sessions, the away state of
reps (the teams and reps themselves come from ``beachhead.yml``; only "away" is kept here,
so a rep can be marked away without editing the definitions), and saved inbox views.

The migration also adds inbox indexes to ``qualifications``; they are declared here on that
table too, so the schema-vs-models check sees the same indexes as the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from beachhead.store.qualification_models import QualificationRow
from beachhead.store.state_models import Base

ROLES = ("admin", "manager", "rep")


class AppUserRow(Base):
    """A person who signs in to the web app. ``email`` is stored lower-cased."""

    __tablename__ = "app_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class AppSessionRow(Base):
    """A signed-in browser. Only a SHA-256 of the cookie's random token is stored."""

    __tablename__ = "app_sessions"
    __table_args__ = (Index("ix_app_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class RepAwayRow(Base):
    """A rep marked away (or back) in the app; overrides ``away`` in beachhead.yml."""

    __tablename__ = "rep_away"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    away: Mapped[bool] = mapped_column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(320), nullable=False)


class SavedViewRow(Base):
    """An inbox filter saved under a name: personal, or shared with ``team``."""

    __tablename__ = "saved_views"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_saved_views_owner_name"),
        Index("ix_saved_views_team", "team"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("app_users.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    query: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


# Inbox orderings (priority, then newest) per scope. ``closed_at`` comes right after the
# scope column: the open inbox (``closed_at IS NULL``, an equality to an index) is then a
# range read in sort order, and counting it never touches the table.
_Q = QualificationRow.__table__.c
INBOX_INDEXES = (
    Index("ix_qualifications_inbox_all", _Q.closed_at, _Q.priority, _Q.qualified_at, _Q.id),
    Index(
        "ix_qualifications_inbox_team", _Q.team, _Q.closed_at, _Q.priority, _Q.qualified_at, _Q.id
    ),
    Index("ix_qualifications_inbox_rep", _Q.rep, _Q.closed_at, _Q.priority, _Q.qualified_at, _Q.id),
    Index("ix_qualifications_inbox_recent", _Q.closed_at, _Q.qualified_at, _Q.id),
    Index("ix_qualifications_inbox_any", _Q.priority, _Q.qualified_at, _Q.id),
)
