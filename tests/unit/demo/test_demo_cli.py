"""``beachhead demo generate`` on the real Typer app (bare ``demo``: test_demo_run*.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beachhead.cli.main import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("BEACHHEAD_"):
            monkeypatch.delenv(name)
    return CliRunner()


def test_generate_writes_the_folder_and_reports(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["demo", "generate", "--scale", "4000", "--seed", "9", "--out", "d"])
    assert result.exit_code == 0, result.output
    assert "messages" in result.stdout and "seed 9" in result.stdout
    names = sorted(p.name for p in (tmp_path / "d").iterdir())
    assert names == ["accounts.csv", "events.jsonl", "manifest.json", "sales_org.yml", "users.csv"]


def test_generate_json_is_the_manifest_alone_on_stdout(cli: CliRunner, tmp_path: Path) -> None:
    args = ["demo", "generate", "--scale", "3000", "--out", "d", "--format", "json"]
    args += ["--data", "ignored", "--config", "ignored.yml", "--end", "2026-06-01"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest == json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["seed"] == 42 and manifest["end"] == "2026-06-01T00:00:00.000Z"
    assert not (tmp_path / "ignored").exists()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--scale", "tiny"], "scale must be"),
        (["--scale", "50"], "at least"),
        (["--end", "2026-13-01"], "--end must be an ISO-8601 time"),
    ],
)
def test_bad_options_exit_2_with_one_line(cli: CliRunner, args: list[str], reason: str) -> None:
    result = cli.invoke(app, ["demo", "generate", *args])
    assert result.exit_code == 2
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
