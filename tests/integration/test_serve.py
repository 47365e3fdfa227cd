"""``beachhead serve`` as a real subprocess: serve.json, find_server, CLI beside the server.

The ``Server`` helper here is shared by the other HTTP suites (``from test_serve import``).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from beachhead.config import Settings
from beachhead.ingest.message import Message
from beachhead.runtime import call_service, find_server, read_server_info
from beachhead.store.events import open_event_store

START_TIMEOUT = 60.0


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(
        data=Path(env["BEACHHEAD_DATA"]), database_url=env.get("BEACHHEAD_DATABASE_URL")
    )


def full_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    return {**base, **env}


def cli(
    env: dict[str, str], *args: str, check: bool = True, subprocess_: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``beachhead ARGS`` with ``env``: in this process (Typer's runner, fast), or as a
    separate process with ``subprocess_=True``."""
    if subprocess_:
        proc = subprocess.run(
            [sys.executable, "-m", "beachhead", *args],
            env=full_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
    else:
        from typer.testing import CliRunner

        from beachhead.cli.main import app

        unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("BEACHHEAD_")}
        result = CliRunner().invoke(app, list(args), env={**unset, **env})
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        proc = subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"beachhead {' '.join(args)} failed: {proc.stderr}{proc.stdout}")
    return proc


def create_key(env: dict[str, str], name: str = "test") -> str:
    out = cli(env, "keys", "create", "--name", name).stdout
    return out.strip().splitlines()[-1]


class Server:
    """A ``beachhead serve --port 0`` subprocess on loopback."""

    def __init__(self, env: dict[str, str], log: Path, as_json: bool = False) -> None:
        self.env = env
        self.log = log
        self.as_json = as_json  # serve --format json: stdout says {"url", "pid", "data"}
        self.said: dict[str, object] = {}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as err:
            args = ["serve", "--host", "127.0.0.1", "--port", "0"]
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "beachhead", *args, *self._format()],
                env=full_env(self.env),
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if self.as_json:
            self.said = json.loads(self.url)
            self.url = str(self.said["url"])
        assert self.url.startswith("http://127.0.0.1:"), self.log.read_text()
        settings = settings_of(self.env)
        deadline = time.monotonic() + START_TIMEOUT
        while find_server(settings) is None:
            assert self.proc.poll() is None, f"serve exited: {self.log.read_text()}"
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.05)
        return self

    def _format(self) -> list[str]:
        return ["--format", "json"] if self.as_json else []

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self._close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._close()

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


def embedded(tmp_path: Path) -> dict[str, str]:
    """The environment of an embedded data folder under ``tmp_path``."""
    return {"BEACHHEAD_DATA": str(tmp_path / "data")}


