"""``evaluate(store_or_backend, config, as_of)``: every score, stage and PQL, in the database.

The steps:

1. identity at ``as_of`` (``ingest/identity.resolve``), uploaded as temporary tables;
2. a compiled plan (``engine/prepared.py``: ``prepare(con, config, stitched=...)``, built by
   Ibis once per process and definitions, ``as_of`` one parameter of its SQL), run at
   ``as_of``: the account level (its features in one pass over the attributed activity,
   member metrics, account scores in dependency order, the stage) materialised as a
   temporary table; then ONE query per level that returns every entity's scores, bands,
   stage and every distinct PQL leaf's held/value columns (the user level, with the
   primary account's columns joined in with the ``a__`` prefix, is computed inside it);
3. PQL match and touch from the held columns (Arrow compute), evidence in Python with its
   sentences memoised (``rules/result.py``).

The Ibis builders below (``_account_table``, ``_user_table``, ``_touch_expr``,
``_value_column``) are what the compiled plan is made of; ``engine.prepared`` runs it
(``PreparedEvaluation.run(con, as_of, up, snapshot, events=...)`` takes any events
table, e.g. a pre-filtered subset). The per-run Ibis path the plan is checked against
(compiled at each ``as_of``, literal bounds) lives with its test,
``tests/unit/engine/engine_per_run_path.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from beachhead.engine.conditions import ACCOUNT_PREFIX, Scope, band_column, score_column
from beachhead.engine.errors import Unsupported
from beachhead.engine.features import compute, distinct_key, fill_zero, is_stream_metric, json_path
from beachhead.engine.gcpause import paused_gc
from beachhead.engine.prepared import prepare
from beachhead.engine.snapshot import Uploaded, resolve_from_tables, upload
from beachhead.engine.values import Ctx, from_json
from beachhead.ingest.identity import Snapshot
from beachhead.rules.durations import to_utc
from beachhead.rules.model import (
    DECIMAL_DIGITS,
    Config,
    EventCond,
    Leaf,
    Level,
    Metric,
    MetricCond,
    Pql,
    ScoreCond,
    TraitCond,
)
from beachhead.rules.plan import Feature, FeatureKind, Plan
from beachhead.rules.result import Evaluation

SUPPORTED_BACKENDS = frozenset({"duckdb", "postgres"})


def _backend_of(store_or_backend: Any) -> tuple[ibis.BaseBackend, Any]:
    """The Ibis backend of an ``EventStore`` (and the store), or the backend itself."""
    if isinstance(store_or_backend, ibis.BaseBackend):
        return store_or_backend, None
    return store_or_backend.ibis(), store_or_backend


def _prepare(con: ibis.BaseBackend) -> bool:
    """Backend settings the compiled expressions rely on; False: no array lambdas."""
    if con.name == "duckdb":
        # Ibis (via sqlglot) writes list lambdas as ``x -> ...``, which DuckDB 1.3+ only
        # reads with this setting; without it array ``contains`` cannot run (Unsupported).
        try:
            con.settings["lambda_syntax"] = "ENABLE_SINGLE_ARROW"
        except Exception:
            return False
    elif con.name == "postgres":
        # An evaluation's queries are wide (dozens of filtered aggregates and CASEs) and the
        # planner's estimates for the fresh temporary tables are large, so PostgreSQL's JIT
        # kicks in and spends seconds compiling them: 5.4 s of a 5.8 s account pass over
        # 100k events (EXPLAIN ANALYZE). Off for this session; the queries run faster bare.
        with contextlib.suppress(Exception), con.con.cursor() as cur:
            cur.execute("SET jit = off")
    return True


def _with_features(
    base: ir.Table, key: str, feats: ir.Table | None, features: Sequence[Feature]
) -> ir.Table:
    if feats is None:
        return base
    joined = base.left_join(feats, base[key] == feats.key)
    cols = {c: joined[c] for c in base.columns}
    for f in features:
        if f.id in feats.columns:
            col = joined[f.id]
            cols[f.id] = col.fill_null(0) if fill_zero(f) else col
    return joined.select(**cols)


def _member_metrics(accounts: ir.Table, features: Sequence[Feature], snap: Uploaded) -> ir.Table:
    """members, seats_used_pct and distinct_values (without a window) from the members."""
    member_feats = [f for f in features if f.kind is FeatureKind.METRIC and not is_stream_metric(f)]
    if not member_feats:
        return accounts
    mem = snap.members
    u = snap.users
    joined = mem.left_join(u, mem.m_user == u.user_id)
    aggs: dict[str, ir.Value] = {"n_members": joined.m_user.nunique()}
    for f in member_feats:
        if f.metric is Metric.DISTINCT_VALUES:
            key = distinct_key(from_json(json_path(joined.u_traits.cast("json"), f.of or ())))
            aggs[f.id] = key.nunique()
    per = joined.group_by(mkey=joined.m_account).aggregate(**aggs)
    j = accounts.left_join(per, accounts.account_id == per.mkey)
    cols: dict[str, ir.Value] = {c: j[c] for c in accounts.columns}
    n = j.n_members.fill_null(0)
    seats = from_json(j.a_traits.cast("json")["seats"]).num
    assert seats is not None
    for f in member_feats:
        if f.metric is Metric.MEMBERS:
            cols[f.id] = n
        elif f.metric is Metric.SEATS_USED_PCT:
            pct = (n.cast("float64") * 10000.0 / seats + 0.5).floor().cast("float64") / 100.0
            cols[f.id] = (seats > 0).ifelse(pct, ibis.null("float64"))
        else:
            cols[f.id] = j[f.id].fill_null(0)
    return j.select(**cols)


def _add_scores(table: ir.Table, level: Level, config: Config, p: Plan, ctx: Ctx) -> ir.Table:
    for key in p.score_order:
        score = config.score(key)
        if score.level is not level:
            continue
        scope = Scope(level, table, p, config, ctx)
        points: ir.NumericValue = ibis.literal(0.0)
        for rule in score.rules:
            points = points + scope.holds(rule.when).ifelse(float(rule.points), 0.0)
        points = points.round(DECIMAL_DIGITS)  # added as decimals: 0.1 + 0.2 is 0.3
        cols: dict[str, ir.Value] = {score_column(config, key): points}
        if score.bands is not None:
            b = score.bands
            cases = []
            if b.high is not None:
                cases.append((points >= b.high, "high"))
            if b.medium is not None:
                cases.append((points >= b.medium, "medium"))
            cols[band_column(config, key)] = (
                ibis.cases(*cases, else_="low") if cases else ibis.literal("low")
            )
        table = table.mutate(**cols)
    return table


def _stage(table: ir.Table, config: Config, p: Plan, ctx: Ctx) -> ir.Table:
    scope = Scope(Level.ACCOUNT, table, p, config, ctx)
    branches = [(scope.holds(s.when), s.key) for s in reversed(config.stages)]
    stage: ir.Value = (
        ibis.cases(*branches, else_=ibis.null("string")) if branches else ibis.null("string")
    )
    return table.mutate(stage=stage)


def _account_table(events: ir.Table, snap: Uploaded, config: Config, p: Plan, ctx: Ctx) -> ir.Table:
    """The account level's wide table, its stream features measured on ``events``."""
    feats = compute(Level.ACCOUNT, p.features_of(Level.ACCOUNT), events, snap, ctx)
    return account_level(feats, snap, config, p, ctx)


