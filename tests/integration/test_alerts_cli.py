"""``beachhead deliver`` and ``serve``'s deliverer as real processes, against loopback receivers.

Rows are queued with ``enqueue`` on the data folder's state store (in production the
lifecycle does it during ``evaluate``). The kill test SIGKILLs a ``deliver`` process
while the receiver holds its request open, then reruns it: nothing is lost, and a
delivery that was (possibly) received before the kill comes again only under the same
``X-Beachhead-Event-Id`` with the same body.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "alerts"))

from alerts_support import Receiver, Reply, config_with, qualified, running
from test_serve import Server, cli, full_env, settings_of

from beachhead.alerts.outbox import enqueue
from beachhead.alerts.webhook import verify
from beachhead.store.outbox_models import list_rows
from beachhead.store.state import StateStore

CONFIG = config_with(
    "alerts:\n"
    "  - on: qualified\n    touch: [high]\n"
    '    webhook: {url: "${HOOK_URL}/hook", secret: "${HOOK_SECRET}"}\n'
    '  - on: qualified\n    touch: [low]\n    slack: {webhook_url: "${HOOK_URL}/slack"}\n'
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


def _state(env: dict[str, str]) -> StateStore:
    settings = settings_of(env)
    settings.data.mkdir(parents=True, exist_ok=True)
    return StateStore(settings.state_url)


def _queue(env: dict[str, str], touches: list[str]) -> None:
    state = _state(env)
    try:
        with state.session() as s, s.begin():
            for i, touch in enumerate(touches):
                enqueue(s, CONFIG, qualified(qid=f"q{i}", entity_id=f"u_{i}", touch=touch))
    finally:
        state.close()


def _statuses(env: dict[str, str]) -> Counter[str]:
    state = _state(env)
    try:
        return Counter(r.status for r in list_rows(state.session()))
    finally:
        state.close()


def _env(backend_env: dict[str, str], receiver: Receiver, **extra: str) -> dict[str, str]:
    return {**backend_env, "HOOK_URL": receiver.url, "HOOK_SECRET": "s3cret", **extra}


def test_deliver_sends_what_is_due_and_reports(
    backend_env: dict[str, str], receiver: Receiver
) -> None:
    env = _env(backend_env, receiver)
    _queue(env, ["high", "low", "high", "none"])  # "none" matches no alert
    out = json.loads(cli(env, "deliver", "--format", "json").stdout)
    assert (out["delivered"], out["failed"], out["gave_up"], out["waiting"]) == (3, 0, 0, 0)
    assert sorted(d["target"] for d in out["deliveries"]) == [
        "alerts[0].webhook",
        "alerts[0].webhook",
        "alerts[1].slack",
    ]
    hooks = [r for r in receiver.requests if r.path == "/hook"]
    assert len(hooks) == 2
    assert all(verify("s3cret", r.body, r.header("X-Beachhead-Signature")) for r in hooks)
    [slack] = [r for r in receiver.requests if r.path == "/slack"]
    assert set(slack.json()) == {"text", "blocks"}
    again = cli(env, "deliver").stdout
    assert "delivered" in again and "waiting" in again
    assert len(receiver.requests) == 3


def test_deliver_reports_failures_and_missing_variables(
    backend_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    down = Receiver([Reply(500, b"down")]).start()
    try:
        env = _env(backend_env, down)
        _queue(env, ["high"])
        env_no_secret = {k: v for k, v in env.items() if k != "HOOK_SECRET"}
        out = json.loads(cli(env_no_secret, "deliver", "--format", "json").stdout)
        assert (out["delivered"], out["failed"], out["waiting"]) == (0, 1, 1)
        assert "HOOK_SECRET" in out["deliveries"][0]["error"]
        assert down.requests == []
        # the retry is not due yet: nothing is sent
        out = json.loads(cli(env, "deliver", "--format", "json").stdout)
        assert out["deliveries"] == [] and out["waiting"] == 1
        table = cli(env, "deliver").stdout
        assert "waiting" in table and "1" in table
    finally:
        down.stop()


@pytest.mark.parametrize(
    ("variable", "value"), [("BEACHHEAD_ALERT_GIVE_UP", "soon"), ("BEACHHEAD_ALERT_WORKERS", "0")]
)
def test_bad_alert_setting_is_a_one_line_error(data_dir: Path, variable: str, value: str) -> None:
    """A span that does not parse, and no workers at all (was quietly one)."""
    env = {"BEACHHEAD_DATA": str(data_dir), variable: value}
    proc = cli(env, "deliver", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: bad setting {variable}={value!r}: ")
    assert proc.stderr.count("\n") == 1


@pytest.mark.slow
def test_sigkill_mid_delivery_loses_nothing_and_resends_only_under_the_same_id(
    backend_env: dict[str, str],
) -> None:
    stall = Receiver([Reply(200, stall=True), Reply(200)]).start()
    try:
        # one delivery at a time; lease 12s (long enough for the first rerun to finish
        # inside it even on a loaded machine)
        env = _env(
            backend_env,
            stall,
            BEACHHEAD_ALERT_WORKERS="1",
            BEACHHEAD_ALERT_TIMEOUT="3s",
            BEACHHEAD_ALERT_LEASE="12s",
        )
        _queue(env, ["high", "low", "high", "high", "low"])
        proc = subprocess.Popen(
            [sys.executable, "-m", "beachhead", "deliver"],
            env=full_env(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert stall.stalled.wait(60), "the deliverer never reached the receiver"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed_at = time.monotonic()
        stall.release()  # the receiver answers 200 into a dead connection
        assert _statuses(env) == Counter({"sending": 1, "pending": 4})
        # the killed process's claim holds until its lease ends; the rest go now
        first = json.loads(cli(env, "deliver", "--format", "json").stdout)
        assert (first["delivered"], first["waiting"]) == (4, 1)
        assert _statuses(env) == Counter({"sending": 1, "delivered": 4})
        time.sleep(max(0.0, 12.5 - (time.monotonic() - killed_at)))
        second = json.loads(cli(env, "deliver", "--format", "json").stdout)
        assert second["delivered"] == 1
        assert _statuses(env) == Counter({"delivered": 5})
        acked = stall.ok_requests()
        per_id = Counter(r.header("X-Beachhead-Event-Id") for r in acked)
        assert len(per_id) == 5  # every delivery arrived
        repeated = [key for key, n in per_id.items() if n > 1]
        assert len(repeated) <= 1  # only the one in flight at the kill may come twice ...
        for key in repeated:  # ... and then as the same delivery
            assert key == second["deliveries"][0]["id"]
            assert len({r.body for r in acked if r.header("X-Beachhead-Event-Id") == key}) == 1
        bodies_by_id = {r.header("X-Beachhead-Event-Id"): r for r in acked}
        hooks = [r for r in bodies_by_id.values() if r.path == "/hook"]
        assert all(verify("s3cret", r.body, r.header("X-Beachhead-Signature")) for r in hooks)
    finally:
        stall.stop()


@pytest.mark.slow
def test_several_deliver_processes_never_send_one_delivery_twice(
    backend_env: dict[str, str],
) -> None:
    slow = Receiver([Reply(200, delay=0.02)]).start()
    try:
        env = _env(backend_env, slow)
        _queue(env, ["high", "low"] * 15)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "beachhead", "deliver", "--format", "json"],
                env=full_env(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        assert sum(o["delivered"] for o in outs) == 30
        ids = [r.header("X-Beachhead-Event-Id") for r in slow.requests]
        assert len(ids) == len(set(ids)) == 30
        assert _statuses(env) == Counter({"delivered": 30})
    finally:
        slow.stop()


@pytest.mark.slow
def test_serve_delivers_in_the_background(
    backend_env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    env = _env(backend_env, receiver, BEACHHEAD_ALERT_POLL="200ms")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        _queue(env, ["high", "low"])
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(r.path for r in receiver.requests) == ["/hook", "/slack"]
        assert _statuses(env) == Counter({"delivered": 2})
    finally:
        server.stop()
