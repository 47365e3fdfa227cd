"""`beachhead init` and `beachhead check` through the real entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = shutil.which("beachhead", path=str(Path(sys.executable).parent))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert BIN is not None, "the beachhead entry point is not installed in the venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    return subprocess.run(
        [BIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_init_then_check(tmp_path: Path) -> None:
    r = run("init", str(tmp_path / "proj"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    written = tmp_path / "proj" / "beachhead.yml"
    assert "free_to_paid" in written.read_text()
    again = run("init", str(tmp_path / "proj"), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert run("init", str(tmp_path / "proj"), "--force", cwd=tmp_path).returncode == 0
    ok = run("check", "--config", str(written), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "free_to_paid" in ok.stdout and "valid" in ok.stdout
    js = run("check", "--config", str(written), "--format", "json", cwd=tmp_path)
    body = json.loads(js.stdout)
    assert body["valid"] is True
    assert [p["key"] for p in body["pqls"]] == [
        "free_to_paid",
        "seat_expansion",
        "enterprise_conversion",
        "enterprise_expansion",
    ]


def test_check_prints_file_line_col(tmp_path: Path) -> None:
    bad = tmp_path / "beachhead.yml"
    bad.write_text(
        "pqls:\n"
        "  - key: a\n"
        "    level: account\n"
        "    when:\n"
        "      all:\n"
        "        - {trait: user.title, eq: CTO}\n"
        "        - {event: Logged In, within: 7days}\n"
    )
    r = run("check", cwd=tmp_path)  # default ./beachhead.yml
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(
        "beachhead.yml:6:19: pqls[0].when.all[0].trait: trait 'user.title' is a user trait"
    )
    assert lines[1].startswith("beachhead.yml:7:38: pqls[0].when.all[1].within: expected a")
    assert lines[2] == "2 errors in beachhead.yml"
    assert r.stdout == ""
    js = run("check", "--format", "json", cwd=tmp_path)
    assert js.returncode == 1
    errors = json.loads(js.stdout)["errors"]
    assert [(e["line"], e["column"], e["path"]) for e in errors] == [
        (6, 19, "pqls[0].when.all[0].trait"),
        (7, 38, "pqls[0].when.all[1].within"),
    ]


def test_check_without_a_file(tmp_path: Path) -> None:
    r = run("check", cwd=tmp_path)
    assert r.returncode == 1
    assert "beachhead init" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["init", "check"])
def test_help(tmp_path: Path, command: str) -> None:
    r = run(command, "--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "--config" in r.stdout and "--data" in r.stdout