def account_level(
    feats: ir.Table | None, snap: Uploaded, config: Config, p: Plan, ctx: Ctx
) -> ir.Table:
    """The account level from its stream features ``feats`` (``key`` + one column per
    feature: ``features.compute`` over the events, or ``features.pair_features`` over
    the pair partials of ``engine/pairs.py``): member metrics, scores, stage."""
    features = p.features_of(Level.ACCOUNT)
    base = snap.accounts
    table = _with_features(base, "account_id", feats, features)
    table = _member_metrics(table, features, snap)
    table = _add_scores(table, Level.ACCOUNT, config, p, ctx)
    return _stage(table, config, p, ctx)


def _user_table(
    events: ir.Table, snap: Uploaded, accounts: ir.Table, config: Config, p: Plan, ctx: Ctx
) -> ir.Table:
    features = p.features_of(Level.USER)
    feats = compute(Level.USER, features, events, snap, ctx)
    table = _with_features(snap.users, "user_id", feats, features)
    acc = accounts.rename({ACCOUNT_PREFIX + c: c for c in accounts.columns})
    joined = table.left_join(acc, table.primary_account == acc[ACCOUNT_PREFIX + "account_id"])
    table = joined.select(*table.columns, *acc.columns)
    return _add_scores(table, Level.USER, config, p, ctx)


def _touch_expr(scope: Scope, pql: Pql) -> ir.Value:
    branches = []
    for rule in pql.touch:
        when = ibis.literal(True) if rule.when is None else scope.holds(rule.when)
        branches.append((when, str(rule.level)))
    return ibis.cases(*branches, else_="high") if branches else ibis.literal("high")


def _value_column(scope: Scope, leaf: Leaf) -> ir.Value | None:
    if isinstance(leaf, TraitCond):
        return None
    if isinstance(leaf, EventCond | MetricCond):
        feat = scope.plan.feature_for(leaf, scope.level)
        assert feat is not None
        name = feat.id if feat.level is scope.level else ACCOUNT_PREFIX + feat.id
        return scope.table[name]
    assert isinstance(leaf, ScoreCond)
    score = scope.config.score(leaf.score)
    if score.level is Level.USER and scope.level is not Level.USER:
        return ibis.null("float64")
    name = score_column(scope.config, leaf.score)
    band = band_column(scope.config, leaf.score)
    if score.level is not scope.level:
        name, band = ACCOUNT_PREFIX + name, ACCOUNT_PREFIX + band
    if leaf.on_band:
        return scope.table[band] if score.bands is not None else ibis.null("string")
    return scope.table[name]


# --------------------------------------------------------------------------- entry point


def evaluate(
    store_or_backend: Any,
    config: Config,
    as_of: datetime,
    snapshot: Snapshot | None = None,
    *,
    free_mail: frozenset[str] | None = None,
) -> Evaluation:
    """Scores, stages and PQL matches at ``as_of``, computed by the store's Ibis backend.

    ``store_or_backend`` is an ``EventStore`` (``store/events.py``) or an Ibis backend on
    the events store's tables. ``snapshot`` (identity at ``as_of``) is resolved from the
    store's rows when not given. Raises ``Unsupported`` for a backend the engine has not
    been checked on.
    """
    con, _store = _backend_of(store_or_backend)
    if con.name not in SUPPORTED_BACKENDS:
        raise Unsupported("evaluation", con.name)
    cutoff = to_utc(as_of)
    with paused_gc():  # see engine/gcpause.py: the collector's passes found nothing to free
        if snapshot is None:
            snapshot = resolve_from_tables(con, cutoff, free_mail)
        lambdas = _prepare(con)
        up = upload(con, snapshot)
        try:
            prepared = prepare(con, config, stitched=up.stitched > 0, array_lambdas=lambdas)
            return prepared.run(con, cutoff, up, snapshot)
        finally:
            up.drop()
