"""``beachhead serve`` evaluates by itself: soon after ingest, and once per qualification
when several servers share one PostgreSQL.

Real ``serve`` subprocesses, real ingest over HTTP, a loopback webhook receiver. The
definitions qualify a user on one "Upgrade Clicked" and send a webhook for each new
qualification; nothing calls ``beachhead evaluate``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "alerts"))

from alerts_support import Receiver, running
from test_serve import Server, cli, create_key, embedded, settings_of

from beachhead.store.qualification_models import QualificationHistoryRow, QualificationRow
from beachhead.store.state import StateStore

CONFIG = """
version: 1
pqls:
  - key: upgrade_intent
    name: Upgrade intent
    motion: free_to_paid
    level: user
    priority: 10
    when: {event: Upgrade Clicked, within: 1d}
teams:
  - key: sales
    assign: round_robin
    reps: [{email: ana@example.com}, {email: bo@example.com}]
routing:
  - {team: sales}
alerts:
  - on: qualified
    webhook: {url: "${HOOK_URL}/hook", secret: s3cret}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


def _env(base: dict[str, str], receiver: Receiver, tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "beachhead.yml"
    cfg.write_text(CONFIG)
    return {
        **base,
        "BEACHHEAD_CONFIG": str(cfg),
        "HOOK_URL": receiver.url,
        "BEACHHEAD_EVAL_INTERVAL": "60s",  # only ingest triggers evaluations here
        "BEACHHEAD_ALERT_POLL": "30s",  # deliveries come from the kick, not the poll
    }


def _send(url: str, key: str, batch: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(key, ""), timeout=30)
    assert r.status_code == 200, r.text


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def _click(user: str, n: int) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": "Upgrade Clicked", "messageId": f"c{n}"}


@pytest.mark.slow
def test_serve_qualifies_and_alerts_soon_after_ingest(
    backend_env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    env = _env(backend_env, receiver, tmp_path)
    key = create_key(env)
    server = Server(env, tmp_path / "serve.log").start()
    try:
        noise = [
            {"type": "track", "userId": f"x{i}", "event": "Logged In", "messageId": f"n{i}"}
            for i in range(50)
        ]
        _send(server.url, key, noise)
        sent = time.monotonic()
        _send(server.url, key, [_click("probe", 1)])
        assert _wait(lambda: receiver.ok_requests(), 15), (tmp_path / "serve.log").read_text()
        latency = time.monotonic() - sent
        [hook] = receiver.ok_requests()
        body = hook.json()
        assert body["type"] == "qualified"
        assert body["qualification"]["entity_id"] == "probe"
        assert body["qualification"]["rep"] == "ana@example.com"
        assert latency < 10, latency  # the aim is about a second; the machine is shared
        listed = json.loads(cli(env, "qualifications", "--format", "json").stdout)
        assert [q["entity_id"] for q in listed["qualifications"]] == ["probe"]
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log


@pytest.mark.slow
def test_a_forwarded_evaluate_sends_its_alerts_without_waiting_for_the_poll(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Continuous evaluation off and a 30 s poll: ``beachhead evaluate``, forwarded to
    the server that holds the embedded store, has the server send its webhook at once
    (``web/alerts_worker.deliver_soon``), as serve's own rounds do."""
    env = {**_env(embedded(tmp_path), receiver, tmp_path), "BEACHHEAD_EVAL_INTERVAL": "0"}
    key = create_key(env)
    server = Server(env, tmp_path / "serve.log").start()
    try:
        _send(server.url, key, [_click("probe", 1)])
        time.sleep(1)  # the deliverer's first poll (at start) is long done
        assert not receiver.ok_requests()  # nothing evaluates by itself
        cli(env, "evaluate")
        assert _wait(lambda: receiver.ok_requests(), 15), (tmp_path / "serve.log").read_text()
        [hook] = receiver.ok_requests()
        assert hook.json()["qualification"]["entity_id"] == "probe"
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log


@pytest.mark.slow
@pytest.mark.postgres
def test_two_servers_on_one_postgres_qualify_route_and_send_once(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    base = {"BEACHHEAD_DATABASE_URL": pg_url, "BEACHHEAD_DATA": str(tmp_path / "d0")}
    env = _env(base, receiver, tmp_path)
    key = create_key(env)
    servers = [
        Server({**env, "BEACHHEAD_DATA": str(tmp_path / f"d{i}")}, tmp_path / f"s{i}.log").start()
        for i in range(2)
    ]
    users = [f"u{i:02d}" for i in range(40)]
    try:
        for i, user in enumerate(users):  # alternate servers; each user's click goes to both
            _send(servers[i % 2].url, key, [_click(user, i)])
            _send(servers[(i + 1) % 2].url, key, [_click(user, i)])  # a re-send: a duplicate
            if i % 10 == 9:
                time.sleep(0.3)  # let both evaluate in between
        assert _wait(lambda: len(receiver.ok_requests()) >= len(users), 60)
        time.sleep(2.0)  # anything sent twice would arrive by now
    finally:
        for s in servers:
            s.stop()
    requests = receiver.ok_requests()
    ids = Counter(r.header("X-Beachhead-Event-Id") for r in requests)
    assert len(requests) == len(users) and max(ids.values()) == 1, ids
    assert sorted(r.json()["qualification"]["entity_id"] for r in requests) == users
    state = StateStore(settings_of(env).state_url)
    try:
        with state.session() as session:
            quals = Counter(q.entity_id for q in session.scalars(select(QualificationRow)))
            history = session.scalars(select(QualificationHistoryRow))
            routed = Counter(h.qualification_id for h in history if h.reason == "routed")
    finally:
        state.close()
    assert quals == Counter(users)
    assert len(routed) == len(users) and set(routed.values()) == {1}
    reps = Counter(r.json()["qualification"]["rep"] for r in requests)
    assert reps == {"ana@example.com": 20, "bo@example.com": 20}  # round robin, never twice
    for i in range(2):
        log = (tmp_path / f"s{i}.log").read_text()
        assert "Traceback" not in log, log
