"""The evaluation benchmark compares like with like: its hand-written SQL query and the
engine find the same matches on the benchmark's generated data (no timing asserted).

A benchmark that timed two queries computing different things would be worthless, so the
quick size is run here: generated store rows, the template plus the custom definitions,
identity uploaded once, the hand query beside ``engine.evaluate``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # ``bench`` is a top-level folder, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.evaluate import check_same, config, run_engine, run_hand  # noqa: E402
from bench.evaluate_data import build  # noqa: E402

from beachhead.store.events_duckdb import DuckDBEventStore  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEventStore:
    path = tmp_path_factory.mktemp("bench") / "events.duckdb"
    build(path, 20_000, seed=3)
    return DuckDBEventStore(path)


def test_hand_sql_finds_the_engines_matches(store: DuckDBEventStore) -> None:
    cfg = config()
    engine = run_engine(store, cfg)
    hand = run_hand(store.raw_connection(), store)
    check_same(engine.result, hand.result, "quick size")
    assert engine.result == hand.result
    # Not a vacuous comparison: most definitions match someone on this data.
    per_pql = Counter(pql for pql, _, _ in hand.result)
    assert len(per_pql) >= len(cfg.pqls) // 2, per_pql
    store.close()


def test_mismatch_is_reported() -> None:
    with pytest.raises(AssertionError, match="1 only in engine"):
        check_same({("p", "u_1", "high")}, set(), "case")
