"""Day-by-day replay in process, on both backends, against records worked out by hand.

The scenario is tests/data/replay_free_to_paid.yaml (its comments give the days), shared with
tests/integration/test_evaluate_cli.py:
q1 (u1, 03-03, rep a) expires on 03-07; q2 (u2, 03-04, rep b) converts on 03-06 when acme
reaches stage team; the cooldown keeps u1 out on 03-08; q3 (u1, 03-09, rep a) stays open.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead import lifecycle_service as svc
from beachhead.config import Settings
from beachhead.ingest.importers import run_import
from beachhead.rules.load import load_text
from beachhead.runtime import Runtime
from beachhead.store.qualifications import QualificationStore

# the scenario (definitions, messages and the days worked out by hand) is a data file
SCENARIO = YAML(typ="safe", pure=True).load(
    Path(__file__).parents[1] / "data" / "replay_free_to_paid.yaml"
)
CONFIG: str = SCENARIO["definitions"]
EVENTS: list[dict[str, Any]] = SCENARIO["messages"]
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 10, tzinfo=UTC)


def day(d: int) -> datetime:
    return datetime(2026, 3, d, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    rt = Runtime(Settings(data=tmp_path / "data", database_url=url))
    body = "".join(json.dumps(m) + "\n" for m in EVENTS).encode()
    run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "test")
    yield rt
    rt.close()


def _check_final(result: svc.Outcome, rows: list[dict[str, Any]]) -> None:
    assert [(q.entity_id, q.qualified_at, q.status, q.rep) for q in result.open] == [
        ("u1", day(9), "assigned", "a@x.com")
    ]
    assert result.new_ids == {result.open[0].id}
    assert [r["created"] for r in rows] == [0, 0, 1, 1, 0, 0, 0, 0, 1, 0]


@pytest.mark.slow
def test_dry_replay_predicts_the_same_and_records_nothing(runtime: Runtime) -> None:
    config = load_text(CONFIG)
    _check_final(*svc.run_replay(runtime, config, START, END, timedelta(days=1), dry_run=True))
    assert svc.list_qualifications(runtime.state) == []
    assert QualificationStore(runtime.state).evaluations() == []


def test_replay_records_what_the_days_predict(runtime: Runtime) -> None:
    config = load_text(CONFIG)
    _check_final(*svc.run_replay(runtime, config, START, END, timedelta(days=1)))
    every = svc.list_qualifications(runtime.state)
    assert [(q.entity_id, q.qualified_at, q.status, q.closed_at, q.rep) for q in every] == [
        ("u1", day(3), "expired", day(7), "a@x.com"),
        ("u1", day(9), "assigned", None, "a@x.com"),
        ("u2", day(4), "converted", day(6), "b@x.com"),
    ]
    store = QualificationStore(runtime.state)
    converted = store.history(every[2].id)[-1]
    assert converted.reason == "account reached stage team (was free)"
    assert [(h.account_id, h.from_stage, h.stage, h.at) for h in store.stage_history()] == [
        ("acme", None, "free", day(1)),
        ("beta", None, "free", day(1)),
        ("acme", "free", "team", day(6)),
    ]
    assert store.evaluations() == [day(d) for d in range(1, 11)]
