"""Typed ORM models of the application state store (SQLite or PostgreSQL).

The schema itself is owned by the Alembic migrations in ``migrations/versions``; these
models describe the same tables so repositories read and write them with types. A new
table is a new migration plus a new model here.
"""

from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every state-store table (all ``store/*_models.py`` use it)."""


def all_models() -> type[Base]:
    """Import every ``beachhead.store.*_models`` module so ``Base.metadata`` is complete
    (what the schema-vs-models check and Alembic autogenerate compare against)."""
    import beachhead.store as store

    for info in pkgutil.iter_modules(store.__path__):
        if info.name.endswith("_models"):
            importlib.import_module(f"beachhead.store.{info.name}")
    return Base


class WriteKey(Base):
    """A write key for the ingest API. Only a hash of the key is kept, plus a short prefix
    so a person can tell keys apart in ``keys list`` without the secret being shown."""

    __tablename__ = "write_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RejectRow(Base):
    """A message that failed validation, kept raw with where it came from and why."""

    __tablename__ = "rejects"
    __table_args__ = (Index("ix_rejects_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
