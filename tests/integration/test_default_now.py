"""A command's default ``as_of`` (now) sees what was stored just before it, in the same
second too: it was cut to the second, so rows an import had just stored (their time the
import's, with microseconds) were left out of ``users``/``evaluate`` for up to a second."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from beachhead.cli.main import app
from beachhead.entities_service import parse_as_of
from beachhead.lifecycle_service import now_utc


def test_the_default_now_is_not_cut_to_the_second() -> None:
    for now in (now_utc, lambda: parse_as_of(None)):
        before = datetime.now(UTC)
        assert before <= now() <= datetime.now(UTC)


def test_rows_imported_just_before_are_listed(tmp_path: Path) -> None:
    csv = tmp_path / "users.csv"
    csv.write_text("id,plan\n" + "".join(f"u{i},free\n" for i in range(5)))
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("BEACHHEAD_")}
    env["BEACHHEAD_DATA"] = str(tmp_path / "d")
    runner = CliRunner()
    for _ in range(3):  # each round imports and lists within a few ms, in one second or two
        assert runner.invoke(app, ["import", "users", str(csv)], env=env).exit_code == 0
        listed = runner.invoke(app, ["users", "--format", "json"], env=env)
        users = orjson.loads(listed.stdout)["users"]
        assert [u["id"] for u in users] == [f"u{i}" for i in range(5)]
