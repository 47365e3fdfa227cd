"""The embedded events store: one DuckDB file, written by one process.

Rows go in as Arrow tables (one ``INSERT ... SELECT`` per table per batch): DuckDB's
``executemany`` manages about 800 rows/s, Arrow tens of thousands. Dedupe against the
store is the message_id primary key. A batch is first tried with a plain ``INSERT``
(about 40% less DuckDB CPU per row than ``INSERT OR IGNORE ... RETURNING``); when that
hits the key (a message already stored), the transaction is rolled back and the batch
redone with ``INSERT OR IGNORE``, ``RETURNING`` telling which messages were new, so
derived rows are stored for those only. Re-sent batches pay twice; new ones, the common
case, once.

``seq`` comes from a counter in this process, shared by every store open on the file and
started from the largest stored ``seq`` when the first one opens: DuckDB's file lock means
no other process writes meanwhile, and a counter costs no statement per commit (a counter
table did: one more write per batch).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from beachhead.ingest.derive import Derived
from beachhead.ingest.message import Link, MembershipRow, Message, TraitRow
from beachhead.store.events import AppendResult, StoreBusy
from beachhead.store.events_rows import (
    LINK_COLUMNS,
    MEMBERSHIP_COLUMNS,
    MESSAGE_SELECT,
    TRAIT_COLUMNS,
    Prepared,
    RawInput,
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

_TS = pa.timestamp("us")
_STR = pa.string()
_I64 = pa.int64()

EVENTS_ARROW = pa.schema(
    [
        ("seq", _I64),
        ("message_id", _STR),
        ("type", _STR),
        ("event", _STR),
        ("user_id", _STR),
        ("anonymous_id", _STR),
        ("group_id", _STR),
        ("context_group_id", _STR),
        ("previous_id", _STR),
        ("ts", _TS),
        ("received_at", _TS),
        ("properties", _STR),
        ("traits", _STR),
        ("raw", _STR),
        ("content_hash", _STR),
        ("source", _STR),
    ]
)
TRAITS_ARROW = pa.schema(
    [
        ("seq", _I64),
        ("kind", _STR),
        ("entity_id", _STR),
        ("ts", _TS),
        ("traits", _STR),
        ("source", _STR),
    ]
)
LINKS_ARROW = pa.schema([("seq", _I64), ("from_id", _STR), ("to_id", _STR), ("ts", _TS)])
MEMBERSHIPS_ARROW = pa.schema(
    [("seq", _I64), ("user_id", _STR), ("account_id", _STR), ("ts", _TS), ("source", _STR)]
)

# Version -> statements that bring the schema from version-1 to it.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE events (
            seq BIGINT NOT NULL, message_id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL,
            event VARCHAR, user_id VARCHAR, anonymous_id VARCHAR, group_id VARCHAR,
            context_group_id VARCHAR, previous_id VARCHAR, ts TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL, properties JSON, traits JSON, raw JSON,
            content_hash VARCHAR NOT NULL, source VARCHAR)""",
        """CREATE TABLE trait_rows (seq BIGINT NOT NULL, kind VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, traits JSON, source VARCHAR)""",
        """CREATE TABLE links (seq BIGINT NOT NULL, from_id VARCHAR NOT NULL,
            to_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL)""",
        """CREATE TABLE memberships (seq BIGINT NOT NULL, user_id VARCHAR NOT NULL,
            account_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, source VARCHAR)""",
    ],
}

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?)(?:\s+by user\b|\.\s+See also|$)")


class _SeqCounter:
    """The next ``seq`` for one DuckDB file, shared by the stores this process has open,
    and the lock their writes take: two write transactions on one file would conflict on
    the primary key (DuckDB aborts one at commit), so writers on a file go one at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.write = threading.RLock()
        self.next = 1
        self.users = 0

    def take(self, n: int) -> range:
        with self.lock:
            start = self.next
            self.next += n
        return range(start, start + n)


_counters: dict[str, _SeqCounter] = {}
_counters_lock = threading.Lock()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open (a failed commit has already ended it)."""
    with contextlib.suppress(duckdb.TransactionException):
        con.rollback()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the file, turning DuckDB's lock conflict into ``StoreBusy`` naming the holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" not in text.lower():
            raise
        m = _LOCK_HOLDER.search(text)
        raise StoreBusy(str(path), m.group(1).strip() if m else None) from exc


