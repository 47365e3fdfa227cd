"""Recorded rounds of the continuous evaluator equal recorded full evaluations.

Two data folders get the same messages (the seeded world of ``test_incremental``). In one,
``scheduler.ContinuousEvaluator.run_once`` records each round from incremental steps; in
the other, ``lifecycle_service.run_evaluation`` (what ``beachhead evaluate`` runs) records
a full evaluation at the same ``as_of``. After every round the qualifications (every
field: status, touch, team, rep, evidence, times) and the stage history must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_incremental import START, World, ticks

from beachhead.config import Settings
from beachhead.ingest.segment import normalize
from beachhead.lifecycle_service import qualification_json, run_evaluation
from beachhead.rules.load import load_config
from beachhead.runtime import Runtime
from beachhead.scheduler import ContinuousEvaluator
from beachhead.store.qualifications import QualificationStore

TEAMS = """
teams:
  - key: sales
    assign: round_robin
    capacity: 3
    reps: [{email: ana@example.com}, {email: bo@example.com, weight: 2}]
  - key: big
    assign: least_loaded
    reps: [{email: eve@example.com}]
routing:
  - {when: {trait: account.employees, gte: 600}, team: big}
  - {team: sales}
"""


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def runtimes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Runtime, Runtime]]:
    cfg = tmp_path / "beachhead.yml"
    cfg.write_text(config_text())
    made = []
    for name in ("incremental", "full"):
        url = None
        if request.param == "postgres":
            url = (
                request.getfixturevalue("pg_url") if name == "incremental" else _second_pg(request)
            )
        made.append(Runtime(Settings(config=cfg, data=tmp_path / name, database_url=url)))
    try:
        yield made[0], made[1]
    finally:
        for rt in made:
            rt.close()


def _second_pg(request: pytest.FixtureRequest) -> str:
    """A second fresh database (the ``pg_url`` fixture gives one per test)."""
    from pgdb import scratch_database

    made = scratch_database()
    url = made.__enter__()
    request.addfinalizer(lambda: made.__exit__(None, None, None))
    return url


def config_text() -> str:
    from test_incremental import HERE, TEMPLATE

    text = TEMPLATE.read_text()
    cut = text.index("\n# Journey stages")
    extra = (HERE / "incremental" / "extra.yml").read_text()
    return text[:cut] + "\n" + extra + text[cut:] + TEAMS


def _recorded(rt: Runtime) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    store = QualificationStore(rt.state)
    quals = [{**qualification_json(q), "closed_at": q.closed_at} for q in store.find()]
    stages = [(s.account_id, s.stage, s.from_stage, s.at, s.initial) for s in store.stage_history()]
    return quals, stages


@pytest.mark.slow
def test_recorded_rounds_equal_recorded_full_evaluations(
    runtimes: tuple[Runtime, Runtime],
) -> None:
    inc_rt, full_rt = runtimes
    cfg = load_config(inc_rt.settings.config)
    assert cfg.teams  # the template, the two extra PQLs and the teams
    world = World(7)
    now = START
    clock = [now]
    rounds = ContinuousEvaluator(inc_rt, clock=lambda: clock[0])

    def append(raws: list[dict[str, Any]]) -> None:
        for rt in runtimes:
            msgs = [replace(normalize(r, now), seq=0) for r in raws]
            rt.events.append(msgs, raws, "test")

    append(world.batch(now, 40))
    created = 0
    for size, advance in ticks(7, 10):
        now += advance + timedelta(hours=6)  # long enough for some to expire and re-qualify
        clock[0] = now
        if size:
            append(world.batch(now, size))
        result = rounds.run_once()
        run_evaluation(full_rt, cfg, now)
        assert _recorded(inc_rt) == _recorded(full_rt), (now, result)
        created += result.created
    assert created > 0
