"""``beachhead evaluate`` / ``qualifications`` as subprocesses, on DuckDB+SQLite and PostgreSQL.

The scenario is worked out by hand, day by day, in tests/data/replay_free_to_paid.yaml
(shared with tests/backends/test_lifecycle_replay.py, which replays it in process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from test_serve import Server, cli

# the scenario (definitions, messages and the days worked out by hand) is a data file
SCENARIO = YAML(typ="safe", pure=True).load(
    Path(__file__).parents[1] / "data" / "replay_free_to_paid.yaml"
)
CONFIG: str = SCENARIO["definitions"]
EVENTS: list[dict[str, Any]] = SCENARIO["messages"]
KEYS = [
    "id",
    "pql",
    "level",
    "entity_id",
    "account_id",
    "priority",
    "status",
    "is_new",
    "qualified_at",
    "touch",
    "team",
    "rep",
    "evidence",
]
REPLAY = ["--replay-from", "2026-03-01", "--as-of", "2026-03-10", "--step", "1d"]


@pytest.fixture
def bare_env(backend_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The definitions, no data."""
    cfg = tmp_path / "beachhead.yml"
    cfg.write_text(CONFIG)
    return {**backend_env, "BEACHHEAD_CONFIG": str(cfg)}


@pytest.fixture
def env(bare_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The definitions and the scenario's events."""
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in EVENTS))
    cli(bare_env, "import", "events", str(events))
    return bare_env


def _json(env: dict[str, str], *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cli(env, *args, "--format", "json").stdout)
    return out


def _brief(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["entity_id"], r["qualified_at"][:10], r["status"], r["rep"]) for r in rows]


@pytest.mark.slow
def test_replay_day_by_day_gives_the_hand_worked_records(env: dict[str, str]) -> None:
    dry = _json(env, "evaluate", *REPLAY, "--dry-run")
    assert _json(env, "qualifications")["qualifications"] == []  # a dry run records nothing
    recorded = _json(env, "evaluate", *REPLAY)
    for result in (dry, recorded):
        assert result["as_of"] == "2026-03-10T00:00:00Z"
        assert _brief(result["qualifications"]) == [("u1", "2026-03-09", "assigned", "a@x.com")]
        assert [q["is_new"] for q in result["qualifications"]] == [True]
        assert [s["created"] for s in result["steps"]] == [0, 0, 1, 1, 0, 0, 0, 0, 1, 0]
    every = _json(env, "qualifications")["qualifications"]
    assert _brief(every) == [
        ("u1", "2026-03-03", "expired", "a@x.com"),
        ("u1", "2026-03-09", "assigned", "a@x.com"),
        ("u2", "2026-03-04", "converted", "b@x.com"),
    ]
    assert all(not q["is_new"] for q in every)
    converted = _json(env, "qualifications", "--status", "converted")["qualifications"]
    assert _brief(converted) == [("u2", "2026-03-04", "converted", "b@x.com")]
    assert len(_json(env, "qualifications", "--status", "open")["qualifications"]) == 1
    # the same as_of again: nothing new, the same open qualification
    again = _json(env, "evaluate", "--as-of", "2026-03-10")
    assert _brief(again["qualifications"]) == _brief(recorded["qualifications"])
    assert [q["is_new"] for q in again["qualifications"]] == [False]


