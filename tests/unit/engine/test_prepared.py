"""The compiled evaluation (``engine/prepared.py``): compiled once, run at any ``as_of``.

A plan compiled once and run at many times (window boundaries included: an event exactly
at ``as_of - 7d`` and exactly at ``as_of``) must give, at each time, the result of the
engine's per-run Ibis path (the level passes compiled at that time with literal bounds,
``engine_per_run_path._matches``/``_entities``), on a real DuckDB store. The events table is a
parameter (a copy of the table gives the same result), and the SQL holds ``as_of`` as a
placeholder only.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from engine_per_run_path import _entities, _matches, _Temps

from beachhead.engine import evaluate as evaluate_fn
from beachhead.engine.evaluate import _account_table, _prepare, _user_table
from beachhead.engine.prepared import (
    AS_OF_TS,
    AS_OF_US,
    SENTINEL_AS_OF,
    T_EVENTS,
    compile_plan,
    prepare,
)
from beachhead.engine.snapshot import resolve_from_tables, upload
from beachhead.engine.values import Ctx
from beachhead.ingest.segment import normalize
from beachhead.rules.load import load_text
from beachhead.rules.model import Config, Level
from beachhead.rules.plan import plan
from beachhead.rules.result import Evaluation
from beachhead.store.events_duckdb import DuckDBEventStore

START = datetime(2026, 3, 1, tzinfo=UTC)
EVENTS = ["Logged In", "Report Created", "Comment Added", "Invite Sent", "Pricing"]
EVENTS += ["Upgrade Clicked", "Signed Up", "SSO Settings Viewed", "Dashboard Shared"]
AS_OFS = [
    START + timedelta(days=20),
    START + timedelta(days=27, hours=5),
    START + timedelta(days=34),  # an event sits exactly here and exactly 7 days before
    START + timedelta(days=41),
]


def _config() -> Config:
    text = (files("beachhead.rules") / "templates" / "beachhead.yml").read_text("utf-8")
    return load_text(text, "beachhead.yml")


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _messages(seed: int) -> list[dict[str, Any]]:
    r = random.Random(seed)
    users = [f"u{i}" for i in range(12)]
    out: list[dict[str, Any]] = []

    def msg(kind: str, at: datetime, **fields: Any) -> None:
        out.append({"type": kind, "messageId": f"m{len(out)}", "timestamp": _iso(at), **fields})

    for i, u in enumerate(users):
        msg("identify", START, userId=u, traits={"email": f"{u}@{['acme.com', 'beta.io'][i % 2]}"})
        msg("group", START, userId=u, groupId=["acme", "beta", "gamma"][i % 3], traits={})
    msg("group", START, userId="u0", groupId="acme", traits={"plan": "free", "employees": 150})
    msg("group", START, userId="u1", groupId="beta", traits={"plan": "team", "seats": 4})
    msg("group", START, userId="u2", groupId="gamma", traits={"plan": "business", "employees": 900})
    msg("identify", START, anonymousId="anon1", userId="u3", traits={})  # a link
    for _ in range(900):
        at = START + timedelta(seconds=r.randint(0, 45 * 86400))
        who = {"anonymousId": "anon1"} if r.random() < 0.05 else {"userId": r.choice(users)}
        if r.random() < 0.2:
            msg("page", at, name="Pricing", **who)
        else:
            msg("track", at, event=r.choice(EVENTS), **who)
    edge = START + timedelta(days=34)
    for at in (edge, edge - timedelta(days=7), edge - timedelta(days=14)):
        for u in users[:4]:
            msg("track", at, event="Report Created", userId=u)
            msg("track", at, event="Logged In", userId=u)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = DuckDBEventStore(Path(tmp_path_factory.mktemp("prepared")) / "events.duckdb")
    raws = _messages(7)
    received = START + timedelta(days=60)
    s.append([replace(normalize(raw, received), seq=0) for raw in raws], raws, "test")
    try:
        yield s
    finally:
        s.close()


def _per_run_path(con: Any, config: Config, as_of: datetime) -> Evaluation:
    """The engine's Ibis path compiled at this as_of (literal bounds), fetched row-wise."""
    snap = resolve_from_tables(con, as_of)
    ctx = Ctx(as_of=as_of, backend=con.name, array_lambdas=_prepare(con))
    p = plan(config)
    up = upload(con, snap)
    temps = _Temps(con, [])
    result = Evaluation(as_of=as_of)
    try:
        events = con.table("events")
        acc = temps.make("accounts", _account_table(events, up, config, p, ctx))
        usr = temps.make("users", _user_table(events, up, acc, config, p, ctx))
        result.accounts = _entities(acc, "account_id", Level.ACCOUNT, config, True)
        result.users = _entities(usr, "user_id", Level.USER, config, False)
        for pql in config.pqls:
            table, col = (acc, "account_id") if pql.level is Level.ACCOUNT else (usr, "user_id")
            result.matches.extend(_matches(table, col, pql, snap, config, p, ctx))
    finally:
        temps.drop()
        up.drop()
    result.sort()
    return result


