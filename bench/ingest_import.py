"""``import events`` throughput beside a bare bulk insert of the same rows (the ceiling).

For DuckDB and PostgreSQL: N generated Segment messages are imported with
``ingest.importers.import_events`` (parse, normalise, dedupe, derive, batched commits) into
a fresh store; then the same rows, already in columns, are bulk-inserted into a second fresh
store with nothing else (DuckDB ``INSERT INTO events SELECT * FROM arrow``; PostgreSQL
``COPY events FROM STDIN``). The gap is what ingest costs above the engine's own speed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pyarrow as pa

from beachhead.config import Settings
from beachhead.ingest.importers import import_events
from beachhead.ingest.message import Reject
from beachhead.ingest.segment import normalize
from beachhead.store.events import open_event_store
from beachhead.store.events_duckdb import EVENTS_ARROW, DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore
from beachhead.store.events_rows import EVENT_COLUMNS, prepare
from bench.table import BenchTable

PG_ADMIN_URL = os.environ.get("BEACHHEAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
EVENTS = ["Logged In", "Report Created", "Dashboard Shared", "Comment Added", "Invite Sent"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def generate(n: int, seed: int = 7) -> list[bytes]:
    """``n`` JSON lines: mostly track, some identify/group/page, each with a messageId."""
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        user = f"u_{rnd.randrange(max(n // 50, 1))}"
        ts = (T0 + timedelta(seconds=i * 7)).isoformat().replace("+00:00", "Z")
        r = rnd.random()
        msg: dict[str, Any]
        if r < 0.8:
            msg = {"type": "track", "event": rnd.choice(EVENTS), "properties": {"n": i % 13}}
        elif r < 0.9:
            msg = {
                "type": "identify",
                "anonymousId": f"a_{user}",
                "traits": {"email": f"{user}@example.com", "plan": "free"},
            }
        elif r < 0.95:
            msg = {
                "type": "group",
                "groupId": f"acct_{rnd.randrange(200)}",
                "traits": {"employees": rnd.randrange(5, 5000)},
            }
        else:
            msg = {"type": "page", "name": "Pricing", "properties": {"path": "/pricing"}}
        msg.update(
            {
                "userId": user,
                "messageId": f"m-{i}",
                "timestamp": ts,
                "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            }
        )
        lines.append(orjson.dumps(msg) + b"\n")
    return lines


@contextlib.contextmanager
def _pg_database() -> Iterator[str | None]:
    """A throwaway PostgreSQL database, or None when there is no server."""
    name = f"bh_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_rejects(_rejects: list[Reject]) -> None:
    pass


class _Clock:
    """Wall time and this process's CPU time (all threads) of a block: on a busy machine
    the CPU time per event is the steadier number."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def _time_import(settings: Settings, lines: list[bytes], batch: int) -> _Clock:
    store = open_event_store(settings)
    try:
        with _Clock() as clock:
            report = import_events(store, _drop_rejects, lines, "bench", batch_lines=batch)
        assert report.stored == len(lines), report
    finally:
        store.close()
    return clock


def _columns(lines: list[bytes]) -> dict[str, list[Any]]:
    now = datetime.now(UTC)
    raws = [orjson.loads(line) for line in lines]
    prepared = prepare([normalize(r, now) for r in raws], raws)
    return prepared.columns(range(1, len(lines) + 1), "bench")


def _time_bulk_duckdb(path: Path, columns: dict[str, list[Any]]) -> _Clock:
    store = DuckDBEventStore(path)
    try:
        arrow = pa.Table.from_pydict(columns, schema=EVENTS_ARROW)
        con = store.raw_connection()
        with _Clock() as clock:
            con.register("bulk", arrow)
            con.execute("INSERT INTO events SELECT * FROM bulk")
        return clock
    finally:
        store.close()


def _time_bulk_postgres(url: str, columns: dict[str, list[Any]]) -> _Clock:
    store = PostgresEventStore(url)
    try:
        con = store.raw_connection()
        rows = list(zip(*columns.values(), strict=True))
        with (
            _Clock() as clock,
            con.transaction(),
            con.cursor() as cur,
            cur.copy(f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return clock
    finally:
        store.close()


def _time_normalize(lines: list[bytes]) -> float:
    raws = [orjson.loads(line) for line in lines]
    now = datetime.now(UTC)
    t = time.perf_counter()
    for r in raws:
        normalize(r, now)
    return (time.perf_counter() - t) / len(raws) * 1e6


def measure(n: int, batches: tuple[int, ...] = (2000, 100)) -> BenchTable:
    """Rows: backend, path, commit size, seconds, events/s, CPU µs/event, share of ceiling."""
    lines = generate(n)
    columns = _columns(lines)
    gc.freeze()  # as the CLI does before an import
    table = BenchTable(
        f"import events: {n:,} messages",
        ["backend", "path", "commit", "seconds", "events/s", "CPU µs/event", "of ceiling"],
    )
    with tempfile.TemporaryDirectory() as tmp, _pg_database() as pg_bulk:
        runs: list[tuple[str, Callable[[], _Clock], Callable[[int, int], _Clock]]] = [
            (
                "duckdb",
                lambda: _time_bulk_duckdb(Path(tmp) / "bulk" / "events.duckdb", columns),
                lambda k, batch: _time_import(
                    Settings(data=Path(tmp) / f"import{k}"), lines, batch
                ),
            )
        ]
        if pg_bulk is not None:
            runs.append(
                ("postgres", lambda: _time_bulk_postgres(pg_bulk, columns), _pg_import(lines))
            )
        for name, bulk, do_import in runs:
            ceiling = bulk()
            table.add(
                name,
                "bulk insert (ceiling)",
                n,
                ceiling.wall,
                n / ceiling.wall,
                ceiling.cpu / n * 1e6,
                "100%",
            )
            for k, batch in enumerate(batches):
                clock = do_import(k, batch)
                table.add(
                    name,
                    "import_events",
                    batch,
                    clock.wall,
                    n / clock.wall,
                    clock.cpu / n * 1e6,
                    f"{ceiling.wall / clock.wall:.0%}",
                )
        if pg_bulk is None:
            table.notes.append("PostgreSQL not reachable: only DuckDB measured")
    table.notes.append("CPU: this process, all threads (PostgreSQL's own CPU not included)")
    table.notes.append(f"normalize(): {_time_normalize(lines[:20000]):.1f} µs per message")
    return table


def _pg_import(lines: list[bytes]) -> Callable[[int, int], _Clock]:
    def go(_k: int, batch: int) -> _Clock:
        with _pg_database() as url:
            assert url is not None
            return _time_import(Settings(database_url=url), lines, batch)

    return go


def run(quick: bool = False) -> list[BenchTable]:
    return [measure(5_000 if quick else 100_000)]