def test_evaluate_json_shape_idempotence_and_going_back(env: dict[str, str]) -> None:
    first = _json(env, "evaluate", "--as-of", "2026-03-04")
    assert first["as_of"] == "2026-03-04T00:00:00Z"
    rows = first["qualifications"]
    assert [list(r) for r in rows] == [KEYS, KEYS]
    assert [(r["entity_id"], r["is_new"], r["rep"]) for r in rows] == [
        ("u1", True, "a@x.com"),
        ("u2", True, "b@x.com"),
    ]
    u1 = rows[0]
    assert (u1["pql"], u1["level"], u1["account_id"], u1["priority"]) == (
        "free_to_paid",
        "user",
        "beta",
        10,
    )
    assert (u1["status"], u1["touch"], u1["team"], u1["qualified_at"]) == (
        "assigned",
        "high",
        "t",
        "2026-03-04T00:00:00Z",
    )
    assert u1["evidence"] == [
        {
            "path": "when.all[0]",
            "held": True,
            "value": 2,
            "sentence": u1["evidence"][0]["sentence"],
        }
    ]
    assert "Report Created" in u1["evidence"][0]["sentence"]
    again = _json(env, "evaluate", "--as-of", "2026-03-04T00:00:00Z")
    assert [r["id"] for r in again["qualifications"]] == [r["id"] for r in rows]
    assert not any(r["is_new"] for r in again["qualifications"])
    listed = _json(env, "qualifications")
    assert list(listed) == ["qualifications"]
    assert [r["id"] for r in listed["qualifications"]] == [r["id"] for r in rows]
    back = cli(env, "evaluate", "--as-of", "2026-03-03", check=False)
    assert back.returncode != 0
    assert "before the latest recorded evaluation" in back.stderr
    assert len(back.stderr.strip().splitlines()) == 1
    # a dry run may look at the past: from empty state, u1 qualified on 03-03 alone
    past = _json(env, "evaluate", "--as-of", "2026-03-03", "--dry-run")
    assert [(r["entity_id"], r["is_new"]) for r in past["qualifications"]] == [("u1", True)]
    assert len(_json(env, "qualifications")["qualifications"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["evaluate", "--as-of", "yesterday-ish"], "--as-of"),
        (["evaluate", "--replay-from", "2026-03-01", "--step", "1 month"], "--step"),
        (["evaluate", "--replay-from", "2026-03-09", "--as-of", "2026-03-01"], "is after"),
        (["qualifications", "--status", "won"], "--status"),
        (["evaluate", "--config", "/nonexistent/beachhead.yml"], "no such file"),
        (["qualifications", "--config", "/nonexistent/beachhead.yml"], "no such file"),
    ],
)
def test_bad_input_exits_with_one_line(
    bare_env: dict[str, str], args: list[str], needle: str
) -> None:
    proc = cli(bare_env, *args, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_qualifications_reads_the_definitions(bare_env: dict[str, str], tmp_path: Path) -> None:
    """Like every command, ``qualifications`` refuses a broken definitions file."""
    bad = tmp_path / "bad.yml"
    bad.write_text("pqls:\n  - key: a\n    level: account\n    when: {event: X, within: 7days}\n")
    proc = cli({**bare_env, "BEACHHEAD_CONFIG": str(bad)}, "qualifications", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.yml:4:" in lines[0] and "within" in lines[0], proc.stderr


def test_qualifications_warns_about_a_pql_not_in_the_definitions(
    bare_env: dict[str, str],
) -> None:
    proc = cli(bare_env, "qualifications", "--pql", "no_such_pql", "--format", "json")
    assert json.loads(proc.stdout) == {"qualifications": []}
    assert proc.stderr.strip() == "warning: PQL 'no_such_pql' is not in the definitions"


@pytest.mark.slow
def test_table_output_lists_open_qualifications(env: dict[str, str]) -> None:
    out = cli(env, "evaluate", "--as-of", "2026-03-04").stdout
    assert "free_to_paid" in out and "u1" in out and "u2" in out
    assert "2 open, 2 created" in out
    assert "u2" in cli(env, "qualifications", "--status", "open").stdout


@pytest.mark.slow
def test_evaluate_runs_inside_a_live_server(tmp_path: Path) -> None:
    """With ``serve`` holding DuckDB, evaluate is forwarded to it and qualifications read."""
    cfg = tmp_path / "beachhead.yml"
    cfg.write_text(CONFIG)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in EVENTS))
    env = {"BEACHHEAD_DATA": str(tmp_path / "data"), "BEACHHEAD_CONFIG": str(cfg)}
    srv = Server(env, tmp_path / "serve.log").start()
    try:
        cli(env, "import", "events", str(events))
        out = _json(env, "evaluate", "--as-of", "2026-03-04")
        assert _brief(out["qualifications"]) == [
            ("u1", "2026-03-04", "assigned", "a@x.com"),
            ("u2", "2026-03-04", "assigned", "b@x.com"),
        ]
        listed = _json(env, "qualifications", "--status", "open")["qualifications"]
        assert [q["id"] for q in listed] == [q["id"] for q in out["qualifications"]]
    finally:
        srv.stop()


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_evaluate_processes_on_one_postgres(pg_url: str, tmp_path: Path) -> None:
    """Three ``beachhead evaluate`` processes at once: each qualification is created once."""
    import subprocess
    import sys

    from test_serve import full_env

    cfg = tmp_path / "beachhead.yml"
    cfg.write_text(CONFIG)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in EVENTS))
    env = {
        "BEACHHEAD_DATA": str(tmp_path / "data"),
        "BEACHHEAD_CONFIG": str(cfg),
        "BEACHHEAD_DATABASE_URL": pg_url,
    }
    cli(env, "import", "events", str(events))
    cli(env, "qualifications")  # migrate once, so the race is about evaluating
    args = [sys.executable, "-m", "beachhead", "evaluate", "--as-of", "2026-03-04"]
    procs = [
        subprocess.Popen(
            [*args, "--format", "json"],
            env=full_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _o, err in outs]
    created = sorted(sum(q["is_new"] for q in json.loads(o)["qualifications"]) for o, _e in outs)
    assert created == [0, 0, 2]
    every = _json(env, "qualifications")["qualifications"]
    assert _brief(every) == [
        ("u1", "2026-03-04", "assigned", "a@x.com"),
        ("u2", "2026-03-04", "assigned", "b@x.com"),
    ]