def serving(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """Body of a ``server`` fixture: a started server, stopped afterwards."""
    srv = Server(env, tmp_path / "serve.log").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    return embedded(tmp_path)


@pytest.fixture
def server(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    yield from serving(embedded_env, tmp_path)


def stored_messages(env: dict[str, str]) -> list[Message]:
    """Every stored message, read directly (the server must be stopped on DuckDB)."""
    store = open_event_store(settings_of(env))
    try:
        return list(store.messages())
    finally:
        store.close()


def events_count(env: dict[str, str]) -> int:
    result: dict[str, Any] = call_service(settings_of(env), "events_count", {})
    return int(result["events"])


# -- tests ---------------------------------------------------------------------------------


def test_serve_advertises_itself_and_withdraws(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    srv = Server(embedded_env, tmp_path / "serve.log").start()
    settings = settings_of(embedded_env)
    path = settings.data / "serve.json"
    info = read_server_info(settings)
    assert info is not None and srv.proc is not None
    assert info.pid == srv.proc.pid
    assert info.url == srv.url
    assert len(info.token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert find_server(settings) == info
    srv.stop()
    assert not path.exists()
    assert find_server(settings) is None


def test_stale_serve_json_is_not_a_server(embedded_env: dict[str, str], tmp_path: Path) -> None:
    srv = Server(embedded_env, tmp_path / "serve.log").start()
    settings = settings_of(embedded_env)
    srv.kill()  # SIGKILL: serve.json stays behind, naming a dead pid
    assert (settings.data / "serve.json").exists()
    assert find_server(settings) is None
    # the CLI then opens the store itself
    assert events_count(embedded_env) == 0


def test_a_second_serve_on_the_same_data_folder_fails_in_one_line(
    server: Server, embedded_env: dict[str, str]
) -> None:
    proc = cli(embedded_env, "serve", "--port", "0", check=False, subprocess_=True)
    assert (proc.returncode, proc.stdout) == (1, "")
    [line] = proc.stderr.splitlines()
    assert "is in use by another beachhead serve" in line and server.url in line


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("BEACHHEAD_EVAL_INTERVAL", "bogus", "expected a span like 30s"),
        ("BEACHHEAD_ALERT_BACKOFF", "soon", "expected a span like 30s"),
        ("BEACHHEAD_PORT", "abc", "valid integer"),
        ("BEACHHEAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none", "state store"),
        ("BEACHHEAD_FREE_MAIL_FILE", "/nonexistent/free-mail.txt", "no such file"),
        ("BEACHHEAD_WAREHOUSE_URL", "duckdb:///w.duckdb", "not supported yet"),
    ],
)
def test_serve_with_a_bad_setting_fails_in_one_line_before_serving(
    embedded_env: dict[str, str], variable: str, value: str, says: str
) -> None:
    """Not "serving on URL" and then a traceback: one line, exit 1, nothing on stdout."""
    env = {**embedded_env, variable: value}
    proc = cli(env, "serve", "--port", "0", check=False, subprocess_=True)
    assert (proc.returncode, proc.stdout) == (1, "")
    [line] = proc.stderr.splitlines()
    assert line.startswith("error: ") and says in line
    if variable != "BEACHHEAD_DATABASE_URL":
        assert f"bad setting {variable}={value!r}" in line


def test_cli_works_beside_the_server(server: Server, embedded_env: dict[str, str]) -> None:
    key = create_key(embedded_env, "web")
    listed = json.loads(
        cli(embedded_env, "keys", "list", "--format", "json", subprocess_=True).stdout
    )
    assert [k["name"] for k in listed["keys"]] == ["web"]
    assert key not in json.dumps(listed)  # never the full key
    import httpx

    body = {"batch": [{"type": "track", "userId": "u1", "event": "Logged In", "messageId": "m1"}]}
    assert httpx.post(f"{server.url}/v1/batch", json=body, auth=(key, "")).status_code == 200
    # an events-store service while serve holds DuckDB: executed by the server
    assert events_count(embedded_env) == 1
    migrated = cli(embedded_env, "migrate", subprocess_=True)
    assert "ready (1 messages)" in migrated.stdout
    assert "lock" not in migrated.stderr.lower()
    as_json = cli(embedded_env, "migrate", "--format", "json", subprocess_=True).stdout
    assert json.loads(as_json) == {"state_revision": "0005", "events": 1}


def test_serve_format_json_says_where_it_listens(
    embedded_env: dict[str, str], tmp_path: Path
) -> None:
    srv = Server(embedded_env, tmp_path / "serve.log", as_json=True).start()
    try:
        assert set(srv.said) == {"url", "pid", "data"}
        assert srv.proc is not None and srv.said["pid"] == srv.proc.pid
        assert srv.said["data"] == str(settings_of(embedded_env).data.resolve())
        import httpx

        assert httpx.get(f"{srv.url}/signin").status_code == 200
    finally:
        srv.stop()


def _hold_duckdb(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the DuckDB file (as a long CLI import would)."""
    code = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(float(sys.argv[2])); c.close()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_cli_waits_for_another_cli_to_let_go(embedded_env: dict[str, str]) -> None:
    cli(embedded_env, "migrate")
    holder = _hold_duckdb(settings_of(embedded_env).duckdb_path, 2.0)
    try:
        started = time.monotonic()
        done = cli(embedded_env, "migrate")
        assert time.monotonic() - started >= 1.0  # it had to wait
        assert "events store: ready" in done.stdout
    finally:
        holder.wait(30)


@pytest.mark.slow
def test_cli_fails_in_one_line_when_duckdb_stays_held(embedded_env: dict[str, str]) -> None:
    cli(embedded_env, "migrate")
    holder = _hold_duckdb(settings_of(embedded_env).duckdb_path, 30.0)
    try:
        started = time.monotonic()
        failed = cli(embedded_env, "migrate", check=False, subprocess_=True)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(30)
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert "in use by" in lines[0] and str(holder.pid) in lines[0]
    assert 9.5 <= waited < 25
