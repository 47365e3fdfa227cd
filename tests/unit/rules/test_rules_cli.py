"""`beachhead init` and `beachhead check`: in-process on the real Typer app, and once through
the installed ``beachhead`` entry point in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from beachhead.cli.main import app

BIN = shutil.which("beachhead", path=str(Path(sys.executable).parent))
BAD = (
    "pqls:\n"
    "  - key: a\n"
    "    level: account\n"
    "    when:\n"
    "      all:\n"
    "        - {trait: user.title, eq: CTO}\n"
    "        - {event: Logged In, within: 7days}\n"
)
FIRST = "beachhead.yml:6:19: pqls[0].when.all[0].trait: trait 'user.title' is a user trait"
SECOND = "beachhead.yml:7:38: pqls[0].when.all[1].within: expected a duration like 30m"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BEACHHEAD_"):
            monkeypatch.delenv(name)
    return CliRunner()


def invoke(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, list(args))


def test_init_then_check(cli: CliRunner, tmp_path: Path) -> None:
    r = invoke(cli, "init", "proj")
    assert r.exit_code == 0, r.stderr
    written = tmp_path / "proj" / "beachhead.yml"
    assert "free_to_paid" in written.read_text()
    again = invoke(cli, "init", "proj")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert invoke(cli, "init", "proj", "--force").exit_code == 0
    ok = invoke(cli, "check", "--config", str(written))
    assert ok.exit_code == 0, ok.stderr
    assert "free_to_paid" in ok.stdout and "valid" in ok.stdout
    js = invoke(cli, "check", "--config", str(written), "--format", "json")
    body = json.loads(js.stdout)
    assert body["valid"] is True and body["features"] > 0
    assert [p["key"] for p in body["pqls"]] == [
        "free_to_paid",
        "seat_expansion",
        "enterprise_conversion",
        "enterprise_expansion",
    ]


def test_init_follows_config(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "conf" / "defs.yml"
    assert invoke(cli, "init", "--config", str(target)).exit_code == 0
    assert target.exists()


def test_check_reports_every_error(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "beachhead.yml").write_text(BAD)
    r = invoke(cli, "check")  # default ./beachhead.yml
    assert r.exit_code == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith(FIRST) and lines[1].startswith(SECOND)
    assert lines[2] == "2 errors in beachhead.yml"
    js = invoke(cli, "check", "--format", "json")
    assert js.exit_code == 1
    errors = json.loads(js.stdout)["errors"]
    assert [(e["line"], e["column"], e["path"]) for e in errors] == [
        (6, 19, "pqls[0].when.all[0].trait"),
        (7, 38, "pqls[0].when.all[1].within"),
    ]


def test_check_warns_about_unset_env(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "beachhead.yml").write_text(
        "alerts:\n  - {on: qualified, slack: {webhook_url: '${BH_TEST_UNSET_HOOK}'}}\n"
    )
    r = invoke(cli, "check")
    assert r.exit_code == 0
    assert "BH_TEST_UNSET_HOOK is not set" in r.stderr


def test_check_warns_about_alerts_that_repeat_or_never_fire(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "beachhead.yml").write_text(
        "alerts:\n"
        "  - {on: qualified, webhook: {url: 'http://127.0.0.1:9/crm'}}\n"
        "  - {on: qualified, touch: [high], webhook: {url: 'http://127.0.0.1:9/crm'}}\n"
        "  - {on: qualified, slack: {webhook_url: 'http://127.0.0.1:9/crm'}}\n"
        "  - {on: stage_changed, touch: [high], webhook: {url: 'http://127.0.0.1:9/s'}}\n"
        "  - {on: stage_changed, webhook: {url: 'http://127.0.0.1:9/s2'}}\n"
        # no event is both: the same URL is no warning
        "  - {on: assigned, webhook: {url: 'http://127.0.0.1:9/crm'}}\n"
        "  - {on: qualified, touch: [low], webhook: {url: 'http://127.0.0.1:9/t'}}\n"
        "  - {on: qualified, touch: [high], webhook: {url: 'http://127.0.0.1:9/t'}}\n"
        "  - {on: qualified, touch: [none, low], webhook: {url: 'http://127.0.0.1:9/t'}}\n"
    )
    r = invoke(cli, "check", "--format", "json")
    assert r.exit_code == 0, r.stderr
    want = [
        "alerts[1]: sends to the same webhook URL as alerts[0]; an event both match is sent "
        "there once, as alerts[0] says",
        "alerts[3]: a stage_changed event has no PQL and no touch, so its touch filter never "
        "matches and the alert never fires",
        "alerts[8]: sends to the same webhook URL as alerts[6]; an event both match is sent "
        "there once, as alerts[6] says",
    ]
    assert json.loads(r.stdout)["warnings"] == want
    assert r.stderr.splitlines() == [f"warning: {w}" for w in want]


def test_check_warns_when_no_routing_rule_takes_the_work(cli: CliRunner, tmp_path: Path) -> None:
    pqls = (
        "pqls:\n"
        "  - {key: quiet, level: user, when: {event: X, count: {gte: 1}}, touch: [{level: none}]}\n"
        "  - {key: loud, level: user, when: {event: X, count: {gte: 2}}}\n"
    )
    (tmp_path / "beachhead.yml").write_text(pqls)
    r = invoke(cli, "check", "--format", "json")
    assert json.loads(r.stdout)["warnings"] == [
        "no routing rules: qualifications of loud (low or high touch) are recorded without a "
        "team or rep (add teams: and routing:)"
    ]
    (tmp_path / "beachhead.yml").write_text(
        pqls + "teams: [{key: t, reps: [{email: a@x.com}]}]\nrouting: [{team: t}]\n"
    )
    r = invoke(cli, "check", "--format", "json")
    assert json.loads(r.stdout)["warnings"] == [] and r.stderr == ""


def test_check_without_a_file(cli: CliRunner) -> None:
    r = invoke(cli, "check")
    assert r.exit_code == 1
    assert "beachhead init" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["init", "check"])
def test_help(cli: CliRunner, command: str) -> None:
    r = invoke(cli, command, "--help")
    assert r.exit_code == 0
    assert "--config" in r.stdout and "--data" in r.stdout and "--format" in r.stdout


def test_entry_point_prints_file_line_col(tmp_path: Path) -> None:
    assert BIN is not None, "the beachhead entry point is not installed in the venv"
    (tmp_path / "beachhead.yml").write_text(BAD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    r = subprocess.run(
        [BIN, "check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(FIRST) and lines[1].startswith(SECOND)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["evaluate", "--bogus"], "error: No such option: --bogus (see beachhead evaluate --help)"),
        (
            ["check", "--format", "xml"],
            "error: Invalid value for '--format': 'xml' is not one of 'table', "
            "'json'. (see beachhead check --help)",
        ),
        (["nosuch"], "error: No such command 'nosuch'. (see beachhead --help)"),
    ],
)
def test_entry_point_says_a_usage_error_in_one_line(
    tmp_path: Path, args: list[str], line: str
) -> None:
    assert BIN is not None, "the beachhead entry point is not installed in the venv"
    r = subprocess.run([BIN, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr.splitlines()) == (2, "", [line])


def test_entry_point_without_a_command_shows_the_help(tmp_path: Path) -> None:
    assert BIN is not None
    r = subprocess.run([BIN], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Usage: beachhead" in r.stderr and "evaluate" in r.stderr
