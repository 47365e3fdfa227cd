"""Evaluation: the engine (``engine.evaluate``) beside ONE hand-written SQL query.

Data: ``bench/evaluate_data.py`` (1M, 10M and 30M events; quick: 20k and 100k), bulk-loaded
into the events store's tables and cached under ``bench/.cache/``. Definitions: the
template's four PQLs with its scores and stages, plus the twenty of
``bench/definitions_custom.yml``. ``as_of`` is the end of the data.

Per size, on DuckDB:

- **engine**: ``evaluate(store, config, as_of)`` end to end (identity resolved from the
  store's rows, uploaded, the feature pass per level, scores, stages, predicates, and the
  fetch of every entity's scores and every match with its evidence), with the time of each
  step (measured by wrapping the engine's own functions, nothing changed in it);
- **hand full**: ``bench/evaluate_sql.py``'s ``full_sql``, ONE query over the same
  uploaded snapshot tables, fetched to Arrow, that returns the engine's result as one wide
  table: every user's and account's score points and bands and the account's stage, and
  per PQL its touch (NULL: no match) and each leaf's held flag, beside the value behind
  every leaf. ``check_full`` compares it with the engine's ``Evaluation`` field by field
  (the run stops on any difference);
- **matches only**: the previous reference, ``matches_sql``: every ``(pql, entity,
  touch)`` and nothing else (checked equal to the engine's matches), kept as a second
  column so the change of reference is visible.

``ratio`` compares like with like: the engine without identity (resolve + upload, which
the hand queries also need and do not time) over the full hand query. Peak RSS is the
process's high-water mark (``VmHWM``, reset before each measured step; DuckDB's buffers
are inside it). Also a PostgreSQL row at the smallest size (engine only).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import io
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
from ruamel.yaml import YAML

from beachhead.engine import evaluate
from beachhead.engine.gcpause import paused_gc
from beachhead.engine.snapshot import duckdb_arrow, resolve_from_tables, upload
from beachhead.rules.load import load_text
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation
from beachhead.store.events_duckdb import DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore
from bench.evaluate_data import AS_OF, ensure, shape
from bench.evaluate_sql import PQLS, full_sql, matches_sql, value_column
from bench.table import BenchTable

PG_ADMIN_URL = os.environ.get("BEACHHEAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEMPLATE = Path(__file__).resolve().parents[1] / "src/beachhead/rules/templates/beachhead.yml"
CUSTOM = Path(__file__).resolve().parent / "definitions_custom.yml"
SIZES = (1_000_000, 10_000_000, 30_000_000)
QUICK_SIZES = (20_000, 100_000)

Triple = tuple[str, str, str]
# The module, not the function that ``beachhead.engine`` re-exports under the same name.
engine_mod = importlib.import_module("beachhead.engine.evaluate")
prepared_mod = importlib.import_module("beachhead.engine.prepared")


def config() -> Config:
    """The template plus the custom definitions, as one validated ``Config``."""
    yaml = YAML()
    base = yaml.load(TEMPLATE.read_text(encoding="utf-8"))
    extra = yaml.load(CUSTOM.read_text(encoding="utf-8"))
    base["pqls"].extend(extra["pqls"])
    buf = io.StringIO()
    yaml.dump(base, buf)
    return load_text(buf.getvalue(), "bench-evaluate.yml")


# --------------------------------------------------------------------------- measuring


def reset_peak() -> None:
    """Reset this process's peak RSS (Linux ``clear_refs`` 5), when allowed."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mb() -> float:
    """This process's peak RSS since the last reset, in MB (``VmHWM``)."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Steps:
    """Seconds per engine step, filled by ``timed_engine``."""

    seconds: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, dt: float, dc: float = 0.0) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + dt
        self.cpu[name] = self.cpu.get(name, 0.0) + dc


@contextlib.contextmanager
def timed_engine(steps: Steps) -> Iterator[None]:
    """Wrap the engine's own steps with timers (bench only: the engine is not changed)."""
    originals: list[tuple[Any, str, Any]] = []
    fetches = iter(("accounts fetch", "users pass + fetch"))

    def wrap(mod: Any, name: str, label: Callable[..., str]) -> None:
        fn = getattr(mod, name)
        originals.append((mod, name, fn))

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                steps.add(label(*args), time.perf_counter() - t, time.process_time() - c)

        setattr(mod, name, timed)

    wrap(engine_mod, "resolve_from_tables", lambda *a: "resolve")
    wrap(engine_mod, "upload", lambda *a: "upload")
    wrap(prepared_mod, "compile_plan", lambda *a: "compile")
    wrap(prepared_mod, "materialize", lambda *a: "accounts pass")
    wrap(prepared_mod, "fetch", lambda *a: next(fetches, "fetch"))
    wrap(prepared_mod, "entities", lambda *a: "scores")
    wrap(prepared_mod, "matches", lambda *a: "predicates + evidence")
    try:
        yield
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)


