"""``beachhead demo``: the replay yields every motion, conversions and stage moves; it serves.

The CLI runs for real (Typer's runner with ``--no-serve``, or a subprocess that serves on a
free loopback port); what it built is read back from the stores, not from its own report.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from beachhead.cli.main import app
from beachhead.cli.rules_cmds import template_text
from beachhead.demo.run import MARKER, demo_people, demo_settings
from beachhead.lifecycle_service import read_config
from beachhead.rules.load import load_text
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore

# The smallest company (events, seed) whose 60-day replay reaches every standard motion:
# it needs enterprise customers and 500+ employee accounts on self-serve plans.
FULL_SCALE, FULL_SEED = "80000", 42
TINY = ["--scale", "2000", "--replay-days", "0"]


def _env() -> dict[str, str | None]:
    """No BEACHHEAD_* from the caller's shell: the demo must not depend on it."""
    return {k: None for k in os.environ if k.startswith("BEACHHEAD_")}


def run_demo(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["demo", *args], env=_env())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_replay_reaches_every_motion_with_conversions_and_stage_moves(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    args = ["--no-serve", "--format", "json", "--scale", FULL_SCALE, "--seed", str(FULL_SEED)]
    code, out, err = run_demo(*args, "--data", str(root))
    assert code == 0, err
    report = orjson.loads(out)
    settings = demo_settings(root)
    config = read_config(settings.config)
    state = StateStore(settings.state_url)
    try:
        store = QualificationStore(state)
        found = store.find()
        evaluations = store.evaluations()
        moves = [c for c in store.stage_history() if not c.initial]
        users = AppUserStore(state)
        password = report["sign_in"]["password"]
        signed_in = {p["email"]: users.authenticate(p["email"], password) for p in report["people"]}
        admin = users.authenticate(report["sign_in"]["email"], password)
        people = users.list()
    finally:
        state.close()
    standard = {p.key for p in load_text(template_text()).pqls}
    assert standard == {
        "free_to_paid",
        "seat_expansion",
        "enterprise_conversion",
        "enterprise_expansion",
    }
    assert standard <= {q.pql for q in found}, {q.pql for q in found}
    converted = [q for q in found if q.status == "converted"]
    assert converted and all(q.closed_at is not None for q in converted)
    assert moves and all(m.stage != m.from_stage for m in moves)
    # day by day over the last 60 days: 61 recorded evaluations a day apart
    assert len(evaluations) == 61 == report["evaluations"]
    assert {b - a for a, b in itertools.pairwise(evaluations)} == {timedelta(days=1)}
    assert report["rejected"] == 0
    # the admin and every rep of the sales org can sign in
    assert admin is not None and admin.role == "admin"
    expected = {(p.email, p.role, p.team) for p in demo_people(config.teams)}
    assert {(u.email, u.role, u.team) for u in people} == expected
    assert all(u is not None for u in signed_in.values()) and len(signed_in) == len(expected)
    assert {p.team for p in demo_people(config.teams) if p.role == "rep"} == {
        t.key for t in config.teams
    }
    # the report matches the stores
    assert sum(report["qualifications"].values()) == len(found)
    assert report["stage_moves"] == len(moves)
    # wall and CPU seconds per phase (the replay does real work: it cannot take no CPU)
    built = ["generate", "import", "replay", "people"]
    assert list(report["timings"]) == built == list(report["cpu"])
    assert report["cpu"]["replay"] > 0 and all(v >= 0 for v in report["cpu"].values())


def test_rerun_starts_clean_and_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    root.mkdir()
    (root / MARKER).write_text('{"state": "built"}', encoding="utf-8")  # an earlier demo
    (root / "stray.txt").write_text("left over", encoding="utf-8")
    earlier = StateStore(demo_settings(root).state_url)
    AppUserStore(earlier).create("admin@tallyboard.io", "first-pass", "admin")
    earlier.close()

    code, out, err = run_demo("--no-serve", *TINY, "--data", str(root), "--password", "2nd-pass!")
    assert code == 0, err
    assert "started clean" in out
    timings = r"^Timings: generate [\d.]+s, import .*load average ([\d.]+|n/a)\)$"
    assert re.search(timings, out, re.M)
    assert re.search(r"^CPU: +generate [\d.]+s, import [\d.]+s, replay [\d.]+s", out, re.M)
    assert not (root / "stray.txt").exists()
    assert stat.S_IMODE((root / MARKER).stat().st_mode) == 0o600  # it holds the password
    assert orjson.loads((root / MARKER).read_bytes())["sign_in"]["password"] == "2nd-pass!"
    state = StateStore(demo_settings(root).state_url)
    try:
        users = AppUserStore(state)
        assert users.authenticate("admin@tallyboard.io", "first-pass") is None
        assert users.authenticate("admin@tallyboard.io", "2nd-pass!") is not None
        assert len(QualificationStore(state).evaluations()) == 1  # --replay-days 0
    finally:
        state.close()

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("my own data", encoding="utf-8")
    code, _, err = run_demo("--no-serve", *TINY, "--data", str(foreign))
    assert code == 2
    assert "not a demo folder" in err and len(err.strip().splitlines()) == 1
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "my own data"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--scale", "tiny"], "scale must be"),
        (["--replay-days", "-1"], "--replay-days"),
        (["--password", "short"], "8 characters"),
        (["--config", "no-such.yml"], "cannot read the definitions"),
    ],
)
def test_bad_options_fail_with_one_line(tmp_path: Path, args: list[str], reason: str) -> None:
    code, _, err = run_demo("--no-serve", "--data", str(tmp_path / "d"), *args)
    assert code != 0
    assert reason in err and len(err.strip().splitlines()) == 1


def test_demo_serves_the_sign_in_and_the_printed_password_works(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    root = tmp_path / "demo"
    cmd = [sys.executable, "-m", "beachhead", "demo", *TINY, "--port", "0", "--data", str(root)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.strip().startswith("Password:"):
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(180), "".join(lines)
        text = "".join(lines)
        url = re.search(r"serving on (http://127\.0\.0\.1:\d+)", text)
        email = re.search(r"Sign in:\s+(\S+)", text)
        password = re.search(r"Password:\s+(\S+)", text)
        assert url and email and password, text
        with httpx.Client(base_url=url.group(1), timeout=30) as client:
            page = client.get("/signin")
            assert page.status_code == 200 and 'name="password"' in page.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            form = {
                "csrf_token": token.group(1),
                "email": email.group(1),
                "password": password.group(1),
                "next": "/inbox",
            }
            answer = client.post("/signin", data=form)
            assert answer.status_code == 303 and answer.headers["location"] == "/inbox"
            inbox = client.get("/inbox")
            assert inbox.status_code == 200 and email.group(1) in inbox.text
        # a second demo on the folder being served is refused, and the first goes on
        code, _, err = run_demo("--no-serve", *TINY, "--data", str(root))
        assert code == 2 and "being served" in err and url.group(1) in err
        assert httpx.get(url.group(1) + "/signin", timeout=30).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert proc.returncode is not None
    deadline = time.monotonic() + 5
    while (root / "serve.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (root / "serve.json").exists()


def test_broken_definitions_fail_before_anything_is_built(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\npqls: [\n", encoding="utf-8")
    root = tmp_path / "d"
    code, _, err = run_demo("--no-serve", *TINY, "--data", str(root), "--config", str(bad))
    assert code == 1
    assert err.startswith(f"error: {bad}:") and len(err.strip().splitlines()) == 1
    assert not root.exists()
