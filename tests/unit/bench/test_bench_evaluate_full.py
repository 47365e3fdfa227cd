"""The evaluation benchmark's full hand query computes the engine's whole result: every
entity's scores, bands and stage, every match's touch and each evidence leaf's held flag
and value, checked field by field (no timing asserted)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # ``bench`` is a top-level folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.evaluate import (  # noqa: E402
    EngineRun,
    HandRun,
    check_full,
    config,
    full_differences,
    run_engine,
    run_hand,
)
from bench.evaluate_data import build  # noqa: E402
from bench.evaluate_sql import PQLS  # noqa: E402

from beachhead.store.events_duckdb import DuckDBEventStore  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[EngineRun, HandRun]:
    path = tmp_path_factory.mktemp("bench") / "events.duckdb"
    build(path, 20_000, seed=5)
    store = DuckDBEventStore(path)
    try:
        return run_engine(store, config()), run_hand(store.raw_connection(), store)
    finally:
        store.close()


def test_full_hand_query_equals_the_engine(runs: tuple[EngineRun, HandRun]) -> None:
    engine, hand = runs
    assert engine.evaluation is not None and hand.full is not None
    assert full_differences(engine.evaluation, hand.full) == []
    check_full(engine.evaluation, hand.full, "quick size")
    # one row per entity, and the hand touch columns give the engine's matches
    assert hand.full.num_rows == engine.users + engine.accounts
    touched = sum(hand.full.column(f"{k}__t").null_count for k in PQLS)
    assert len(PQLS) * hand.full.num_rows - touched == len(engine.evaluation.matches) > 100


def _changed(table: pa.Table, name: str, pick: Callable[[list[Any]], int], new: Any) -> pa.Table:
    values = table.column(name).to_pylist()
    values[pick(values)] = new
    i = table.column_names.index(name)
    return table.set_column(i, name, pa.array(values, table.schema.field(name).type))


def _first_set(values: list[Any]) -> int:
    return next(n for n, v in enumerate(values) if v is not None)


@pytest.mark.parametrize(
    ("column", "new", "reported"),
    [
        ("usage", 12345, "usage"),
        ("fit_band", "nope", "fit"),
        ("stage", "nope", "stage"),
        ("free_to_paid__t", "nope", "touch"),
        ("free_to_paid__h3", None, "held"),
        ("uv__reports14", 987654, "value"),
        ("av__seats_pct", 0.5, "value"),
        ("uv__login_last", None, "value"),
    ],
)
def test_a_changed_field_is_reported(
    runs: tuple[EngineRun, HandRun], column: str, new: Any, reported: str
) -> None:
    engine, hand = runs
    assert engine.evaluation is not None and hand.full is not None
    full = hand.full
    if column.endswith("__h3") or column.startswith(("uv__", "av__")):
        # a row that matches the PQL reading it, so its evidence is compared
        pql = "free_to_paid" if column != "av__seats_pct" else "seat_expansion"
        pql = "dormant_admin" if column == "uv__login_last" else pql
        touch = full.column(f"{pql}__t").to_pylist()
        n = _first_set(touch)
        values = full.column(column).to_pylist()
        if column.endswith("__h3"):
            new = not values[n]
        full = _changed(full, column, lambda _: n, new)
    else:
        full = _changed(full, column, _first_set, new)
    diffs = full_differences(engine.evaluation, full)
    # the field itself (a band also shows in the evidence of the leaves reading it)
    assert diffs and any(reported in d for d in diffs), diffs
    with pytest.raises(AssertionError, match="full hand query disagree"):
        check_full(engine.evaluation, full, "case")
