"""The pairs steps' queries as prepared statements (``engine/statements.py``): the same
statements serve step after step on new rows and a new ``as_of``, are made afresh every
``RENEW`` steps without leaving tables behind, and give what the unprepared SQL gives."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_engine_support import comparable, sentences
from test_incremental import START, World, append, config, side_by_side

import beachhead.engine.statements as statements
from beachhead.engine.incremental import IncrementalEvaluator
from beachhead.ingest.freemail import builtin_free_mail
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
