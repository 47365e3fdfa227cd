"""Browser tests: a real ``beachhead serve`` over a loaded demo company, driven in Chromium.

Debian's Chromium (``/usr/bin/chromium``, ``scripts/ensure-chromium.sh``) is driven by
Playwright; a browser is never downloaded. Without Chromium (or the playwright package) the
tests are skipped with the reason. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import ADMIN, CHROMIUM, CHROMIUM_ARGS, PASSWORD, Server, sign_in

from beachhead.demo_load import DemoFolder, load_demo
from beachhead.lifecycle_service import read_config
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):  # CI installs Chromium (make chromium): never skip there
        raise pytest.UsageError(f"CI needs Chromium at {CHROMIUM}; `make chromium` installs it")
    skip = pytest.mark.skip(reason=f"Chromium is not installed at {CHROMIUM} (make chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def _queue_rep(demo: DemoFolder) -> str:
    """A rep whose team queue holds an unassigned open qualification (something to claim)."""
    state = StateStore(demo.settings.state_url)
    try:
        config = read_config(demo.settings.config)
        teams = {q.team for q in QualificationStore(state).find("open") if q.rep is None and q.team}
        for team in config.teams:
            if team.key in teams and team.reps:
                return team.reps[0].email
        raise RuntimeError(f"the demo has no unassigned queue work (teams {teams})")
    finally:
        state.close()


def _people(demo: DemoFolder, rep: str) -> None:
    config = read_config(demo.settings.config)
    team = next(t.key for t in config.teams if any(r.email == rep for r in t.reps))
    state = StateStore(demo.settings.state_url)
    try:
        users = AppUserStore(state)
        users.create(ADMIN, PASSWORD, "admin")
        users.create(rep, PASSWORD, "rep", team)
    finally:
        state.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    root = tmp_path_factory.mktemp("e2e")
    demo = load_demo(root, events=20_000, seed=7)
    rep = _queue_rep(demo)
    _people(demo, rep)
    env = {
        **os.environ,
        "BEACHHEAD_DATA": str(demo.settings.data),
        "BEACHHEAD_CONFIG": str(demo.settings.config),
        # the recorded state is the fixture's: no background evaluation at the wall clock
        "BEACHHEAD_EVAL_INTERVAL": "0",
    }
    exe = Path(sys.executable).with_name("beachhead")
    cmd = [str(exe) if exe.exists() else shutil.which("beachhead") or "beachhead"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise RuntimeError(f"beachhead serve did not print its URL (got {line!r})")
    try:
        yield Server(line, demo, rep, proc)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def rep_page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, server.url, server.rep)
    yield page
    context.close()


@pytest.fixture
def admin_page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sign_in(page, server.url, ADMIN)
    yield page
    context.close()
