"""The outbox and deliverer on SQLite and PostgreSQL, against real loopback receivers.

Time is a fake clock the tests move; jitter is a fixed ``rand``; HTTP is real.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "alerts"))

from alerts_support import Receiver, Reply, config_with, qualified, running

from beachhead.alerts.deliver import Deliverer
from beachhead.alerts.outbox import build_rows, enqueue
from beachhead.alerts.settings import AlertSettings
from beachhead.alerts.webhook import verify
from beachhead.config import sqlalchemy_url
from beachhead.rules.model import Config
from beachhead.store.outbox_models import OutboxRow, claim_due, list_rows
from beachhead.store.state import StateStore

T0 = datetime(2026, 3, 1, 10, 7, 0)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, t: datetime) -> None:
        with self._lock:
            self.now = t


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return sqlalchemy_url(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    s = StateStore(state_url)
    yield s
    s.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


def _webhook_config(extra: str = "") -> Config:
    return config_with(
        "alerts:\n  - on: qualified\n"
        + extra
        + '    webhook: {url: "${HOOK_URL}/hook", secret: "${HOOK_SECRET}"}\n'
    )


def _enqueue(store: StateStore, config: Config, clock: Clock, n: int = 1, **kw: str) -> None:
    with store.session() as s, s.begin():
        for i in range(n):
            enqueue(s, config, qualified(qid=f"q{i}", entity_id=f"u_{i}", **kw), clock=clock)


def _deliverer(store: StateStore, clock: Clock, settings: AlertSettings | None = None) -> Deliverer:
    return Deliverer(store, settings or AlertSettings(), clock=clock, rand=lambda: 0.0, workers=1)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.setenv("HOOK_SECRET", "s3cret")


def test_webhook_is_signed_and_delivered_once(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    clock = Clock()
    _enqueue(store, _webhook_config(), clock)
    d = _deliverer(store, clock)
    report = d.run_once()
    assert (report.delivered, report.failed, report.gave_up, report.waiting) == (1, 0, 0, 0)
    [req] = receiver.requests
    assert req.path == "/hook"
    assert req.header("Content-Type") == "application/json"
    assert verify("s3cret", req.body, req.header("X-Beachhead-Signature"))
    body = req.json()
    assert body["id"] == req.header("X-Beachhead-Event-Id")
    assert body["type"] == "qualified" and body["qualification"]["id"] == "q0"
    assert d.run_once().outcomes == []
    assert len(receiver.requests) == 1
    [row] = list_rows(store.session())
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at == T0
    d.close()


def test_retries_with_backoff_until_the_receiver_recovers(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, env: None
) -> None:
    flaky = Receiver([Reply(500, b"boom"), Reply(503), Reply(200)]).start()
    monkeypatch.setenv("HOOK_URL", flaky.url)
    try:
        clock = Clock()
        _enqueue(store, _webhook_config(), clock)
        d = _deliverer(store, clock, AlertSettings(alert_backoff=timedelta(seconds=20)))
        first = d.run_once()
        assert (first.failed, first.waiting) == (1, 1)
        assert first.outcomes[0].error == "HTTP 500: boom"
        # rand=0: the jitter factor is 0.5, so 20s -> 10s, then 40s -> 20s
        assert first.outcomes[0].next_attempt_at == T0 + timedelta(seconds=10)
        clock.set(T0 + timedelta(seconds=9))
        assert d.run_once().outcomes == []
        clock.set(T0 + timedelta(seconds=10))
        second = d.run_once()
        assert second.failed == 1
        assert second.outcomes[0].next_attempt_at == T0 + timedelta(seconds=30)
        clock.set(T0 + timedelta(seconds=30))
        third = d.run_once()
        assert (third.delivered, third.waiting) == (1, 0)
        assert [r.status for r in flaky.requests] == [500, 503, 200]
        assert len({r.header("X-Beachhead-Event-Id") for r in flaky.requests}) == 1
        assert len({r.body for r in flaky.requests}) == 1
        [row] = list_rows(store.session())
        assert (row.status, row.attempts) == ("delivered", 3)
        d.close()
    finally:
        flaky.stop()


def test_gives_up_after_the_configured_time(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, env: None
) -> None:
    down = Receiver([Reply(500)]).start()
    monkeypatch.setenv("HOOK_URL", down.url)
    try:
        clock = Clock()
        settings = AlertSettings(
            alert_backoff=timedelta(minutes=10), alert_give_up=timedelta(hours=1)
        )
        with store.session() as s, s.begin():
            enqueue(s, _webhook_config(), qualified(), clock=clock, settings=settings)
        d = _deliverer(store, clock, settings)
        results: list[str] = []
        for _ in range(20):
            report = d.run_once()
            results.extend(o.result for o in report.outcomes)
            row = list_rows(store.session())[0]
            if row.status != "pending":
                break
            clock.set(row.next_attempt_at)
        # delays (rand=0): 5m, 10m, 20m, then capped at the give-up time (T0 + 1h)
        assert results == ["failed"] * 4 + ["gave_up"]
        assert clock() == T0 + timedelta(hours=1)
        assert (row.status, row.attempts, row.last_error) == ("gave_up", 5, "HTTP 500: ok")
        assert len(down.requests) == 5
        d.close()
    finally:
        down.stop()


def test_a_missing_variable_is_a_recorded_error_then_works_once_set(
    store: StateStore, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", receiver.url)
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    clock = Clock()
    _enqueue(store, _webhook_config(), clock)
    d = _deliverer(store, clock)
    report = d.run_once()
    assert report.failed == 1
    assert "HOOK_SECRET" in (report.outcomes[0].error or "")
    assert receiver.requests == []
    row = list_rows(store.session())[0]
    assert row.status == "pending" and "HOOK_SECRET" in (row.last_error or "")
    monkeypatch.setenv("HOOK_SECRET", "late")
    clock.set(row.next_attempt_at)
    assert d.run_once().delivered == 1
    [req] = receiver.requests
    assert verify("late", req.body, req.header("X-Beachhead-Signature"))
    d.close()


def test_bundle_sends_one_digest_per_target_and_window(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    clock = Clock()  # 10:07, window 10:00-10:15
    config = _webhook_config("    bundle: 15m\n")
    _enqueue(store, config, clock, n=3)
    clock.set(datetime(2026, 3, 1, 10, 14, 59))
    with store.session() as s, s.begin():
        enqueue(s, config, qualified(qid="q_late_in_window"), clock=clock)
    d = _deliverer(store, clock)
    waiting = d.run_once()
    assert waiting.outcomes == [] and waiting.waiting == 1
    clock.set(datetime(2026, 3, 1, 10, 16))
    with store.session() as s, s.begin():
        enqueue(s, config, qualified(qid="q_next_window"), clock=clock)
    report = d.run_once()
    assert (report.delivered, report.waiting) == (1, 1)
    assert report.outcomes[0].alerts == 4
    [digest] = receiver.requests
    body = digest.json()
    assert body["id"] == digest.header("X-Beachhead-Event-Id")
    assert body["count"] == 4
    assert [q["id"] for q in body["qualifications"]] == ["q0", "q1", "q2", "q_late_in_window"]
    assert body["window"] == {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T10:15:00Z"}
    assert verify("s3cret", digest.body, digest.header("X-Beachhead-Signature"))
    clock.set(datetime(2026, 3, 1, 10, 30))
    assert d.run_once().delivered == 1
    second = receiver.requests[1]
    assert second.json()["qualifications"][0]["id"] == "q_next_window"
    assert second.header("X-Beachhead-Event-Id") != digest.header("X-Beachhead-Event-Id")
    d.close()


def test_slack_digest_and_single_messages(
    store: StateStore, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", receiver.url + "/slack")
    config = config_with(
        "alerts:\n"
        '  - on: qualified\n    touch: [high]\n    slack: {webhook_url: "${SLACK_URL}"}\n'
        "  - on: qualified\n    touch: [low]\n    bundle: 1h\n"
        '    slack: {webhook_url: "${SLACK_URL}"}\n'
    )
    clock = Clock()
    with store.session() as s, s.begin():
        for i, touch in enumerate(["high", "low", "low", "high"]):
            enqueue(s, config, qualified(qid=f"q{i}", touch=touch), clock=clock)
    d = _deliverer(store, clock)
    assert d.run_once().delivered == 2
    clock.set(datetime(2026, 3, 1, 11, 0))
    assert d.run_once().delivered == 1
    bodies = [r.json() for r in receiver.requests]
    assert all(set(b) == {"text", "blocks"} for b in bodies)
    assert "2 in this digest" in bodies[2]["text"]
    d.close()


def test_a_claim_whose_lease_ran_out_is_retried_with_the_same_key(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    """A deliverer that died after claiming: its rows come back once the lease ends."""
    clock = Clock()
    _enqueue(store, _webhook_config(), clock)
    with store.session() as s:
        [dead] = claim_due(s, T0, T0 + timedelta(minutes=2), 10)
    d = _deliverer(store, clock)
    assert d.run_once().outcomes == []
    clock.set(T0 + timedelta(minutes=2))
    assert d.run_once().delivered == 1
    assert receiver.requests[0].header("X-Beachhead-Event-Id") == dead.key
    d.close()


def test_a_row_joining_a_window_after_its_digest_went_gets_its_own_key(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    clock = Clock()
    config = _webhook_config("    bundle: 15m\n")
    _enqueue(store, config, clock, n=2)
    clock.set(datetime(2026, 3, 1, 10, 15))
    d = _deliverer(store, clock)
    assert d.run_once().delivered == 1
    # a transaction that began in the window commits after the digest went out
    late = build_rows(config, qualified(qid="q_slow_tx"), T0, AlertSettings())
    with store.session() as s, s.begin():
        s.add_all(late)
    assert d.run_once().delivered == 1
    first, second = receiver.requests
    assert first.header("X-Beachhead-Event-Id") != second.header("X-Beachhead-Event-Id")
    assert [q["id"] for q in second.json()["qualifications"]] == ["q_slow_tx"]
    d.close()


def test_concurrent_deliverers_never_send_a_delivery_twice(
    state_url: str, receiver: Receiver, env: None
) -> None:
    """Several deliverers, each with its own engine (like separate processes), race."""
    stores = [StateStore(state_url) for _ in range(3)]
    try:
        clock = Clock()
        config = _webhook_config()
        _enqueue(stores[0], config, clock, n=40)
        bundled = _webhook_config("    bundle: 15m\n")
        _enqueue(stores[0], bundled, Clock(datetime(2026, 3, 1, 9, 50)), n=10)
        deliverers = [
            Deliverer(st, AlertSettings(), clock=clock, rand=lambda: 0.0, workers=3)
            for st in stores
        ]
        reports = []
        threads = [
            threading.Thread(target=lambda d=d: reports.append(d.run_once())) for d in deliverers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(r.delivered for r in reports) == 41
        keys = [r.header("X-Beachhead-Event-Id") for r in receiver.requests]
        assert len(keys) == len(set(keys)) == 41
        digest = [r.json() for r in receiver.requests if r.json().get("count")]
        assert len(digest) == 1 and digest[0]["count"] == 10
        rows = list_rows(stores[0].session())
        assert {r.status for r in rows} == {"delivered"}
        for d in deliverers:
            d.close()
    finally:
        for st in stores:
            st.close()


def test_rows_keep_their_targets_unresolved(store: StateStore, env: None) -> None:
    clock = Clock()
    _enqueue(store, _webhook_config(), clock)
    row: OutboxRow = list_rows(store.session())[0]
    assert orjson.loads(row.target) == {"url": "${HOOK_URL}/hook", "secret": "${HOOK_SECRET}"}


def test_a_row_that_cannot_be_rendered_is_a_recorded_error_not_a_crash(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    clock = Clock()
    config = _webhook_config()
    [bad] = build_rows(config, qualified(qid="bad"), T0, AlertSettings())
    bad.target = "{}"  # no url: e.g. a row written by a broken or older version
    with store.session() as s, s.begin():
        s.add(bad)
        enqueue(s, config, qualified(qid="good"), clock=clock)
    report = _deliverer(store, clock).run_once()
    assert (report.delivered, report.failed) == (1, 1)
    [failed] = [o for o in report.outcomes if o.result == "failed"]
    assert failed.error is not None and failed.error.startswith("cannot build the request")
    assert [r.json()["qualification"]["id"] for r in receiver.requests] == ["good"]


def test_retry_after_is_honoured(
    store: StateStore, monkeypatch: pytest.MonkeyPatch, env: None
) -> None:
    limited = Receiver([Reply(429, b"rate_limited", headers={"Retry-After": "300"})]).start()
    monkeypatch.setenv("HOOK_URL", limited.url)
    try:
        clock = Clock()
        _enqueue(store, _webhook_config(), clock)
        report = _deliverer(store, clock).run_once()
        assert report.outcomes[0].status_code == 429
        assert report.outcomes[0].next_attempt_at == T0 + timedelta(seconds=300)
    finally:
        limited.stop()


def test_settled_rows_are_pruned_after_the_keep_time(
    store: StateStore, receiver: Receiver, env: None
) -> None:
    clock = Clock()
    _enqueue(store, _webhook_config(), clock, n=2)
    keep = AlertSettings(alert_keep=timedelta(days=30))
    assert _deliverer(store, clock, keep).run_once().delivered == 2
    clock.set(T0 + timedelta(days=29))
    _enqueue(store, _webhook_config(), clock)  # still pending at the next run below
    store_rows = list_rows(store.session())
    assert len(store_rows) == 3
    clock.set(T0 + timedelta(days=30, seconds=1))
    d = Deliverer(store, keep, clock=clock, rand=lambda: 0.0, workers=1)
    d.run_once()
    rows = list_rows(store.session())
    assert [r.created_at for r in rows] == [T0 + timedelta(days=29)]
    assert rows[0].status == "delivered"
