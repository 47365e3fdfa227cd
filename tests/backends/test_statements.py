"""The pairs steps' queries as prepared statements (``engine/statements.py``): the same
statements serve step after step on new rows and a new ``as_of``, are made afresh every
``RENEW`` steps without leaving tables behind, and give what the unprepared SQL gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_engine_support import comparable, sentences
from test_incremental import START, World, _iso, append, config, side_by_side

import beachhead.engine.statements as statements
from beachhead.engine import evaluate
from beachhead.engine.incremental import IncrementalEvaluator
from beachhead.engine.prepared import AS_OF_US
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.rules.load import load_text
from beachhead.store.events_duckdb import DuckDBEventStore


def _temp_objects(store: DuckDBEventStore) -> set[str]:
    con = store.ibis().con
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary"
        " UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _prepared_names(store: DuckDBEventStore) -> set[str]:
    return {s for s in _temp_objects(store) if s.startswith("bh_step_")}


@pytest.mark.parametrize("renew", [2, statements.RENEW])
def test_prepared_steps_equal_full_and_unprepared_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renew: int
) -> None:
    monkeypatch.setattr(statements, "RENEW", renew)
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        mail = frozenset(builtin_free_mail())
        prepared = IncrementalEvaluator(mail, full_share=1.0)
        plain = IncrementalEvaluator(mail, full_share=1.0, prepared_steps=False)
        made = []
        for now, (a, b), full in side_by_side(store, 3, 9, prepared, plain):
            assert comparable(a.evaluation) == comparable(b.evaluation) == comparable(full), now
            assert sentences(a.evaluation) == sentences(full)
            if not a.full:
                assert a.path == "pairs" and prepared.kept is not None
                made.append(prepared.kept.prefix)
                # one set of tables at a time: renewed ones are dropped
                assert {n[: len("bh_step_") + 8] for n in _prepared_names(store)} == {
                    prepared.kept.prefix
                }
        assert plain.kept is None
        # the same statements step after step, made afresh every ``renew`` steps
        assert len(made) == 8
        assert len(set(made)) == -(-len(made) // renew)
    finally:
        store.close()


def test_reset_drops_the_statements_and_their_tables(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        cfg = config()
        world = World(4)
        inc = IncrementalEvaluator(frozenset(builtin_free_mail()), full_share=1.0)
        append(store, world.batch(START, 30), START)
        before = _temp_objects(store)
        inc.step(store, cfg, START)
        later = START + timedelta(hours=1)
        append(store, world.batch(later, 5), later)
        assert inc.step(store, cfg, later).path == "pairs"
        assert _prepared_names(store)
        inc.reset()
        assert inc.kept is None
        assert _temp_objects(store) == before
    finally:
        store.close()


DAY = timedelta(days=1)
MEMBER_CONFIG = """version: 1
pqls:
  - {key: mixed, name: Mixed, motion: custom, level: account, priority: 1,
     when: {metric: distinct_values, of: user.department, gte: 2}}
  - {key: busy, name: Busy, motion: custom, level: account, priority: 2,
     when: {metric: active_users, within: 7d, gte: 1}}
