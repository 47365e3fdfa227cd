"""The events store: append-only messages and the identity rows derived from them.

One API (``EventStore``), two implementations: DuckDB in ``<data>/events.duckdb``
(embedded default) and PostgreSQL (``BEACHHEAD_DATABASE_URL``). Both create and migrate
their schema on first use. Only this package writes these tables; the engine reads them
through ``ibis()``. Tables: see ``docs/architecture.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from beachhead.config import Settings
from beachhead.ingest.message import Link, MembershipRow, Message, TraitRow

if TYPE_CHECKING:
    import ibis


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one ``append`` did: messages stored, duplicates ignored (by messageId), and how
    many of those duplicates differed in content from what was stored first."""

    stored: int = 0
    duplicates: int = 0
    duplicates_differing: int = 0

    def __add__(self, other: AppendResult) -> AppendResult:
        return AppendResult(
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.duplicates_differing + other.duplicates_differing,
        )


class Encoded(NamedTuple):
    """A raw message with its JSON text as the caller already serialised it
    (``orjson.dumps(doc)``): the store keeps ``text`` and hashes ``doc``, so it serialises
    the message once less."""

    doc: dict[str, Any]
    text: bytes


RawInput = bytes | dict[str, Any] | Encoded
"""What ``append`` takes as the raw form of a message: its JSON text, the parsed object,
or both (``Encoded``)."""


class StoreBusy(RuntimeError):
    """The embedded events store is held by another process (DuckDB allows one writer).

    ``holder`` is what DuckDB says about the lock holder (e.g. ``python (PID 1234)``), or
    None when it did not say. The runtime retries for a while before giving up.
    """

    def __init__(self, path: str, holder: str | None) -> None:
        who = holder or "another process"
        super().__init__(f"the events store {path} is in use by {who}")
        self.path = path
        self.holder = holder


class EventStore(Protocol):
    """Append-only messages with point-in-time reads (``ts <= as_of``, ordered by (ts, seq))."""

    def append(
        self, messages: Sequence[Message], raws: Sequence[RawInput], source: str
    ) -> AppendResult:
        """Store ``messages`` (``raws[i]`` is the raw form of ``messages[i]``) in ONE
        transaction; duplicates by message_id (in the batch or already stored) are ignored;
        the trait rows, links and memberships of the stored messages are stored too."""
        ...

    def append_trait_rows(
        self, rows: Sequence[TraitRow], memberships: Sequence[MembershipRow]
    ) -> int:
        """Store import rows (one transaction); returns how many rows were stored."""
        ...

    def messages(self, as_of: datetime | None = None) -> Iterator[Message]: ...

    def trait_rows(self, as_of: datetime | None = None) -> list[TraitRow]: ...

    def links(self, as_of: datetime | None = None) -> list[Link]: ...

    def memberships(self, as_of: datetime | None = None) -> list[MembershipRow]: ...

    def count(self) -> int:
        """Number of stored messages."""
        ...

    def ibis(self) -> ibis.BaseBackend:
        """An Ibis backend on the same database (the engine's connection)."""
        ...

    def close(self) -> None: ...


def open_event_store(settings: Settings) -> EventStore:
    """The events store the settings name: PostgreSQL with ``database_url``, else DuckDB
    under ``data``. Creates and migrates it on first use. DuckDB held by another process:
    ``StoreBusy``."""
    if settings.database_url:
        from beachhead.store.events_postgres import PostgresEventStore

        return PostgresEventStore(settings.database_url)
    from beachhead.store.events_duckdb import DuckDBEventStore

    return DuckDBEventStore(settings.duckdb_path)
