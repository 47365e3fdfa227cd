"""A setting that cannot be used is one line naming it, exit 1, for every command that
opens the stores (was a traceback: a missing free-mail file, a database URL that is not
PostgreSQL's or cannot be reached), and ``BEACHHEAD_WAREHOUSE_URL``, named by
interfaces.md but not built, is refused instead of silently ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BEACHHEAD = str(Path(sys.executable).with_name("beachhead"))

CASES = [
    (
        "BEACHHEAD_FREE_MAIL_FILE",
        "/nonexistent/free-mail.txt",
        "error: bad setting BEACHHEAD_FREE_MAIL_FILE='/nonexistent/free-mail.txt': no such file",
    ),
    (
        "BEACHHEAD_WAREHOUSE_URL",
        "duckdb:///w.duckdb",
        "error: bad setting BEACHHEAD_WAREHOUSE_URL='duckdb:///w.duckdb': reading events,"
        " users and accounts from a warehouse is not supported yet",
    ),
    (
        "BEACHHEAD_DATABASE_URL",
        "bogus://x",
        "error: bad setting BEACHHEAD_DATABASE_URL='bogus://x': expected a PostgreSQL URL",
    ),
    (
        "BEACHHEAD_DATABASE_URL",
        "postgresql://postgres@127.0.0.1:1/none",
        "error: cannot use BEACHHEAD_DATABASE_URL: connection failed:",
    ),
]
COMMANDS = [["users"], ["evaluate", "--dry-run"], ["keys", "list"], ["rejects"]]


@pytest.mark.parametrize(("variable", "value", "says"), CASES)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_setting_that_cannot_be_used_is_one_line(
    tmp_path: Path, command: list[str], variable: str, value: str, says: str
) -> None:
    (tmp_path / "beachhead.yml").write_text("version: 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    env[variable] = value
    proc = subprocess.run(
        [BEACHHEAD, *command, "--data", str(tmp_path / "d"), "--config", "beachhead.yml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith(says), line
    assert not (tmp_path / "d").exists() or variable == "BEACHHEAD_DATABASE_URL"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("foreign", "says"),
    [
        (
            "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);"
            " INSERT INTO alembic_version VALUES ('9f1c2b3a4d5e')",
            "its alembic_version table names a revision Beachhead does not know",
        ),
        ("CREATE TABLE write_keys (k text)", 'relation "write_keys" already exists'),
        ("CREATE TABLE events (id serial, name text)", 'relation "events" already exists'),
    ],
)
def test_a_database_with_another_applications_tables_is_one_line(
    tmp_path: Path, pg_url: str, foreign: str, says: str
) -> None:
    """Another application's tables under Beachhead's names: one line naming the clash,
    exit 1 (were 100-180-line tracebacks), and its table is left as it was."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(foreign)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    env["BEACHHEAD_DATABASE_URL"] = pg_url
    command = ["rejects"] if "events" not in foreign else ["import", "events", "-"]
    proc = subprocess.run(
        [BEACHHEAD, *command, "--data", str(tmp_path / "d")],
        env=env,
        input='{"type": "track", "userId": "u", "event": "E"}\n',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: cannot use BEACHHEAD_DATABASE_URL: ") and says in line
    assert "database of its own" in line