def triples(ev: Evaluation) -> set[Triple]:
    return {(m.pql, m.entity_id, m.touch) for m in ev.matches}


@dataclass
class EngineRun:
    seconds: float
    cpu: float
    steps: Steps
    peak_mb: float
    result: set[Triple]
    users: int
    accounts: int
    evaluation: Evaluation | None = None  # kept until checked against the hand result


def run_engine(store: Any, cfg: Config) -> EngineRun:
    steps = Steps()
    gc.collect()
    reset_peak()
    with timed_engine(steps):
        t, c = time.perf_counter(), time.process_time()
        ev = evaluate(store, cfg, AS_OF)
        # evaluate() holds the cyclic collector off (engine/gcpause.py); one full
        # collection right after is charged to it, the most it can leave behind (of the
        # objects not frozen: see measure_duckdb)
        gc.collect()
        dt, dc = time.perf_counter() - t, time.process_time() - c
    peak = peak_mb()
    return EngineRun(dt, dc, steps, peak, triples(ev), len(ev.users), len(ev.accounts), ev)


@dataclass
class HandRun:
    """The full hand query (``seconds``, ``cpu``, ``peak_mb``: identity + that query) and
    the "matches only" one (``matches_*``), over the same uploaded identity."""

    seconds: float
    cpu: float
    identity: float
    peak_mb: float
    result: set[Triple]  # the "matches only" query's rows
    matches_seconds: float = 0.0
    matches_cpu: float = 0.0
    full: pa.Table | None = None  # kept until checked against the engine's result


