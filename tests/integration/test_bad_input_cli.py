"""Bad input to the real ``beachhead`` executable is ONE line on stderr naming what is
wrong, with the exit code the README gives (2 for a usage error, else 1), before any work
and with nothing stored lost (interfaces.md, "Command line"). Each case was a traceback,
a silently ignored option or contradicting messages:

- ``serve``/``demo --port 99999``: an OverflowError from the socket (demo's after the
  demo was built); now a usage error as the options are parsed.
- ``keys create --name`` over 200 characters: a ValueError from the store; now checked
  up front, with empty names and control characters.
- ``--config`` naming a folder: "no such file", "warning ... error ... Is a directory" or
  "1:1: cannot read the file" depending on the command; now the same line everywhere.
- ``evaluate --step`` without ``--replay-from``: silently ignored.
- ``users-admin create --team`` with a team the definitions do not have: accepted.

Also: the ``accounts`` table's ``plan`` column.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

BEACHHEAD = str(Path(sys.executable).with_name("beachhead"))
TEMPLATE = Path(__file__).parents[2] / "src" / "beachhead" / "rules" / "templates" / "beachhead.yml"
TEAMS = """
teams:
  - key: mid_market
    reps:
      - {email: ana@example.com}
  - key: enterprise
    reps:
      - {email: eve@example.com}
"""


def beachhead(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The installed executable in ``cwd``, with no BEACHHEAD_ variable of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    return subprocess.run(
        [BEACHHEAD, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a failed run (nothing on stdout, no traceback)."""
    assert (proc.returncode, proc.stdout) == (code, ""), proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# ---------------------------------------------------------------------------- --port

PORT_CASES = [
    (command, port)
    for command in (["serve"], ["demo", "--no-serve"])
    for port in ("99999", "65536", "-1")
]