def _run(con: Any, config: Config, as_of: datetime, events: str = "events") -> Evaluation:
    snap = resolve_from_tables(con, as_of)
    up = upload(con, snap)
    try:
        compiled = prepare(con, config, stitched=up.stitched > 0, array_lambdas=_prepare(con))
        return compiled.run(con, as_of, up, snap, events=events)
    finally:
        up.drop()


def test_one_plan_many_as_of_equals_the_per_run_path(store: Any) -> None:
    con = store.ibis()
    config = _config()
    plans = set()
    matched: set[str] = set()
    for as_of in AS_OFS:
        got = _run(con, config, as_of)
        want = _per_run_path(con, config, as_of)
        assert got == want, as_of
        matched.update(m.pql for m in got.matches)
        snap = resolve_from_tables(con, as_of)
        up = upload(con, snap)
        try:
            plans.add(id(prepare(con, config, stitched=up.stitched > 0, array_lambdas=True)))
        finally:
            up.drop()
    assert len(plans) == 1  # compiled once, reused at every as_of
    assert len(matched) >= 2, matched  # the comparison covers real matches and evidence
    # the results do move with as_of (the test would not see a frozen as_of otherwise)
    assert _run(con, config, AS_OFS[0]) != _run(con, config, AS_OFS[-1])


def test_events_table_is_a_parameter(store: Any) -> None:
    con = store.ibis()
    config = _config()
    con.con.execute("CREATE OR REPLACE TEMP TABLE events_copy AS SELECT * FROM events")
    con.con.execute("CREATE OR REPLACE TEMP TABLE events_none AS SELECT * FROM events LIMIT 0")
    as_of = AS_OFS[2]
    assert _run(con, config, as_of, events="events_copy") == evaluate_fn(store, config, as_of)
    assert _run(con, config, as_of, events="events_none") != evaluate_fn(store, config, as_of)


def test_sql_holds_as_of_once_as_a_placeholder(store: Any) -> None:
    con = store.ibis()
    schema = con.table("events").schema()
    compiled = compile_plan(_config(), "duckdb", stitched=True, events_schema=schema)
    for template in (compiled.accounts_sql, compiled.accounts_fetch, compiled.users_fetch):
        assert str(SENTINEL_AS_OF.year) not in template
    assert AS_OF_TS in compiled.accounts_sql and f'"{T_EVENTS}"' in compiled.accounts_sql
    a = compiled.sql(compiled.accounts_sql, AS_OFS[0], {T_EVENTS: "events"})
    b = compiled.sql(compiled.accounts_sql, AS_OFS[1], {T_EVENTS: "events"})
    assert AS_OF_TS not in a and AS_OF_US not in a and a != b
    assert "2026-03-21 00:00:00.000000" in a and "2026-03-28 05:00:00.000000" in b


@pytest.mark.parametrize("stitched", [True, False])
def test_a_step_copies_only_the_events_columns_the_template_reads(
    tmp_path: Path, stitched: bool
) -> None:
    """An incremental step copies the events columns whose quoted names the compiled SQL
    holds (``columns_read``). None of the shipped template's aliases may be named like a
    wide column it does not read: the stored message (``raw``, once the raw id's alias),
    the identify traits, the message id."""
    from beachhead.engine.pairs import compile_pairs, read_columns

    config = load_text(
        files("beachhead.rules.templates").joinpath("beachhead.yml").read_text(), "beachhead.yml"
    )
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        schema = store.ibis().table("events").schema()
    finally:
        store.close()
    prep = compile_plan(config, "duckdb", stitched=stitched, events_schema=schema)
    pp = compile_pairs(config, "duckdb", stitched=stitched, events_schema=schema)
    read = read_columns(prep, pp, schema.names)
    assert not {"raw", "traits", "message_id"} & set(read), read
    assert {"ts", "event", "user_id", "anonymous_id", "context_group_id"} <= set(read)