def _timed_arrow(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[pa.Table, float, float]:
    """``sql`` fetched to Arrow the way the engine fetches (``snapshot.duckdb_arrow``:
    planned once), in seconds and CPU seconds."""
    t, c = time.perf_counter(), time.process_time()
    table = duckdb_arrow(con, sql)
    return table, time.perf_counter() - t, time.process_time() - c


def run_hand(
    con: duckdb.DuckDBPyConnection, store: DuckDBEventStore, full_first: bool = True
) -> HandRun:
    """Identity (resolve + upload, timed apart), then the full hand-written query and the
    "matches only" one, once each: the full one first, or last (``full_first``)."""
    backend = store.ibis()
    gc.collect()
    reset_peak()
    t = time.perf_counter()
    with paused_gc():  # as evaluate() resolves and uploads it
        snap = resolve_from_tables(backend, AS_OF)
        up = upload(backend, snap)
    identity = time.perf_counter() - t
    try:
        names = dict(zip(("map", "members", "users", "accounts"), up.names, strict=True))
        cur = backend.con  # the same DuckDB connection the engine uses (sees the temp tables)
        full_q, matches_q = full_sql(AS_OF, names), matches_sql(AS_OF, names)
        # the order may matter (at 30M the full query timed first took 32-42 s in two runs,
        # 28 s on its own): measure_duckdb alternates it between runs
        if full_first:
            full, dt, dc = _timed_arrow(cur, full_q)
            rows, mdt, mdc = _timed_arrow(cur, matches_q)
        else:
            rows, mdt, mdc = _timed_arrow(cur, matches_q)
            full, dt, dc = _timed_arrow(cur, full_q)
        peak = peak_mb()
    finally:
        up.drop()
    del con
    found = set(zip(*(rows.column(k).to_pylist() for k in ("pql", "entity", "touch")), strict=True))
    return HandRun(dt, dc, identity, peak, found, mdt, mdc, full)


def check_same(engine: set[Triple], hand: set[Triple], label: str) -> None:
    """The run is worthless if the two compute different things: stop with the difference."""
    if engine == hand:
        return
    only_e = sorted(engine - hand)[:5]
    only_h = sorted(hand - engine)[:5]
    raise AssertionError(
        f"{label}: engine and hand-written SQL disagree "
        f"({len(engine - hand)} only in engine, e.g. {only_e}; "
        f"{len(hand - engine)} only in SQL, e.g. {only_h})"
    )


def _same_value(engine: Any, hand: Any) -> bool:
    """A leaf's value as the engine shows it beside the hand query's: times as the engine's
    ISO text, numbers equal as numbers (sums and averages to 1e-9: summation order)."""
    if isinstance(hand, datetime):
        hand = hand.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
    numbers = (int, float)
    if isinstance(engine, numbers) and isinstance(hand, numbers):
        if isinstance(engine, bool) or isinstance(hand, bool):
            return engine is hand
        return math.isclose(engine, hand, rel_tol=1e-9, abs_tol=1e-12)
    return bool(engine == hand)


def full_differences(ev: Evaluation, table: pa.Table, limit: int = 5) -> list[str]:
    """Where the engine's ``Evaluation`` and the full hand query's table differ, field by
    field: every entity's score points, bands and stage; every match's pql, entity, touch
    and each evidence leaf's held flag and value (not the sentences). [] when equal."""
    diffs: list[str] = []

    def differ(what: str, engine: Any, hand: Any) -> None:
        if len(diffs) < limit:
            diffs.append(f"{what}: engine {engine!r}, hand {hand!r}")

    col = {name: table.column(name).to_pylist() for name in table.column_names}
    row: dict[tuple[str, str], int] = {
        (lv, i): n for n, (lv, i) in enumerate(zip(col["level"], col["id"], strict=True))
    }
    levels = (("user", ev.users, ("usage",)), ("account", ev.accounts, ("fit", "engagement")))
    for level, by_id, keys in levels:
        hand_ids = {i for lv, i in row if lv == level}
        if set(by_id) != hand_ids:
            differ(f"{level} ids", len(set(by_id) - hand_ids), len(hand_ids - set(by_id)))
            continue
        for eid, entity in by_id.items():
            n = row[(level, eid)]
            if set(entity.scores) != set(keys):
                differ(f"{level} {eid} scores", sorted(entity.scores), keys)
            for key in keys:
                score = entity.scores.get(key)
                got = (col[key][n], col[f"{key}_band"][n])
                if (
                    score is None
                    or (score.points, score.band) != got
                    or (type(score.points) is not int)
                ):
                    differ(f"{level} {eid} {key}", score, got)
            stage = col["stage"][n] if level == "account" else None
            if entity.stage != stage:
                differ(f"{level} {eid} stage", entity.stage, stage)
    engine_matches = {(m.pql, m.entity_id): m for m in ev.matches}
    for pql, (level, leaves, _, _) in PQLS.items():
        touch = col[f"{pql}__t"]
        hand_hits = {i for (lv, i), n in row.items() if lv == level and touch[n] is not None}
        engine_hits = {e for p, e in engine_matches if p == pql}
        if hand_hits != engine_hits:
            differ(
                f"{pql} matches",
                sorted(engine_hits - hand_hits)[:3],
                sorted(hand_hits - engine_hits)[:3],
            )
        for eid in sorted(hand_hits & engine_hits):
            m, n = engine_matches[(pql, eid)], row[(level, eid)]
            if m.touch != touch[n]:
                differ(f"{pql} {eid} touch", m.touch, touch[n])
            if len(m.evidence) != len(leaves):
                differ(f"{pql} {eid} leaves", len(m.evidence), len(leaves))
                continue
            for i, (leaf, (column, _)) in enumerate(zip(m.evidence, leaves, strict=True)):
                held = col[f"{pql}__h{i}"][n]
                value = col[value_column(level, column)][n]
                if leaf.held is not held:
                    differ(f"{pql} {eid} {leaf.path} held", leaf.held, held)
                if not _same_value(leaf.value, value):
                    differ(f"{pql} {eid} {leaf.path} value", leaf.value, value)
    return diffs


def check_full(ev: Evaluation, table: pa.Table, label: str) -> None:
    """Stop when the engine's result and the full hand query's differ (see
    ``full_differences``)."""
    diffs = full_differences(ev, table)
    if diffs:
        raise AssertionError(f"{label}: engine and the full hand query disagree: {diffs}")


# --------------------------------------------------------------------------- sizes


@dataclass
class SizeResult:
    events: int
    users: int
    accounts: int
    matches: int
    engine: EngineRun
    hand: HandRun
    compile: float = 0.0


def warm_compile(store: Any, cfg: Config) -> float:
    """Compile the plan of both identity shapes before timing (seconds): a process
    compiles once per definitions and reuses it at every as_of (engine/prepared.py)."""
    backend = store.ibis()
    lambdas = engine_mod._prepare(backend)
    t = time.perf_counter()
    for stitched in (True, False):
        prepared_mod.prepare(backend, cfg, stitched=stitched, array_lambdas=lambdas)
    return (time.perf_counter() - t) / 2


def measure_duckdb(n: int, seed: int = 1, repeats: int = 2) -> SizeResult:
    """Best of ``repeats`` for each side, alternating (engine, hand), after a warm-up of
    the hand query; each side runs as often as the other (the hand queries once per run,
    the full one first in one run and last in the next)."""
    cfg = config()
    path = ensure(n, seed)
    store = DuckDBEventStore(path)
    try:
        con = store.raw_connection()
        run_hand(con, store)  # warm the file cache for both sides
        compile_s = warm_compile(store, cfg)
        # As `serve` does once started (cli/serve.py), where evaluations repeat: what is
        # loaded by now (modules, compiled plans) lives as long as the process and is
        # frozen, so the collection charged after evaluate() walks what the evaluation
        # left, not the ~150k objects of the imported libraries (~0.08 s on its own)
        gc.collect()
        gc.freeze()
        best_e: EngineRun | None = None
        best_h: HandRun | None = None
        for i in range(repeats):
            e = run_engine(store, cfg)
            h = run_hand(con, store, full_first=i % 2 == 0)
            check_same(e.result, h.result, f"{n:,} events")
            assert e.evaluation is not None and h.full is not None
            check_full(e.evaluation, h.full, f"{n:,} events")
            e.evaluation = h.full = None  # not held into the next run's peak RSS
            if best_e is None or e.seconds < best_e.seconds:
                best_e = e
            if best_h is None or h.seconds < best_h.seconds:
                best_h = h
        assert best_e is not None and best_h is not None
        return SizeResult(
            n, best_e.users, best_e.accounts, len(best_e.result), best_e, best_h, compile_s
        )
    finally:
        gc.unfreeze()
        store.close()


@contextlib.contextmanager
def _pg_database() -> Iterator[str | None]:
    name = f"bh_bench_eval_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        yield None
        return
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _copy_to_postgres(duck_path: Path, url: str) -> None:
    """The cached DuckDB store's rows into a fresh PostgreSQL store (CSV through COPY)."""
    PostgresEventStore(url).close()  # creates the schema
    # Not read_only: DuckDB refuses a second, differently configured instance of a file
    # that this process still has open (the store just measured on it).
    src = duckdb.connect(str(duck_path))
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            psycopg.connect(url, autocommit=True) as pg,
        ):
            for table in ("trait_rows", "links", "memberships", "events"):
                csv = Path(tmp) / f"{table}.csv"
                src.execute(f"COPY {table} TO '{csv}' (HEADER false)")
                cols = [r[0] for r in src.execute(f"DESCRIBE {table}").fetchall()]
                with (
                    pg.cursor() as cur,
                    cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as copy,
                    csv.open("rb") as f,
                ):
                    while chunk := f.read(1 << 20):
                        copy.write(chunk)
            pg.execute("ANALYZE")
    finally:
        src.close()