@pytest.mark.parametrize(
    ("command", "port"), PORT_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_a_port_out_of_range_is_a_usage_error_before_any_work(
    tmp_path: Path, command: list[str], port: str
) -> None:
    proc = beachhead(tmp_path, *command, "--port", port, "--data", "d")
    line = one_line(proc, 2)
    assert line.startswith(
        f"error: Invalid value for '--port': expected 0 to 65535 (0 = any free port), got {port}"
    ), line
    assert not (tmp_path / "d").exists()  # nothing built, no store made


def test_a_port_out_of_range_in_the_environment_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    proc = subprocess.run(
        [BEACHHEAD, "serve", "--data", "d"],
        cwd=tmp_path,
        env={**env, "BEACHHEAD_PORT": "70000"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one_line(proc, 1) == (
        "error: bad setting BEACHHEAD_PORT='70000': expected a port number, 0 to 65535"
    )


# ------------------------------------------------------------------ keys create --name

NAME_CASES = [
    ("a" * 201, "error: --name: a write key's name is at most 200 characters, got 201"),
    ("", "error: --name: a write key's name cannot be empty (leave --name out for a dated one)"),
    ("   ", "error: --name: a write key's name cannot be empty (leave --name out for a dated one)"),
    ("web\tkey", "error: --name: a write key's name cannot hold control characters (found '\\t')"),
    ("web\nkey", "error: --name: a write key's name cannot hold control characters (found '\\n')"),
]


@pytest.mark.parametrize(
    ("name", "says"), NAME_CASES, ids=["201 chars", "empty", "blank", "tab", "newline"]
)
def test_a_bad_key_name_is_one_line_and_stores_nothing(
    tmp_path: Path, name: str, says: str
) -> None:
    kept = beachhead(tmp_path, "keys", "create", "--name", "kept", "--data", "d")
    assert kept.returncode == 0, kept.stderr
    assert one_line(beachhead(tmp_path, "keys", "create", "--name", name, "--data", "d"), 1) == says
    listed = beachhead(tmp_path, "keys", "list", "--format", "json", "--data", "d")
    assert [k["name"] for k in orjson.loads(listed.stdout)["keys"]] == ["kept"]


def test_a_key_name_of_200_characters_is_fine(tmp_path: Path) -> None:
    made = beachhead(tmp_path, "keys", "create", "--name", "a" * 200, "--format", "json")
    assert made.returncode == 0, made.stderr
    assert orjson.loads(made.stdout)["name"] == "a" * 200


# ------------------------------------------------------------- --config naming a folder

FOLDER_CASES = [
    (["evaluate"], 1),
    (["evaluate", "--dry-run"], 1),
    (["qualifications"], 1),
    (["users"], 1),
    (["accounts"], 1),
    (["check"], 1),
    (["serve", "--port", "0"], 1),
    (["demo", "--no-serve"], 2),  # demo refuses its bad options with 2, before building
]


@pytest.mark.parametrize(
    ("command", "code"), FOLDER_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else str(v)
)
def test_config_naming_a_folder_is_the_same_line_for_every_command(
    tmp_path: Path, command: list[str], code: int
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    proc = beachhead(tmp_path, *command, "--config", "defs", "--data", "d")
    assert (
        one_line(proc, code)
        == "error: cannot read the definitions defs: it is a folder, not a file"
    )


def test_init_into_a_config_naming_a_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "defs").mkdir()
    for force in ([], ["--force"]):
        proc = beachhead(tmp_path, "init", "--config", "defs", *force)
        assert one_line(proc, 1) == (
            "error: cannot write the definitions defs: it is a folder, not a file"
            " (`beachhead init defs` writes defs/beachhead.yml)"
        )
    assert list((tmp_path / "defs").iterdir()) == []


# ------------------------------------------------------------ evaluate --step alone


def test_evaluate_step_without_replay_from_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "beachhead.yml").write_text(TEMPLATE.read_text())
    proc = beachhead(tmp_path, "evaluate", "--step", "1d", "--data", "d")
    line = one_line(proc, 2)
    assert line == "error: --step needs --replay-from (it is the step of a replay)"
    assert not (tmp_path / "d").exists()  # nothing evaluated
    replay = beachhead(
        tmp_path,
        "evaluate",
        "--replay-from",
        "2026-03-01",
        "--as-of",
        "2026-03-03",
        "--step",
        "1d",
        "--dry-run",
        "--format",
        "json",
        "--data",
        "d",
    )
    assert replay.returncode == 0, replay.stderr
    assert len(orjson.loads(replay.stdout)["steps"]) == 3


# ---------------------------------------------------------- users-admin --team


def _admin(tmp_path: Path, verb: str, team: str, config: str) -> subprocess.CompletedProcess[str]:
    extra = ["--password", "a long password"] if verb == "create" else []
    return beachhead(
        tmp_path,
        "users-admin",
        verb,
        "--email",
        "ana@example.com",
        "--team",
        team,
        *extra,
        "--config",
        config,
        "--data",
        "d",
    )


TEAM_CASES = [
    (
        "create",
        "nope",
        "teams.yml",
        "error: --team: no team 'nope' in the definitions teams.yml"
        " (known teams: mid_market, enterprise)",
    ),
    (
        "create",
        "mid_market",
        "missing.yml",
        "error: cannot check --team 'mid_market': cannot read the definitions missing.yml:"
        " no such file (beachhead init writes one)",
    ),
    (
        "create",
        "mid_market",
        "defs",
        "error: cannot check --team 'mid_market': cannot read the definitions defs:"
        " it is a folder, not a file",
    ),
    (
        "set-team",
        "nope",
        "teams.yml",
        "error: --team: no team 'nope' in the definitions teams.yml"
        " (known teams: mid_market, enterprise)",
    ),
]


@pytest.mark.parametrize(("verb", "team", "config", "says"), TEAM_CASES)
def test_users_admin_team_must_be_in_the_definitions(
    tmp_path: Path, verb: str, team: str, config: str, says: str
) -> None:
    (tmp_path / "teams.yml").write_text(TEMPLATE.read_text() + TEAMS)
    (tmp_path / "defs").mkdir()
    if verb == "set-team":
        made = _admin(tmp_path, "create", "enterprise", "teams.yml")
        assert made.returncode == 0, made.stderr
    assert one_line(_admin(tmp_path, verb, team, config), 1) == says
    listed = beachhead(tmp_path, "users-admin", "list", "--format", "json", "--data", "d")
    expected = [("ana@example.com", "enterprise")] if verb == "set-team" else []
    assert [(u["email"], u["team"]) for u in orjson.loads(listed.stdout)["users"]] == expected


def test_users_admin_known_team_and_no_team_work(tmp_path: Path) -> None:
    (tmp_path / "teams.yml").write_text(TEMPLATE.read_text() + TEAMS)
    made = _admin(tmp_path, "create", "mid_market", "teams.yml")
    assert made.returncode == 0, made.stderr
    moved = _admin(tmp_path, "set-team", "enterprise", "teams.yml")
    assert moved.returncode == 0, moved.stderr
    # no team needs no definitions: the first admin on a fresh install
    first = beachhead(
        tmp_path,
        "users-admin",
        "create",
        "--email",
        "root@example.com",
        "--role",
        "admin",
        "--password",
        "a long password",
        "--config",
        "missing.yml",
        "--data",
        "d",
    )
    assert first.returncode == 0, first.stderr


# ------------------------------------------------------------ accounts: plan column


def test_accounts_table_shows_the_plan(tmp_path: Path) -> None:
    (tmp_path / "beachhead.yml").write_text(TEMPLATE.read_text())
    (tmp_path / "accounts.csv").write_text(
        "id,name,plan,a1,a2,a3,a4\nacme,Acme,enterprise,1,2,3,4\nbeta,Beta,,1,2,3,4\n"
    )
    imported = beachhead(tmp_path, "import", "accounts", "accounts.csv", "--data", "d")
    assert imported.returncode == 0, imported.stderr
    table = beachhead(tmp_path, "accounts", "--data", "d").stdout.splitlines()
    header = next(line for line in table if "members" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:3] == ["id", "plan", "stage"]
    acme = next(line for line in table if " acme " in line)
    # plan sorts after a1..a4 and name, so the traits cell (4 shown) does not show it
    assert [c.strip() for c in acme.strip("│ ").split("│")][:2] == ["acme", "enterprise"]
