"""Account features combined from pair partials equal ``features.compute``'s, per aggregate.

One table row per foldable account aggregate (``engine/pairs.py``): the feature is
computed both ways on a real DuckDB store (stitched ids, several memberships per user,
guest activity toward accounts the user is not a member of, events outside the window,
a numeric property on some rows only) and the two per-account columns must be equal.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from beachhead.engine.evaluate import _prepare
from beachhead.engine.features import compute, pair_features, pair_foldable, pair_partials
from beachhead.engine.pairs import compile_pairs, pairs_supported
from beachhead.engine.snapshot import resolve_from_tables, upload
from beachhead.engine.values import Ctx
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.segment import normalize
from beachhead.rules.load import load_text
from beachhead.rules.model import Level
from beachhead.rules.plan import plan
from beachhead.store.events_duckdb import DuckDBEventStore

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)

# (name, leaf): each leaf is one account-level feature
AGGREGATES = [
    ("count", "{event: Report Created, count: {gte: 1}}"),
    ("count within", "{event: Report Created, within: 3d, count: {gte: 1}}"),
    (
        "count where",
        "{event: Report Created, where: [{property: kind, eq: pdf}], count: {gte: 1}}",
    ),
    ("first_seen", "{event: Logged In, first_seen: {within: 30d}}"),
    ("last_seen", "{event: Logged In, last_seen: {before: 1d ago}}"),
    ("min", "{event: Report Created, min: {property: rows, gte: 1}}"),
    ("max within", "{event: Report Created, within: 4d, max: {property: rows, gte: 1}}"),
    ("distinct_users", "{event: Comment Added, distinct_users: {gte: 1}}"),
    ("distinct_users within", "{event: Comment Added, within: 2d, distinct_users: {gte: 1}}"),
    ("days_active", "{event: Logged In, days_active: {gte: 1}}"),
    ("days_active within", "{event: Logged In, within: 6d, days_active: {gte: 1}}"),
    ("metric active_users", "{metric: active_users, within: 3d, gte: 1}"),
    ("metric days_active", "{metric: days_active, within: 4d, gte: 1}"),
    (
        "metric distinct_values within",
        "{metric: distinct_values, of: user.department, within: 5d, gte: 1}",
    ),
]


def _config(leaves: list[str]) -> Any:
    pqls = "\n".join(
        f"  - {{key: p{i}, name: P{i}, motion: custom, level: account, priority: 1, when: {leaf}}}"
        for i, leaf in enumerate(leaves)
    )
    return load_text(f"version: 1\npqls:\n{pqls}\n")


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _messages(seed: int) -> list[dict[str, Any]]:
    r = random.Random(seed)
    users = [f"u{i}" for i in range(12)]
    out: list[dict[str, Any]] = []
    n = 0

    def msg(kind: str, at: datetime, **fields: Any) -> None:
        nonlocal n
        n += 1
        out.append({"type": kind, "messageId": f"m{n}", "timestamp": _iso(at), **fields})

    start = AS_OF - timedelta(days=10)
    for u in users:
        for a in r.sample(["acme", "beta", "gamma"], r.choice([1, 2])):
            msg("group", start, userId=u, groupId=a, traits={"plan": "free"})
        msg("identify", start, userId=u, traits={"department": r.choice(["eng", "ops", "hr"])})
    msg("identify", start, userId="u0", anonymousId="anon0", traits={})  # a link
    for _ in range(300):
        at = AS_OF - timedelta(seconds=r.uniform(-7200, 86400 * 9))
        who = {"anonymousId": "anon0"} if r.random() < 0.1 else {"userId": r.choice(users)}
        extra: dict[str, Any] = {}
        if r.random() < 0.15:
            extra["context"] = {"groupId": r.choice(["acme", "beta", "gamma", "zeta"])}
        event = r.choice(["Report Created", "Logged In", "Comment Added"])
        props: dict[str, Any] = {"kind": r.choice(["pdf", "csv"])}
        if r.random() < 0.7:
            props["rows"] = r.choice([1, 2.5, 10, -3, 7])
        msg("track", at, event=event, properties=props, **who, **extra)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = DuckDBEventStore(Path(tmp_path_factory.mktemp("pairs")) / "events.duckdb")
    raws = _messages(3)
    s.append([replace(normalize(raw, AS_OF), seq=0) for raw in raws], raws, "test")
    yield s
    s.close()


def _rows(con: Any, expr: Any, columns: list[str]) -> dict[str, tuple[Any, ...]]:
    table = con.execute(expr).to_dict("records")
    return {row["key"]: tuple(row[c] for c in columns) for row in table if row["key"]}


@pytest.mark.parametrize(("name", "leaf"), AGGREGATES, ids=[a for a, _ in AGGREGATES])
def test_pairs_combine_to_what_compute_gives(store: Any, name: str, leaf: str) -> None:
    config = _config([leaf])
    features = plan(config).features_of(Level.ACCOUNT)
    assert features and all(pair_foldable(f) for f in features), name
    con = store.ibis()
    lambdas = _prepare(con)
    snap = resolve_from_tables(con, AS_OF, frozenset(builtin_free_mail()))
    up = upload(con, snap)
    try:
        ctx = Ctx(as_of=AS_OF, backend="duckdb", array_lambdas=lambdas)
        events = con.table("events")
        direct = compute(Level.ACCOUNT, features, events, up, ctx)
        folded = pair_features(features, pair_partials(features, events, up, ctx))
        assert direct is not None and folded is not None
        cols = [f.id for f in features]
        want = _rows(con, direct, cols)
        got = _rows(con, folded, cols)
        assert want  # the data reaches the feature
        # compute leaves out accounts none of whose rows passed a prefilter: 0 or NULL
        for key, values in got.items():
            if key not in want:
                assert all(v in (0, None) for v in values), (key, values)
        assert {k: got[k] for k in want} == want
    finally:
        up.drop()


def test_sum_and_avg_are_not_foldable() -> None:
    for leaf in (
        "{event: Report Created, sum: {property: rows, gte: 1}}",
        "{event: Report Created, avg: {property: rows, gte: 1}}",
    ):
        assert not pairs_supported(_config([leaf]), "duckdb")
    assert pairs_supported(_config([leaf for _, leaf in AGGREGATES]), "duckdb")
    assert not pairs_supported(_config([leaf for _, leaf in AGGREGATES]), "postgres")


def test_the_pair_level_has_the_plan_level_columns(store: Any) -> None:
    """The account level built from pairs is the plan's level table, column for column."""
    from beachhead.engine.prepared import SNAPSHOT_SCHEMAS, prepare

    config = _config([leaf for _, leaf in AGGREGATES] + ["{metric: members, gte: 2}"])
    con = store.ibis()
    lambdas = _prepare(con)
    prepared = prepare(con, config, stitched=True, array_lambdas=lambdas)
    pp = compile_pairs(
        config,
        "duckdb",
        stitched=True,
        events_schema=con.table("events").schema(),
        array_lambdas=lambdas,
    )
    raw = con.con
    raw.execute("CREATE TEMP TABLE bhq__events AS SELECT * FROM events LIMIT 0")
    for name, cols in SNAPSHOT_SCHEMAS.items():
        raw.execute(f"CREATE TEMP TABLE {name} ({', '.join(c + ' VARCHAR' for c in cols)})")
    raw.register("bhq__pairs", pp.schema.empty_table())
    as_of = AS_OF.replace(tzinfo=None)
    plan_level = raw.sql(prepared.sql(prepared.accounts_sql, as_of, {})).arrow()
    pair_level = raw.sql(prepared.sql(pp.level_sql, as_of, {})).arrow()
    assert plan_level.schema == pair_level.schema