def measure_postgres(n: int, seed: int = 1) -> tuple[EngineRun, int] | None:
    cfg = config()
    path = ensure(n, seed)
    with _pg_database() as url:
        if url is None:
            return None
        _copy_to_postgres(path, url)
        store = PostgresEventStore(url)
        try:
            evaluate(store, cfg, AS_OF)  # warm-up (buffers, plans)
            return run_engine(store, cfg), n
        finally:
            store.close()


# --------------------------------------------------------------------------- tables


STEP_ORDER = (
    "resolve",
    "upload",
    "compile",
    "accounts pass",
    "accounts fetch",
    "users pass + fetch",
    "scores",
)


def _identity(e: EngineRun) -> float:
    return e.steps.seconds.get("resolve", 0.0) + e.steps.seconds.get("upload", 0.0)


def _identity_cpu(e: EngineRun) -> float:
    return e.steps.cpu.get("resolve", 0.0) + e.steps.cpu.get("upload", 0.0)


def tables(
    results: list[SizeResult], pg: tuple[EngineRun, int] | None, pg_tried: bool = True
) -> list[BenchTable]:
    """Three tables: engine vs hand SQL, the engine's steps, and the sizes' shapes."""
    main = BenchTable(
        "evaluate: 24 definitions, engine vs one hand-written query (seconds)",
        [
            "backend",
            "events",
            "engine",
            "compile",
            "identity",
            "engine-id",
            "hand full",
            "ratio",
            "full ratio",
            "matches only",
            "ratio vs matches only",
            "engine-id CPU",
            "hand CPU",
            "CPU ratio",
            "CPU s / 1M ev",
            "RSS MB",
        ],
    )
    steps = BenchTable(
        "evaluate: where the engine's time goes (seconds, wall and CPU)",
        ["backend", "events", "clock", *STEP_ORDER, "predicates + evidence", "other"],
    )
    sizes = BenchTable(
        "evaluate: data and results",
        ["backend", "events", "users", "accounts", "matches", "events/s", "hand full RSS MB"],
    )
    for r in results:
        e, h = r.engine, r.hand
        compute = e.seconds - _identity(e)
        cpu_compute = max(e.cpu - _identity_cpu(e), 1e-9)
        main.add(
            "duckdb",
            r.events,
            e.seconds,
            r.compile,
            _identity(e),
            compute,
            h.seconds,
            f"{compute / h.seconds:.2f}x",
            f"{e.seconds / (h.seconds + _identity(e)):.2f}x",
            h.matches_seconds,
            f"{compute / h.matches_seconds:.2f}x",
            cpu_compute,
            h.cpu,
            f"{cpu_compute / h.cpu:.2f}x",
            e.cpu / (r.events / 1e6),
            e.peak_mb,
        )
        steps.add("duckdb", r.events, "wall", *_step_cells(e.steps.seconds, e.seconds))
        steps.add("duckdb", r.events, "CPU", *_step_cells(e.steps.cpu, e.cpu))
        sizes.add(
            "duckdb", r.events, r.users, r.accounts, r.matches, r.events / e.seconds, h.peak_mb
        )
    if pg is not None:
        e, n = pg
        main.add(
            "postgres",
            n,
            e.seconds,
            "-",
            _identity(e),
            e.seconds - _identity(e),
            "-",
            "-",
            "-",
            "-",
            "-",
            max(e.cpu - _identity_cpu(e), 0.0),
            "-",
            "-",
            e.cpu / (n / 1e6),
            e.peak_mb,
        )
        steps.add("postgres", n, "wall", *_step_cells(e.steps.seconds, e.seconds))
        steps.add("postgres", n, "CPU", *_step_cells(e.steps.cpu, e.cpu))
        sizes.add("postgres", n, e.users, e.accounts, len(e.result), n / e.seconds, "-")
    main.notes += [
        "engine = evaluate() end to end and one gc.collect() after it (evaluate() pauses the"
        " cyclic collector); identity = resolve (Python) + upload (Arrow temp tables); the"
        " process's start-up heap is frozen first (gc.freeze(), as serve does)",
        "ratio = (engine - identity) / hand full, both over the same uploaded identity tables;"
        " full ratio = engine end to end / (hand full + the engine's identity time: the"
        " same code, measured once, so heap noise on the hand side's own resolve does not"
        " enter);"
        " hand CPU is the full query's"
        " CPU: process CPU time, all threads (PostgreSQL's own CPU not included)",
        "compile = Ibis building and compiling the SQL (engine/prepared.py), once per process"
        " and definitions: done before the timed runs (not in engine; on PostgreSQL in the"
        " untimed warm-up run)",
        "hand full = ONE query fetched to Arrow: a row per user and account with its score"
        " points and bands (usage; fit, engagement) and stage, per PQL its touch (NULL: no"
        " match) and every leaf's held flag, and the value behind every leaf (count, sum,"
        " average, max, days, first/last time, trait, points, band); checked equal to the"
        " engine's Evaluation field by field (times as the engine's ISO text, sums and"
        " averages to 1e-9). Not in it: the evidence sentences, the paths and the Python"
        " objects (Python string formatting and allocation, which only the engine does)",
        "matches only = the previous reference query: (pql, entity, touch) of every match"
        " and nothing else, fetched to Arrow, checked equal to the engine's matches",
        "best of 2 runs per side at every size, alternating engine and hand; the hand side's"
        " run times each query once, the full one first in the first run and last in the"
        " second (so each side is timed as often as the other);"
        " RSS = peak (VmHWM, reset per run; the hand side's: identity and its two queries)",
        f"load average at the end: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs",
    ]
    if pg is None and pg_tried:
        main.notes.append("PostgreSQL not reachable: no postgres row")
    return [main, steps, sizes]


