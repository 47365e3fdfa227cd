"""``beachhead`` starts quickly: command modules import their heavy dependencies (the stores,
the engine, the web app, argon2) inside the commands, so ``--help`` loads none of them and
``keys list`` only what the state store needs. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# what no command needs just to be listed
NOT_FOR_HELP = [
    "alembic",
    "argon2",
    "duckdb",
    "fastapi",
    "ibis",
    "numpy",
    "pyarrow",
    "sqlalchemy",
    "uvicorn",
    "beachhead.lifecycle_service",
    "beachhead.store.state",
    "beachhead.web",
]
# what reading write keys from the state store does not need
NOT_FOR_KEYS = ["argon2", "duckdb", "fastapi", "ibis", "numpy", "pyarrow", "uvicorn"]

PROBE = """
import contextlib, io, json, sys
from beachhead.cli.main import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        app(sys.argv[2:], prog_name="beachhead")
    except SystemExit:
        pass
print(json.dumps({"out": out.getvalue(),
                  "loaded": [m for m in json.loads(sys.argv[1]) if m in sys.modules]}))
"""


def _probe(args: list[str], watch: list[str]) -> tuple[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watch), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(proc.stdout.splitlines()[-1])
    return result["out"], result["loaded"]


def test_help_lists_every_command_without_loading_the_heavy_parts() -> None:
    out, loaded = _probe(["--help"], NOT_FOR_HELP)
    assert loaded == []
    import typer.main

    from beachhead.cli.main import app

    group = typer.main.get_command(app)
    ctx = group.make_context("beachhead", ["--help"], resilient_parsing=True)
    names = group.list_commands(ctx)  # type: ignore[attr-defined]
    assert {"check", "evaluate", "import", "keys", "serve", "users-admin", "deliver"} <= set(names)
    for name in names:
        cmd = group.get_command(ctx, name)  # type: ignore[attr-defined]
        first_words = " ".join((cmd.get_short_help_str(limit=200) or "").split()[:3])
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(name + " ")), "")
        assert first_words and first_words in line, (name, first_words, line)


@pytest.mark.parametrize(
    "command", [["keys", "--help"], ["import", "--help"], ["evaluate", "--help"]]
)
def test_command_help_loads_no_store(command: list[str]) -> None:
    out, loaded = _probe(command, NOT_FOR_HELP)
    assert "Usage:" in out
    assert loaded == []


def test_keys_list_loads_only_the_state_store(tmp_path: Path) -> None:
    out, loaded = _probe(["keys", "list", "--data", str(tmp_path / "data")], NOT_FOR_KEYS)
    assert "No write keys yet" in out
    assert loaded == []
