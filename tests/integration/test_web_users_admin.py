"""``beachhead users-admin``: the first admin from the command line, then roles and teams;
the user it makes can sign in to the web app. Both backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from test_serve import cli
from web_support import sign_in, web_app, write_config

from beachhead.config import Settings


def test_create_list_set_role_set_team(backend_env: dict[str, str], tmp_path: Path) -> None:
    # --team must name a team of the definitions (mid_market, enterprise: web_support.TEAMS)
    backend_env = {**backend_env, "BEACHHEAD_CONFIG": str(write_config(tmp_path))}
    made = cli(
        backend_env,
        "users-admin",
        "create",
        "--email",
        "Root@Example.com",
        "--role",
        "admin",
        "--password",
        "a long password",
    )
    assert "Created root@example.com: admin" in made.stdout
    dup = cli(
        backend_env,
        "users-admin",
        "create",
        "--email",
        "root@example.com",
        "--password",
        "a long password",
        check=False,
    )
    assert dup.returncode == 1 and "already exists" in dup.stderr and dup.stderr.count("\n") == 1
    short = cli(
        backend_env,
        "users-admin",
        "create",
        "--email",
        "x@example.com",
        "--password",
        "short",
        check=False,
    )
    assert short.returncode == 1 and "8 characters" in short.stderr
    cli(
        backend_env,
        "users-admin",
        "create",
        "--email",
        "ana@example.com",
        "--password",
        "another password",
        "--team",
        "mid_market",
    )
    cli(backend_env, "users-admin", "set-role", "--email", "ana@example.com", "--role", "manager")
    cli(
        backend_env, "users-admin", "set-team", "--email", "ana@example.com", "--team", "enterprise"
    )
    listed = json.loads(cli(backend_env, "users-admin", "list", "--format", "json").stdout)
    assert listed["users"] == [
        {
            "email": "ana@example.com",
            "role": "manager",
            "team": "enterprise",
            "name": None,
            "disabled": False,
        },
        {
            "email": "root@example.com",
            "role": "admin",
            "team": None,
            "name": None,
            "disabled": False,
        },
    ]
    assert "root@example.com" in cli(backend_env, "users-admin", "list").stdout
    bad = cli(
        backend_env,
        "users-admin",
        "set-role",
        "--email",
        "ana@example.com",
        "--role",
        "boss",
        check=False,
    )
    assert bad.returncode == 1 and "role must be one of" in bad.stderr


def test_password_prompt_and_sign_in(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from beachhead.cli.main import app

    env = {
        "BEACHHEAD_DATA": str(tmp_path / "data"),
        "BEACHHEAD_CONFIG": str(write_config(tmp_path)),
    }
    result = CliRunner().invoke(
        app,
        ["users-admin", "create", "--email", "first@example.com", "--role", "admin"],
        input="typed password\ntyped password\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "typed password" not in result.stdout
    settings = Settings(data=tmp_path / "data", config=tmp_path / "beachhead.yml")
    with web_app(settings) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "first@example.com", "typed password")
        assert client.get("/api/v1/me").json()["role"] == "admin"
        assert client.get("/settings").status_code == 200


def test_no_password_without_a_terminal_is_one_line(tmp_path: Path) -> None:
    """Nothing on stdin and no --password: one line, exit 1 (was getpass's warning, its
    source line and 'aborted')."""
    args = ["create", "--email", "x@example.com", "--role", "admin", "--data", str(tmp_path)]
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("beachhead")), "users-admin", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        "error: no password: pass --password, pipe it on stdin, or run in a terminal"
    ]