def _step_cells(by_step: dict[str, float], total: float) -> list[float]:
    known = [by_step.get(k, 0.0) for k in STEP_ORDER] + [by_step.get("predicates + evidence", 0.0)]
    return [*known, max(0.0, total - sum(known))]


def run(
    quick: bool = False, sizes: tuple[int, ...] | None = None, postgres: bool = True
) -> list[BenchTable]:
    """Every size on DuckDB, then PostgreSQL at the smallest (``sizes`` to pick some)."""
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    results = []
    for n in sizes:
        results.append(measure_duckdb(n, repeats=2))
        r = results[-1]
        print(
            f"evaluate {n:,}: engine {r.engine.seconds:.1f}s (cpu {r.engine.cpu:.1f}), "
            f"hand full {r.hand.seconds:.2f}s (cpu {r.hand.cpu:.2f}), matches only"
            f" {r.hand.matches_seconds:.2f}s, steps {r.engine.steps.seconds}"
            f" cpu {r.engine.steps.cpu}",
            file=sys.stderr,
            flush=True,
        )
    pg = measure_postgres(sizes[0]) if postgres else None
    return tables(results, pg, postgres)


def describe(n: int) -> str:
    s = shape(n)
    return f"{s.events:,} events, {s.users:,} users, {s.accounts:,} accounts"