"""


def test_the_kept_member_traits_follow_every_change(tmp_path: Path) -> None:
    """The level's users table keeps every user's member traits between steps and is
    rewritten for the identity delta's users only: a department that changes, a member
    who joins, an alias that merges a user away, and a step that falls back to a full
    round after advancing the identity (its delta reaches no step) all show up in the
    next steps' distinct departments, each checked against a full evaluation."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    cfg = load_text(MEMBER_CONFIG)
    mail = frozenset(builtin_free_mail())
    n = 0

    def msg(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        nonlocal n
        n += 1
        return {"type": kind, "messageId": f"k{n}", "timestamp": _iso(at), **fields}

    def dept(user: str, department: str, at: datetime) -> dict[str, Any]:
        return msg("identify", at, userId=user, traits={"department": department})

    def step(inc: IncrementalEvaluator, now: datetime) -> set[str]:
        info = inc.step(store, cfg, now)
        full = evaluate(store, cfg, now, free_mail=mail)
        assert comparable(info.evaluation) == comparable(full), (now, info.reason)
        assert (info.full, info.path) == (False, "pairs"), info.reason
        return {m.entity_id for m in info.evaluation.matches if m.pql == "mixed"}

    try:
        first = []
        for i in range(6):
            account = "acme" if i < 3 else "beta"
            first += [
                msg("group", START - DAY, userId=f"u{i}", groupId=account, traits={}),
                dept(f"u{i}", "sales", START - DAY),
                msg("track", START - DAY, userId=f"u{i}", event="X"),
            ]
        # stitched from the start, so the merge below keeps the same plans and statements
        first += [
            msg("track", START - DAY, anonymousId="anon0", event="X"),
            msg("alias", START - DAY, previousId="anon0", userId="u0"),
        ]
        append(store, first, START)
        inc = IncrementalEvaluator(mail, full_share=0.5)
        assert inc.step(store, cfg, START).full
        assert inc.kept is not None and inc.kept.keeps_members(frozenset({"department"}))
        assert inc.kept.member_json is not None and len(inc.kept.member_json) == 6

        now = START + timedelta(minutes=1)  # a department changes
        append(store, [dept("u0", "eng", now)], now)
        assert step(inc, now) == {"acme"}
        assert inc.kept.member_json["u0"] == '{"department":"eng"}'

        now += timedelta(minutes=1)  # and back: its old row must be gone
        append(store, [dept("u0", "sales", now)], now)
        assert step(inc, now) == set()

        now += timedelta(minutes=1)  # a member joins beta with another department
        append(
            store,
            [msg("group", now, userId="u9", groupId="beta", traits={}), dept("u9", "ops", now)],
            now,
        )
        assert step(inc, now) == {"beta"}

        now += timedelta(minutes=1)  # u9 is merged into u3: its row goes
        kept = inc.kept
        append(store, [msg("alias", now, previousId="u9", userId="u3")], now)
        step(inc, now)
        assert inc.kept is kept and "u9" not in kept.member_json

        now += timedelta(minutes=1)  # most users change: the step falls back to full
        append(store, [dept(f"u{i}", "hr", now) for i in range(5)], now)
        info = inc.step(store, cfg, now)
        assert info.full and info.reason == "most entities changed"

        now += timedelta(minutes=1)  # a small step: acme is all hr now, beta hr and sales
        append(store, [msg("track", now, userId="u1", event="X")], now)
        assert step(inc, now) == {"beta"}
        assert inc.kept.member_json["u0"] == '{"department":"hr"}'
    finally:
        store.close()


RELATIVE_CONFIG = """version: 1
pqls:
  - {key: fresh, name: Fresh, motion: custom, level: user, priority: 1,
     when: {trait: user.signed_up_at, after: 30d ago}}
  - {key: team, name: Team, motion: custom, level: account, priority: 1,
     when: {metric: active_users, within: 30d, gte: 2}}
"""


def test_a_trait_compared_with_a_relative_time_is_a_parameter_too(tmp_path: Path) -> None:
    """A trait compared with ``30d ago`` compiles to the as_of in microseconds (the other
    as_of placeholder): its statement takes it as a parameter, a full round can make the
    statements, and a step at the same as_of matches a full evaluation. (The statements
    once substituted the timestamp placeholder only, and every full round failed.)"""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    cfg = load_text(RELATIVE_CONFIG)
    mail = frozenset(builtin_free_mail())
    try:
        world = World(8)
        raws = world.batch(START, 40)
        for i, signed in enumerate(("2026-02-20T00:00:00Z", "2026-01-01T00:00:00Z")):
            raws.append(
                {
                    "type": "identify",
                    "userId": f"u{i}",
                    "messageId": f"s{i}",
                    "timestamp": _iso(START - DAY),
                    "traits": {"signed_up_at": signed},
                }
            )
        append(store, raws, START)
        inc = IncrementalEvaluator(mail, full_share=1.0)
        first = inc.step(store, cfg, START)
        assert first.full and "u0" in {m.entity_id for m in first.evaluation.matches}
        assert inc.kept is not None
        used = {p[0] for args in inc.kept.as_of_args.values() for p in args}
        assert AS_OF_US in used
        append(store, world.batch(START, 3), START)
        info = inc.step(store, cfg, START)
        assert (info.full, info.path) == (False, "pairs"), info.reason
        full = evaluate(store, cfg, START, free_mail=mail)
        assert comparable(info.evaluation) == comparable(full)
    finally:
        store.close()
