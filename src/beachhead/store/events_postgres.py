"""The production events store: PostgreSQL (psycopg 3), shared by several processes.

A batch is COPYed into a temporary table, then ``INSERT ... ON CONFLICT (message_id) DO
NOTHING RETURNING`` moves the new messages into ``events``: dedupe against the store is
the primary key, safe with concurrent writers (a second writer of the same id waits for
the first and then skips it). ``seq`` comes from the ``bh_seq`` sequence. The schema is
created on first use under an advisory lock, so processes starting together agree.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from beachhead.ingest.derive import Derived
from beachhead.ingest.message import Link, MembershipRow, Message, TraitRow
from beachhead.store.events import AppendResult, RawInput
from beachhead.store.events_rows import (
    EVENT_COLUMNS,
    LINK_COLUMNS,
    MEMBERSHIP_COLUMNS,
    MESSAGE_SELECT,
    TRAIT_COLUMNS,
    derived_of_stored,
    link_columns,
    link_from_row,
    membership_columns,
    membership_from_row,
    message_from_row,
    naive_utc,
    prepare,
    trait_columns,
    trait_row_from_row,
)

if TYPE_CHECKING:
    import ibis

SCHEMA_VERSION = 1
_MIGRATION_LOCK = 727_101  # advisory lock key for schema changes

MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE SEQUENCE IF NOT EXISTS bh_seq",
        """CREATE TABLE events (
            seq BIGINT NOT NULL, message_id TEXT PRIMARY KEY, type TEXT NOT NULL,
            event TEXT, user_id TEXT, anonymous_id TEXT, group_id TEXT,
            context_group_id TEXT, previous_id TEXT, ts TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL, properties JSONB, traits JSONB, raw JSONB,
            content_hash TEXT NOT NULL, source TEXT)""",
        "CREATE INDEX events_ts_seq ON events (ts, seq)",
        """CREATE TABLE trait_rows (seq BIGINT NOT NULL, kind TEXT NOT NULL,
            entity_id TEXT NOT NULL, ts TIMESTAMP NOT NULL, traits JSONB, source TEXT)""",
        "CREATE INDEX trait_rows_ts_seq ON trait_rows (ts, seq)",
        """CREATE TABLE links (seq BIGINT NOT NULL, from_id TEXT NOT NULL,
            to_id TEXT NOT NULL, ts TIMESTAMP NOT NULL)""",
        "CREATE INDEX links_ts_seq ON links (ts, seq)",
        """CREATE TABLE memberships (seq BIGINT NOT NULL, user_id TEXT NOT NULL,
            account_id TEXT NOT NULL, ts TIMESTAMP NOT NULL, source TEXT)""",
        "CREATE INDEX memberships_ts_seq ON memberships (ts, seq)",
    ],
}


# the JSON escape of a NUL: ``\u0000`` whose backslash is not itself escaped (``"C:\\u0000"``
# is a backslash followed by the text u0000, kept as it is)
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _jsonb_safe(text: str) -> str:
    """JSONB refuses the NUL escape; a NUL becomes U+FFFD so one odd string cannot fail a
    batch (the only difference from the embedded store, which keeps it)."""
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


class PostgresEventStore:
    """``EventStore`` on PostgreSQL (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._con = self._connect()
        self._lock = threading.RLock()
        self._ibis: ibis.BaseBackend | None = None
        self._temp_ready = False
        self._migrate()

    def _connect(self, autocommit: bool = True) -> psycopg.Connection[Any]:
        con = psycopg.connect(self.url, autocommit=autocommit)
        set_json_loads(orjson.loads, con)
        return con

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock, self._con.transaction():
            cur = self._con.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS bh_schema (version INTEGER NOT NULL)")
            row = cur.execute("SELECT max(version) FROM bh_schema").fetchone()
            current = int(row[0] or 0) if row else 0
            for version in sorted(v for v in MIGRATIONS if v > current):
                for stmt in MIGRATIONS[version]:
                    cur.execute(stmt)
                cur.execute("INSERT INTO bh_schema VALUES (%s)", (version,))

    # -- writing --------------------------------------------------------------------------

    def _reserve(self, cur: psycopg.Cursor[Any], n: int) -> list[int]:
        if n == 0:
            return []
        cur.execute("SELECT nextval('bh_seq') FROM generate_series(1, %s)", (n,))
        return [int(r[0]) for r in cur.fetchall()]

    def _copy(self, cur: psycopg.Cursor[Any], table: str, columns: dict[str, list[Any]]) -> None:
        if not columns["seq"]:
            return
        names = ", ".join(columns)
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)

    def _copy_derived(self, cur: psycopg.Cursor[Any], derived: Derived) -> None:
        traits = trait_columns(derived.trait_rows)
        traits["traits"] = [_jsonb_safe(t) for t in traits["traits"]]
        self._copy(cur, "trait_rows", traits)
        self._copy(cur, "links", link_columns(derived.links))
        self._copy(cur, "memberships", membership_columns(derived.memberships))

    def append(
        self, messages: Sequence[Message], raws: Sequence[RawInput], source: str
    ) -> AppendResult:
        prepared = prepare(messages, raws)
        if not prepared.messages:
            return AppendResult()
        with self._lock, self._con.transaction():
            cur = self._con.cursor()
            if not self._temp_ready:
                cur.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS _bh_in (LIKE events) ON COMMIT DELETE ROWS"
                )
            seqs = self._reserve(cur, len(prepared.messages))
            columns = prepared.columns(seqs, source)
            for key in ("properties", "traits", "raw"):
                columns[key] = [_jsonb_safe(t) for t in columns[key]]
            self._copy(cur, "_bh_in", columns)
            cur.execute(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                f"SELECT {', '.join(EVENT_COLUMNS)} FROM _bh_in "
                "ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
            )
            stored = {r[0] for r in cur.fetchall()}
            existing: dict[str, str] = {}
            if len(stored) < len(prepared.messages):
                cur.execute(
                    "SELECT e.message_id, e.content_hash FROM _bh_in i "
                    "JOIN events e USING (message_id) WHERE e.seq <> i.seq"
                )
                existing = {mid: h for mid, h in cur.fetchall()}
            self._copy_derived(cur, derived_of_stored(prepared, seqs, stored))
        self._temp_ready = True
        return prepared.result(stored, existing)

    def append_trait_rows(
        self, rows: Sequence[TraitRow], memberships: Sequence[MembershipRow]
    ) -> int:
        if not rows and not memberships:
            return 0
        with self._lock, self._con.transaction():
            cur = self._con.cursor()
            seqs = self._reserve(cur, len(rows) + len(memberships))
            traits = trait_columns(rows, seqs[: len(rows)])
            traits["traits"] = [_jsonb_safe(t) for t in traits["traits"]]
            self._copy(cur, "trait_rows", traits)
            self._copy(cur, "memberships", membership_columns(memberships, seqs[len(rows) :]))
        return len(rows) + len(memberships)

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def _select(table: str, columns: Sequence[str], as_of: datetime | None) -> str:
        where = " WHERE ts <= %s" if as_of is not None else ""
        return f"SELECT {', '.join(columns)} FROM {table}{where} ORDER BY ts, seq"

    def _rows(self, table: str, columns: Sequence[str], as_of: datetime | None) -> list[Any]:
        params = (naive_utc(as_of),) if as_of is not None else ()
        with self._lock, self._con.transaction():
            return self._con.execute(self._select(table, columns, as_of), params).fetchall()

    def messages(self, as_of: datetime | None = None) -> Iterator[Message]:
        """Streams with a server-side cursor on its own connection (no lock held)."""
        params = (naive_utc(as_of),) if as_of is not None else ()
        with self._connect(autocommit=False) as con, con.cursor(name="bh_messages") as cur:
            cur.execute(self._select("events", MESSAGE_SELECT, as_of), params)
            while True:
                chunk = cur.fetchmany(10_000)
                if not chunk:
                    break
                for row in chunk:
                    yield message_from_row(row)

    def trait_rows(self, as_of: datetime | None = None) -> list[TraitRow]:
        return [trait_row_from_row(r) for r in self._rows("trait_rows", TRAIT_COLUMNS, as_of)]

    def links(self, as_of: datetime | None = None) -> list[Link]:
        return [link_from_row(r) for r in self._rows("links", LINK_COLUMNS, as_of)]

    def memberships(self, as_of: datetime | None = None) -> list[MembershipRow]:
        rows = self._rows("memberships", MEMBERSHIP_COLUMNS, as_of)
        return [membership_from_row(r) for r in rows]

    def count(self) -> int:
        with self._lock, self._con.transaction():
            row = self._con.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def ibis(self) -> ibis.BaseBackend:
        """An Ibis PostgreSQL backend on its own connection to the same database."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.connect(self.url)
            # Analytical queries here are wide and run once: PostgreSQL's JIT would spend
            # seconds compiling each (see engine/evaluate.py::_prepare); off for this session.
            with self._ibis.con.cursor() as cur:
                cur.execute("SET jit = off")
        return self._ibis

    def close(self) -> None:
        with self._lock:
            if self._ibis is not None:
                with contextlib.suppress(Exception):  # closing anyway
                    self._ibis.disconnect()
                self._ibis = None
            self._con.close()

    def raw_connection(self) -> psycopg.Connection[Any]:
        """The underlying connection (benchmarks compare against a bare COPY)."""
        return self._con