class DuckDBEventStore:
    """``EventStore`` on a DuckDB file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con = _connect(path)
        self._lock = threading.RLock()
        self._ibis: ibis.BaseBackend | None = None
        self._closed = False
        self._migrate()
        self._counter = self._attach_counter()

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._lock:
            con = self._con
            con.execute("CREATE TABLE IF NOT EXISTS bh_schema (version INTEGER NOT NULL)")
            got = con.execute("SELECT max(version) FROM bh_schema").fetchall()
            current = int(got[0][0] or 0)
            for version in sorted(v for v in MIGRATIONS if v > current):
                con.begin()
                try:
                    for stmt in MIGRATIONS[version]:
                        con.execute(stmt)
                    con.execute("INSERT INTO bh_schema VALUES (?)", [version])
                    con.commit()
                except BaseException:
                    _rollback(con)
                    raise

    # -- writing --------------------------------------------------------------------------

    def _attach_counter(self) -> _SeqCounter:
        """Join this file's counter; the first store open on it reads the largest seq."""
        key = str(self.path.resolve())
        with _counters_lock:
            counter = _counters.setdefault(key, _SeqCounter())
            if counter.users == 0:
                with self._lock:
                    tables = ("events", "trait_rows", "links", "memberships")
                    union = " UNION ALL ".join(f"SELECT max(seq) AS s FROM {t}" for t in tables)
                    got = self._con.execute(f"SELECT max(s) FROM ({union})").fetchall()
                counter.next = int(got[0][0] or 0) + 1
            counter.users += 1
        return counter

    def _reserve(self, n: int) -> range:
        """``n`` new seq values."""
        return self._counter.take(n)

    def _insert(self, table: str, schema: pa.Schema, columns: dict[str, list[Any]]) -> None:
        if not columns["seq"]:
            return
        arrow = pa.Table.from_pydict(columns, schema=schema)
        name = f"_bh_in_{table}"
        self._con.register(name, arrow)
        try:
            self._con.execute(f"INSERT INTO {table} SELECT * FROM {name}")
        finally:
            self._con.unregister(name)

    def _insert_derived(self, derived: Derived) -> None:
        self._insert("trait_rows", TRAITS_ARROW, trait_columns(derived.trait_rows))
        self._insert("links", LINKS_ARROW, link_columns(derived.links))
        self._insert("memberships", MEMBERSHIPS_ARROW, membership_columns(derived.memberships))

    def append(
        self, messages: Sequence[Message], raws: Sequence[RawInput], source: str
    ) -> AppendResult:
        prepared = prepare(messages, raws)
        if not prepared.messages:
            return AppendResult()
        with self._counter.write, self._lock:
            seqs = self._reserve(len(prepared.messages))
            # Arrow's timestamp("us") stores the UTC instant of an aware datetime itself.
            columns = prepared.columns(seqs, source, aware_ok=True)
            arrow = pa.Table.from_pydict(columns, schema=EVENTS_ARROW)
            del columns
            con = self._con
            con.register("_bh_in_events", arrow)
            try:
                done = self._append_new(prepared, seqs)
                if done is None:
                    done = self._append_some(prepared, seqs)
            finally:
                con.unregister("_bh_in_events")
        stored, existing = done
        return prepared.result(stored, existing)

    def _append_new(
        self, prepared: Prepared, seqs: Sequence[int]
    ) -> tuple[set[str], dict[str, str]] | None:
        """Insert the batch assuming no message is stored yet; None (rolled back) when one
        is: the primary key refused the insert."""
        con = self._con
        con.begin()
        try:
            con.execute("INSERT INTO events SELECT * FROM _bh_in_events")
            stored = {m.message_id for m in prepared.messages}
            self._insert_derived(derived_of_stored(prepared, seqs, stored))
            con.commit()
        except duckdb.ConstraintException:
            _rollback(con)
            return None
        except BaseException:
            _rollback(con)
            raise
        return stored, {}

    def _append_some(
        self, prepared: Prepared, seqs: Sequence[int]
    ) -> tuple[set[str], dict[str, str]]:
        """Insert the messages not stored yet (``INSERT OR IGNORE``), their derived rows,
        and read the stored content hash of the others."""
        con = self._con
        con.begin()
        try:
            rows = con.execute(
                "INSERT OR IGNORE INTO events SELECT * FROM _bh_in_events RETURNING message_id"
            ).fetchall()
            stored = {r[0] for r in rows}
            existing = self._existing(prepared.messages, stored)
            self._insert_derived(derived_of_stored(prepared, seqs, stored))
            con.commit()
        except BaseException:
            _rollback(con)
            raise
        return stored, existing

    def _existing(self, messages: list[Message], stored: set[str]) -> dict[str, str]:
        """message_id -> stored content_hash, for the messages that were already there."""
        ids = [m.message_id for m in messages if m.message_id not in stored]
        if not ids:
            return {}
        probe = pa.table({"message_id": ids}, schema=pa.schema([("message_id", _STR)]))
        self._con.register("_bh_probe", probe)
        try:
            rows = self._con.execute(
                "SELECT e.message_id, e.content_hash FROM events e "
                "JOIN _bh_probe p ON e.message_id = p.message_id"
            ).fetchall()
        finally:
            self._con.unregister("_bh_probe")
        return {mid: h for mid, h in rows}

    def append_trait_rows(
        self, rows: Sequence[TraitRow], memberships: Sequence[MembershipRow]
    ) -> int:
        if not rows and not memberships:
            return 0
        with self._counter.write, self._lock:
            con = self._con
            con.begin()
            try:
                seqs = self._reserve(len(rows) + len(memberships))
                self._insert("trait_rows", TRAITS_ARROW, trait_columns(rows, seqs[: len(rows)]))
                self._insert(
                    "memberships",
                    MEMBERSHIPS_ARROW,
                    membership_columns(memberships, seqs[len(rows) :]),
                )
                con.commit()
            except BaseException:
                _rollback(con)
                raise
        return len(rows) + len(memberships)

    # -- reading --------------------------------------------------------------------------

    def _select(self, table: str, columns: Sequence[str], as_of: datetime | None) -> str:
        where = " WHERE ts <= ?" if as_of is not None else ""
        return f"SELECT {', '.join(columns)} FROM {table}{where} ORDER BY ts, seq"

    def _rows(self, table: str, columns: Sequence[str], as_of: datetime | None) -> list[Any]:
        params = [naive_utc(as_of)] if as_of is not None else []
        with self._lock:
            cur = self._con.cursor()
            try:
                return cur.execute(self._select(table, columns, as_of), params).fetchall()
            finally:
                cur.close()

    def messages(self, as_of: datetime | None = None) -> Iterator[Message]:
        params = [naive_utc(as_of)] if as_of is not None else []
        with self._lock:
            cur = self._con.cursor()
        try:
            cur.execute(self._select("events", MESSAGE_SELECT, as_of), params)
            while True:
                chunk = cur.fetchmany(10_000)
                if not chunk:
                    break
                for row in chunk:
                    yield message_from_row(row)
        finally:
            cur.close()

    def trait_rows(self, as_of: datetime | None = None) -> list[TraitRow]:
        return [trait_row_from_row(r) for r in self._rows("trait_rows", TRAIT_COLUMNS, as_of)]

    def links(self, as_of: datetime | None = None) -> list[Link]:
        return [link_from_row(r) for r in self._rows("links", LINK_COLUMNS, as_of)]

    def memberships(self, as_of: datetime | None = None) -> list[MembershipRow]:
        rows = self._rows("memberships", MEMBERSHIP_COLUMNS, as_of)
        return [membership_from_row(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM events").fetchall()[0][0])

    def ibis(self) -> ibis.BaseBackend:
        """An Ibis DuckDB backend on a cursor of this connection (sees every commit)."""
        if self._ibis is None:
            import ibis

            with self._lock:
                self._ibis = ibis.duckdb.from_connection(self._con.cursor())
        return self._ibis

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with _counters_lock:
                self._counter.users -= 1
            if self._ibis is not None:
                with contextlib.suppress(Exception):  # closing anyway
                    self._ibis.disconnect()
                self._ibis = None
            self._con.close()

    def raw_connection(self) -> duckdb.DuckDBPyConnection:
        """The underlying connection (benchmarks compare against a bare insert)."""
        return self._con
