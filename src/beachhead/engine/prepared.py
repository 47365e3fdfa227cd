"""A compiled evaluation: the SQL built once by Ibis, then run at any ``as_of``.

``compile_plan(config, backend, stitched=..., events_schema=...)`` builds the Ibis
expressions of an evaluation over *unbound* tables and compiles them to SQL once:

- ``accounts_sql``: the account level's wide table (features, member metrics, scores,
  stage), materialised as a temporary table (the user level reads it);
- ``accounts_fetch`` / ``users_fetch``: ONE query per level that returns every entity's
  score points, bands (and the stage) and, for every distinct leaf of the level's PQLs and
  touch rules, ``l<k>`` (held), ``v<k>`` (the value seen) and ``p<k>`` (a band leaf's
  points). A PQL's match and touch are its condition evaluated over the held columns with
  Arrow compute (``holds``), so no condition is repeated in the SQL. The users' wide table
  is computed inside ``users_fetch`` (not materialised).

``as_of`` is ONE parameter in that SQL: every bound is ``as_of - INTERVAL ...`` in SQL
(``values.Ctx.ts_before``), never a literal computed in Python, and the table names
(events, the uploaded identity tables, the accounts table) are placeholders. A run only
substitutes them and executes on the backend's raw connection (DuckDB's ``con.con``,
psycopg for PostgreSQL): no Ibis compile per run. ``prepare(...)`` caches compiled plans
per process, keyed by everything that changes the SQL's shape: the config (its JSON dump,
paths included, because evidence names them), the backend, whether ids are stitched
(the activity goes through the map), whether array lambdas work, and the events schema.

Use::

    plan = prepare(con, config, stitched=up.stitched > 0)
    result = plan.run(con, as_of, up, snapshot, events="events")

``run`` accepts any table with the events schema as ``events`` (a pre-filtered subset,
as ``engine/incremental.py`` evaluates) and any ``Uploaded`` identity tables.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from beachhead.engine.conditions import Scope, band_column, score_column
from beachhead.engine.isotime import micros
from beachhead.engine.jsonpath import dialect
from beachhead.engine.snapshot import Uploaded, duckdb_arrow, upload
from beachhead.engine.values import Ctx
from beachhead.ingest.identity import Snapshot
from beachhead.ingest.message import ACTIVITY_TYPES
from beachhead.rules.durations import to_utc
from beachhead.rules.explain import ago, sentence
from beachhead.rules.memo import Bounded, ByObject
from beachhead.rules.model import (
    Aggregate,
    AllCond,
    AnyCond,
    Condition,
    Config,
    EventCond,
    Leaf,
    Level,
    NoneCond,
    Pql,
    ScoreCond,
    TraitCond,
    iter_leaves,
)
from beachhead.rules.plan import Plan, plan
from beachhead.rules.result import EntityEval, Evaluation, LeafEvidence, Match, ScoreValue

# A time no data has: its rendering in the compiled SQL is replaced by a placeholder.
SENTINEL_AS_OF = datetime(2999, 1, 2, 3, 4, 5, 678901)
SENTINEL_US = micros(SENTINEL_AS_OF)
AS_OF_TS = "{{bh:as_of}}"
AS_OF_US = "{{bh:as_of_us}}"
# Unbound table names in the compiled SQL, replaced by the real ones at run time.
T_EVENTS = "bhq__events"
T_MAP = "bhq__map"
T_MEMBERS = "bhq__members"
T_USERS = "bhq__users"
T_ACCOUNTS = "bhq__accounts"
T_LEVEL = "bhq__level_accounts"  # the materialised account level

_STR = dt.String(nullable=True)
SNAPSHOT_SCHEMAS: dict[str, dict[str, dt.DataType]] = {
    T_MAP: {"raw_id": _STR, "map_user": _STR},
    T_MEMBERS: {"m_account": _STR, "m_user": _STR},
    T_USERS: {"user_id": _STR, "u_traits": _STR, "primary_account": _STR},
    T_ACCOUNTS: {"account_id": _STR, "a_traits": _STR},
}


def sql_string(text: str) -> str:
    """``text`` as a standard SQL string literal (quotes doubled; DuckDB and PostgreSQL,
    whose ``standard_conforming_strings`` is on, read backslashes as themselves)."""
    return "'" + text.replace("'", "''") + "'"


# The activity message types as a SQL list, for the step queries' ``type IN (...)``.
ACTIVITY_SQL = ", ".join(sql_string(t) for t in sorted(ACTIVITY_TYPES))
RAW_ID = "COALESCE(user_id, anonymous_id)"  # SQL: an events row's raw id


def ts_sql(as_of: datetime) -> str:
    text = to_utc(as_of).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"CAST('{text}' AS TIMESTAMP)"


def _sentinel_text(dialect: str) -> str:
    """How ``dialect`` writes the sentinel timestamp literal (probed, not assumed)."""
    probe = ibis.table({"x": "int64"}, name="bhq__probe")
    sql = str(
        ibis.to_sql(probe.select(z=ibis.literal(SENTINEL_AS_OF, type="timestamp")), dialect=dialect)
    )
    m = re.search(r"SELECT\s+(.*?)\s+AS\s+\"z\"", sql, re.S)
    if m is None:  # pragma: no cover - a dialect that renders a literal differently
        raise RuntimeError(f"cannot find the as_of literal in {sql!r}")
    return m.group(1)


def _templated(expr: ir.Table, dialect: str) -> str:
    sql = str(ibis.to_sql(expr, dialect=dialect))
    sql = sql.replace(_sentinel_text(dialect), AS_OF_TS)
    sql = re.sub(rf"(?<![0-9.]){SENTINEL_US}(?![0-9.])", AS_OF_US, sql)
    if "2999-01-02" in sql or "2999, 1, 2" in sql:  # pragma: no cover - not replaced
        raise RuntimeError("the compiled SQL holds an as_of literal that was not parameterised")
    return sql


# --------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class LevelColumns:
    """Where one level's results are in its fetch query.

    Every distinct leaf of the level's PQLs and touch rules (``Leaf`` equality: the same
    comparison of the same thing) is ONE set of columns: ``l<k>`` (held), ``v<k>`` (the
    value seen), ``p<k>`` (a band leaf's points). A PQL's match and touch are its
    condition evaluated over those columns (Arrow compute), so no condition is repeated
    in the SQL."""

    level: Level
    id_col: str
    score_keys: tuple[str, ...]
    with_stage: bool
    pqls: tuple[tuple[int, Pql], ...]  # (index in config.pqls, pql)
    leaves: tuple[Leaf, ...]  # column k is leaves[k]

    def column_of(self, leaf: Leaf) -> int:
        return self._index()[leaf]

    def _index(self) -> dict[Leaf, int]:
        idx: dict[Leaf, int] | None = self.__dict__.get("_idx")
        if idx is None:
            idx = {leaf: k for k, leaf in enumerate(self.leaves)}
            object.__setattr__(self, "_idx", idx)
        return idx


@dataclass(frozen=True)
class PreparedEvaluation:
    """An evaluation compiled once (see the module docstring); ``run`` it at any as_of."""

    config: Config
    plan: Plan
    backend: str
    stitched: bool
    accounts_sql: str
    accounts_fetch: str
    users_fetch: str
    accounts: LevelColumns
    users: LevelColumns
    accounts_schema: pa.Schema  # of the fetch queries' rows (PostgreSQL rows are typed by it)
    users_schema: pa.Schema

    def sql(self, template: str, as_of: datetime, names: Mapping[str, str]) -> str:
        """A template with ``as_of`` and the table names substituted."""
        out = template.replace(AS_OF_TS, ts_sql(as_of)).replace(AS_OF_US, str(micros(as_of)))
        for placeholder, name in names.items():
            out = out.replace(f'"{placeholder}"', _quote(name))
        return out

    def run(
        self,
        con: ibis.BaseBackend,
        as_of: datetime,
        up: Uploaded,
        snapshot: Snapshot,
        *,
        events: str = "events",
    ) -> Evaluation:
        """Every score, stage and PQL at ``as_of`` over ``events`` and the uploaded identity.

        ``up`` must have the shape this plan was compiled for (``stitched``)."""
        if (up.stitched > 0) is not self.stitched:
            raise ValueError("identity tables do not have the shape this plan was compiled for")
        cutoff = to_utc(as_of)
        level_name = f"bh_{uuid.uuid4().hex[:10]}_level_accounts"
        names = snapshot_names(up)
        names[T_EVENTS] = events
        names[T_LEVEL] = level_name
        result = Evaluation(as_of=cutoff)
        materialize(con, level_name, self.sql(self.accounts_sql, cutoff, names))
        try:
            acc = fetch(con, self.sql(self.accounts_fetch, cutoff, names), self.accounts_schema)
            usr = fetch(con, self.sql(self.users_fetch, cutoff, names), self.users_schema)
        finally:
            drop(con, level_name)
        # in id order once: entities and every PQL's matches come out sorted by entity
        acc, usr = in_id_order(acc, self.accounts.id_col), in_id_order(usr, self.users.id_col)
        result.accounts = entities(acc, self.accounts, self.config)
        result.users = entities(usr, self.users, self.config)
        ev = Evidence(self.config, snapshot, cutoff)
        for cols, table in ((self.accounts, acc), (self.users, usr)):
            for j, pql in cols.pqls:
                result.matches.extend(matches(table, cols, j, pql, snapshot, ev))
        result.sort()
        return result


def upload_shaped(con: ibis.BaseBackend, snap: Snapshot, stitched: bool) -> Uploaded:
    """``snap`` uploaded for a plan compiled with ``stitched``: a cut-down snapshot whose
    map came out empty still runs the stitched plan (an empty map stitches nobody, as the
    cut says; the other shape would need a compile)."""
    up = upload(con, snap)
    if stitched and up.stitched == 0:
        up.stitched = 1
    return up


def snapshot_names(up: Uploaded) -> dict[str, str]:
    """The plan's identity-table placeholders -> the names ``up`` uploaded them under."""
    return dict(zip((T_MAP, T_MEMBERS, T_USERS, T_ACCOUNTS), up.names, strict=True))


# Columns every copy of the events keeps (its filter and the guest lookup read them).
KEY_COLUMNS = ("seq", "type", "user_id", "anonymous_id", "context_group_id", "ts")


def columns_read(sql_text: str, columns: Iterable[str]) -> list[str]:
    """The events ``columns`` that ``sql_text`` can read (a quoted name appears in it),
    beside ``KEY_COLUMNS``. A superset: a column whose name is also an alias in the SQL is
    kept. The plan's aliases avoid the wide columns' names (``features.activity`` names
    the raw id ``who``, not ``raw``, the stored message); a test checks ``raw``,
    ``traits`` and ``message_id`` stay out for the shipped template."""
    return [c for c in columns if c in KEY_COLUMNS or re.search(rf'"{re.escape(c)}"', sql_text)]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unbound_snapshot(stitched: bool) -> Uploaded:
    tables = {k: ibis.table(sch.Schema(v), name=k) for k, v in SNAPSHOT_SCHEMAS.items()}
    return Uploaded(
        con=None,  # never dropped: nothing was uploaded
        names=(),
        map=tables[T_MAP],
        stitched=1 if stitched else 0,
        members=tables[T_MEMBERS],
        users=tables[T_USERS],
        accounts=tables[T_ACCOUNTS],
    )


def _level_select(
    table: ir.Table, cols: LevelColumns, config: Config, p: Plan, ctx: Ctx
) -> ir.Table:
    """Every entity's scores (and stage), and every distinct leaf's held/value columns."""
    from beachhead.engine.evaluate import _value_column

    out: dict[str, ir.Value] = {cols.id_col: table[cols.id_col]}
    for key in cols.score_keys:
        out[score_column(config, key)] = table[score_column(config, key)]
        if config.score(key).bands is not None:
            out[band_column(config, key)] = table[band_column(config, key)]
    if cols.with_stage:
        out["stage"] = table["stage"]
    scope = Scope(cols.level, table, p, config, ctx)
    for k, leaf in enumerate(cols.leaves):
        out[f"l{k}"] = scope.leaf(leaf)
        value = _value_column(scope, leaf)
        if value is not None:
            out[f"v{k}"] = value
        if isinstance(leaf, ScoreCond) and leaf.on_band:
            pts = _value_column(scope, leaf.model_copy(update={"on_band": False}))
            assert pts is not None
            out[f"p{k}"] = pts
    return table.select(**out)


def _level_leaves(pqls: Sequence[Pql]) -> tuple[Leaf, ...]:
    seen: dict[Leaf, None] = {}
    for pql in pqls:
        for leaf in iter_leaves(pql.when):
            seen.setdefault(leaf, None)
        for rule in pql.touch:
            for leaf in iter_leaves(rule.when):
                seen.setdefault(leaf, None)
    return tuple(seen)


def sentinel_ctx(backend: str, array_lambdas: bool) -> Ctx:
    """The compile-time context: ``as_of`` is the sentinel, written in the SQL as the
    literal ``_templated`` turns into the placeholder."""
    return Ctx(
        as_of=SENTINEL_AS_OF.replace(tzinfo=UTC),
        backend=backend,
        array_lambdas=array_lambdas,
        as_of_sql=ibis.literal(SENTINEL_AS_OF, type="timestamp"),
        as_of_us_sql=ibis.literal(SENTINEL_US, type="int64"),
    )


def compile_plan(
    config: Config,
    backend: str,
    *,
    stitched: bool,
    events_schema: sch.Schema,
    array_lambdas: bool = True,
) -> PreparedEvaluation:
    """``_compile_plan`` with its JSON steps written for ``backend`` (``engine/jsonpath.py``)."""
    with dialect(backend):
        return _compile_plan(
            config,
            backend,
            stitched=stitched,
            events_schema=events_schema,
            array_lambdas=array_lambdas,
        )


def _compile_plan(
    config: Config,
    backend: str,
    *,
    stitched: bool,
    events_schema: sch.Schema,
    array_lambdas: bool = True,
) -> PreparedEvaluation:
    """Build and compile the evaluation's SQL once (see the module docstring)."""
    from beachhead.engine.evaluate import _account_table, _user_table

    p = plan(config)
    ctx = sentinel_ctx(backend, array_lambdas)
    snap = _unbound_snapshot(stitched)
    events = ibis.table(events_schema, name=T_EVENTS)
    acc_expr = _account_table(events, snap, config, p, ctx)
    acc_table = ibis.table(acc_expr.schema(), name=T_LEVEL)
    usr_expr = _user_table(events, snap, acc_table, config, p, ctx)

    def cols(level: Level, id_col: str) -> LevelColumns:
        pqls = tuple((j, q) for j, q in enumerate(config.pqls) if q.level is level)
        return LevelColumns(
            level,
            id_col,
            tuple(k for k, s in config.scores.items() if s.level is level),
            level is Level.ACCOUNT,
            pqls,
            _level_leaves([q for _, q in pqls]),
        )

    acc_cols, usr_cols = cols(Level.ACCOUNT, "account_id"), cols(Level.USER, "user_id")
    acc_fetch = _level_select(acc_table, acc_cols, config, p, ctx)
    usr_fetch = _level_select(usr_expr, usr_cols, config, p, ctx)
    return PreparedEvaluation(
        config=config,
        plan=p,
        backend=backend,
        stitched=stitched,
        accounts_sql=_templated(acc_expr, backend),
        accounts_fetch=_templated(acc_fetch, backend),
        users_fetch=_templated(usr_fetch, backend),
        accounts=acc_cols,
        users=usr_cols,
        accounts_schema=acc_fetch.schema().to_pyarrow(),
        users_schema=usr_fetch.schema().to_pyarrow(),
    )


_CACHE: Bounded[PreparedEvaluation] = Bounded(32)
_FINGERPRINTS: ByObject[str] = ByObject(64)


def config_fingerprint(config: Config) -> str:
    """The config's identity for caching (its JSON, paths included; kept per object)."""
    return _FINGERPRINTS.get_or_make(
        config, lambda: hashlib.sha256(config.model_dump_json().encode()).hexdigest()
    )


def prepare(
    con: ibis.BaseBackend,
    config: Config,
    *,
    stitched: bool,
    events: str = "events",
    array_lambdas: bool = True,
) -> PreparedEvaluation:
    """The compiled plan for ``config`` on ``con``'s backend, from the per-process cache."""
    schema = con.table(events).schema()
    key = (config_fingerprint(config), con.name, stitched, array_lambdas, tuple(schema.items()))
    return _CACHE.get_or_make(
        key,
        lambda: compile_plan(
            config, con.name, stitched=stitched, events_schema=schema, array_lambdas=array_lambdas
        ),
    )


# --------------------------------------------------------------------------- running


def materialize(con: ibis.BaseBackend, name: str, select_sql: str) -> None:
    """``CREATE TEMP TABLE name AS select_sql`` on the raw connection."""
    _execute(con, f"CREATE TEMP TABLE {_quote(name)} AS {select_sql}")


def drop(con: ibis.BaseBackend, name: str) -> None:
    with contextlib.suppress(Exception):
        _execute(con, f"DROP TABLE IF EXISTS {_quote(name)}")


def _execute(con: ibis.BaseBackend, sql: str) -> None:
    raw: Any = con.con
    if con.name == "duckdb":
        raw.execute(sql)
        return
    with raw.cursor() as cur:
        cur.execute(sql)


def _typed(values: list[Any], type_: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # NUMERIC arrives as Decimal
        return pa.array([float(v) if isinstance(v, Decimal) else v for v in values], type_)


def fetch(con: ibis.BaseBackend, sql: str, schema: pa.Schema) -> pa.Table:
    """The rows of ``sql`` as an Arrow table (DuckDB natively; PostgreSQL by columns,
    typed by ``schema``: the compiled expression's)."""
    raw: Any = con.con
    if con.name == "duckdb":
        table = duckdb_arrow(raw, sql)
        # DuckDB's own types (DECIMAL for float literals' sums, HUGEINT sums) -> the
        # expression's, as Ibis' to_pyarrow gives them
        return table if table.schema.equals(schema) else table.cast(schema)
    with raw.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table(
        {n: _typed(list(c), schema.field(n).type) for n, c in zip(names, columns, strict=True)}
    )


def _column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


def in_id_order(table: pa.Table, id_col: str) -> pa.Table:
    """``table`` sorted by its id column (Arrow's UTF-8 byte order is Python's ``str``
    order); returned as is when it already is (one vectorised comparison)."""
    ids = table.column(id_col)
    n = len(ids)
    if n < 2 or pc.all(pc.less(ids.slice(0, n - 1), ids.slice(1))).as_py():
        return table
    return table.take(pc.sort_indices(ids))


def _int_scores(config: Config) -> dict[str, bool]:
    return {k: all(isinstance(r.points, int) for r in s.rules) for k, s in config.scores.items()}


def points(is_int: bool, value: Any) -> float:
    if value is None:  # pragma: no cover - a score is never NULL
        return 0
    if is_int and float(value).is_integer():
        return int(value)
    return float(value)


def _score_values(table: pa.Table, config: Config, key: str, is_int: bool) -> list[ScoreValue]:
    """One score's ``ScoreValue`` per row; few distinct (points, band) pairs, so one
    immutable ScoreValue each (a float zero is not shared, so -0.0 stays itself)."""
    pts = _column(table, score_column(config, key))
    if config.score(key).bands:
        bands: Sequence[Any] = _column(table, band_column(config, key))
    else:
        bands = [None] * len(pts)
    shared: dict[tuple[Any, Any], ScoreValue] = {}
    out: list[ScoreValue] = []
    append = out.append
    for raw, band in zip(pts, bands, strict=True):
        value = shared.get((raw, band))
        if value is None:
            value = ScoreValue(points(is_int, raw), band)
            if not (raw.__class__ is float and raw == 0.0):
                shared[(raw, band)] = value
        append(value)
    return out


def entities(table: pa.Table, cols: LevelColumns, config: Config) -> dict[str, EntityEval]:
    """Every entity of a level, by id (sorted), with its scores and stage."""
    table = in_id_order(table, cols.id_col)
    ids = _column(table, cols.id_col)
    ints = _int_scores(config)
    keys = cols.score_keys
    values = [_score_values(table, config, k, ints[k]) for k in keys]
    scores: list[dict[str, ScoreValue]]
    if len(keys) == 1:
        (k0,), (v0,) = keys, values
        scores = [{k0: a} for a in v0]
    elif len(keys) == 2:
        (k0, k1), (v0, v1) = keys, values
        scores = [{k0: a, k1: b} for a, b in zip(v0, v1, strict=True)]
    else:
        scores = [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]
        if not keys:
            scores = [{} for _ in ids]
    if cols.with_stage:
        stages = _column(table, "stage")
        return {i: EntityEval(i, s, st) for i, s, st in zip(ids, scores, stages, strict=True)}
    return {i: EntityEval(i, s) for i, s in zip(ids, scores, strict=True)}


def _lookup(obj: Mapping[str, Any] | None, keys: Sequence[str]) -> Any:
    cur: Any = obj
    for key in keys:
        if not isinstance(cur, Mapping) or key not in cur:
            return None
        cur = cur[key]
    return cur


def _iso(value: datetime) -> str:
    return to_utc(value).isoformat().replace("+00:00", "Z")


def _memo_key(value: Any) -> tuple[Any, ...] | None:
    """A key under which equal values give the same sentence (None: do not memoise).

    The type takes part (``1``, ``1.0`` and ``True`` are equal in Python, printed apart);
    containers (JSON lists/objects) are not memoised."""
    if isinstance(value, float) and value == 0.0:  # 0.0 and -0.0 are equal, shown apart
        return (float, value, math.copysign(1.0, value))
    if value is None or isinstance(value, str | int | float | datetime):
        return (type(value), value)
    if isinstance(value, ScoreValue):
        return (ScoreValue, type(value.points), value.points, value.band)
    return None


_SEEN = (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)


class Evidence:
    """``LeafEvidence`` for fetched leaf columns, with sentences memoised per run."""

    def __init__(self, config: Config, snap: Snapshot, as_of: datetime) -> None:
        self.config = config
        self.snap = snap
        self.as_of = as_of
        self.ints = _int_scores(config)
        self._memo: dict[tuple[Any, ...], str] = {}
        self._evidence: dict[tuple[Any, ...], LeafEvidence] = {}

    def sentence(self, li: tuple[int, int], leaf: Leaf, said: Any, held: bool) -> str:
        if said.__class__ is datetime and isinstance(leaf, EventCond) and leaf.aggregate in _SEEN:
            # a first/last seen time: its sentence reads the time only as "N days ago"
            # (rules/explain.py), so times that read alike share one sentence
            full: tuple[Any, ...] = (li, held, "ago", ago(said, self.as_of))
        else:
            key = _memo_key(said)
            if key is None:
                return sentence(leaf, said, held, self.as_of)
            full = (li, held, *key)
        got = self._memo.get(full)
        if got is None:
            got = self._memo[full] = sentence(leaf, said, held, self.as_of)
        return got

    def trait(self, leaf: TraitCond, level: Level, entity: str, account: str | None) -> Any:
        """The value a trait leaf shows for an entity (from the snapshot's traits)."""
        if leaf.trait.scope is Level.USER:
            traits = self.snap.users.get(entity) if level is Level.USER else None
        else:
            traits = self.snap.accounts.get(account) if account is not None else None
        return _lookup(traits, leaf.trait.keys)

    def traits(
        self,
        leaf: TraitCond,
        level: Level,
        entities_: Sequence[str],
        accounts: Sequence[str | None],
    ) -> list[Any]:
        """``trait`` for many entities of ``level`` (their primary ``accounts`` beside)."""
        ids: Sequence[str | None] = accounts
        source = self.snap.accounts
        if leaf.trait.scope is Level.USER:
            if level is not Level.USER:
                return [None] * len(entities_)
            source, ids = self.snap.users, entities_
        keys = leaf.trait.keys
        get = source.get
        if len(keys) != 1:
            return [_lookup(get(i) if i is not None else None, keys) for i in ids]
        (key,) = keys
        out: list[Any] = []
        append = out.append
        for i in ids:
            traits = get(i) if i is not None else None
            if traits.__class__ is dict:  # the snapshot's own (JSON) traits
                append(traits.get(key))
            else:
                append(_lookup(traits, keys))
        return out

    def leaf(
        self,
        li: tuple[int, int],
        leaf: Leaf,
        held: bool,
        fetched: Any,
        pts: Any,
        level: Level,
        entity: str,
        account: str | None,
    ) -> LeafEvidence:
        if isinstance(leaf, TraitCond):
            fetched = self.trait(leaf, level, entity, account)
        return self.seen(li, leaf, held, fetched, pts)

    def seen(
        self, li: tuple[int, int], leaf: Leaf, held: Any, fetched: Any, pts: Any
    ) -> LeafEvidence:
        """The evidence of leaf ``li`` that held (or not) with value ``fetched`` (a trait's
        value already looked up; ``pts``: a band leaf's points)."""
        shown: Any
        said: Any
        held = bool(held)
        # the same leaf seen with the same value gives the same (immutable) evidence
        kf, kp = _memo_key(fetched), _memo_key(pts)
        key = None if kf is None or kp is None else (li, held, *kf, *kp)
        if key is not None:
            got = self._evidence.get(key)
            if got is not None:
                return got
        if isinstance(leaf, TraitCond):
            shown = said = fetched
        elif isinstance(leaf, ScoreCond) and not leaf.on_band:
            shown = said = None if fetched is None else points(self.ints[leaf.score], fetched)
        elif isinstance(leaf, ScoreCond):  # a band: explain shows points and band
            shown = fetched
            said = (
                None if fetched is None else ScoreValue(points(self.ints[leaf.score], pts), fetched)
            )
        elif isinstance(fetched, datetime):
            said = fetched.replace(tzinfo=UTC)
            shown = _iso(said)
        else:
            shown = said = fetched
        out = LeafEvidence(leaf.path, held, shown, self.sentence(li, leaf, said, held))
        if key is not None:
            self._evidence[key] = out
        return out


def holds(table: pa.Table, cols: LevelColumns, cond: Condition) -> pa.ChunkedArray | pa.Array:
    """``cond`` per row of ``table``, from its leaves' held columns (never NULL)."""
    if isinstance(cond, AllCond | AnyCond | NoneCond):
        if not cond.items:
            const = not isinstance(cond, AnyCond)  # all: [] and none: [] hold, any: [] not
            return pa.array([const] * table.num_rows, pa.bool_())
        parts = [holds(table, cols, c) for c in cond.items]
        out = parts[0]
        for part in parts[1:]:
            out = pc.and_(out, part) if isinstance(cond, AllCond) else pc.or_(out, part)
        return pc.invert(out) if isinstance(cond, NoneCond) else out
    return pc.fill_null(table.column(f"l{cols.column_of(cond)}"), False)


_TOUCHES = ("none", "low", "high")


def _touches(table: pa.Table, rows: pa.Array, cols: LevelColumns, pql: Pql) -> list[str]:
    """The touch of each of ``rows`` of ``table``: the first rule that holds, else high."""
    code = {t: pa.scalar(n, pa.int8()) for n, t in enumerate(_TOUCHES)}
    out: Any = pa.nulls(table.num_rows, pa.int8())
    for rule in reversed(pql.touch):  # an earlier rule overrides a later one
        if rule.when is None:
            out = pa.array([code[str(rule.level)].as_py()] * table.num_rows, pa.int8())
        else:
            out = pc.if_else(holds(table, cols, rule.when), code[str(rule.level)], out)
    codes = pc.fill_null(pc.take(out, rows), code["high"]).to_pylist()
    return [_TOUCHES[c] for c in codes]


def _shareable(value: Any) -> bool:
    """Whether rows with an equal ``value`` may share evidence (not a float zero: -0.0
    and 0.0 are equal and hash alike, but read apart)."""
    return not (value.__class__ is float and value == 0.0)


def matches(
    table: pa.Table, cols: LevelColumns, j: int, pql: Pql, snap: Snapshot, ev: Evidence
) -> list[Match]:
    """The matches of PQL ``j`` from its level's fetched columns, by entity."""
    table = in_id_order(table, cols.id_col)
    rows = pc.indices_nonzero(holds(table, cols, pql.when))
    n = len(rows)
    if n == 0:
        return []
    names = set(table.column_names)
    none = [None] * n

    def col(name: str) -> list[Any]:
        return table.column(name).take(rows).to_pylist() if name in names else none

    entities_ = col(cols.id_col)
    accounts = entities_ if pql.level is Level.ACCOUNT else [snap.primary.get(e) for e in entities_]
    columns = []
    for i, leaf in enumerate(iter_leaves(pql.when)):
        k = cols.column_of(leaf)
        if isinstance(leaf, TraitCond):  # the value comes from the entity's traits
            values = ev.traits(leaf, pql.level, entities_, accounts)
        else:
            values = col(f"v{k}")
        columns.append(_evidence_column(ev, (j, i), leaf, col(f"l{k}"), values, col(f"p{k}")))
    touch = _touches(table, rows, cols, pql)
    evidence = [list(r) for r in zip(*columns, strict=True)] if columns else [[] for _ in none]
    key, level, priority = pql.key, str(pql.level), pql.priority
    return [
        Match(key, level, e, a, priority, t, evs)
        for e, a, t, evs in zip(entities_, accounts, touch, evidence, strict=True)
    ]


def _evidence_column(
    ev: Evidence,
    li: tuple[int, int],
    leaf: Leaf,
    held: list[Any],
    values: list[Any],
    pts: list[Any],
) -> list[LeafEvidence]:
    """One leaf's evidence for every row: rows with the same (held, value, points) share
    one (immutable) ``LeafEvidence``."""
    seen: dict[tuple[Any, ...], LeafEvidence] = {}
    out: list[LeafEvidence] = []
    append = out.append
    for h, v, p in zip(held, values, pts, strict=True):
        key = (h, v.__class__, v, p.__class__, p)
        try:
            got = seen.get(key)
        except TypeError:  # a JSON list or object (a trait's value): not hashable
            append(ev.seen(li, leaf, h, v, p))
            continue
        if got is None:
            got = ev.seen(li, leaf, h, v, p)
            if _shareable(v) and _shareable(p):
                seen[key] = got
        append(got)
    return out


__all__ = ["PreparedEvaluation", "compile_plan", "config_fingerprint", "prepare"]
