"""enqueue: which targets an event reaches (data-driven), bundle keys, the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from alerts_support import config_with, qualified
from ruamel.yaml import YAML
from sqlalchemy import func, select

from beachhead.alerts.events import AlertEvent
from beachhead.alerts.outbox import build_rows, enqueue, window_of
from beachhead.alerts.settings import AlertSettings
from beachhead.store.outbox_models import OutboxRow
from beachhead.store.state import StateStore

CASES = YAML(typ="safe").load((Path(__file__).parent / "filter_cases.yaml").read_text())
NOW = datetime(2026, 3, 1, 10, 7, 30)


def _event(spec: dict[str, Any]) -> AlertEvent:
    return AlertEvent(occurred_at=datetime(2026, 3, 1, tzinfo=UTC), **spec)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_filters(case: dict[str, Any]) -> None:
    rows = build_rows(config_with(case["alerts"]), _event(case["event"]), NOW, AlertSettings())
    assert [r.target_key for r in rows] == case["expect"]
    for r in rows:
        assert r.status == "pending" and r.attempts == 0
        assert r.next_attempt_at == NOW
        assert r.give_up_at == NOW + timedelta(hours=24)
        assert orjson.loads(r.payload)["type"] == case["event"]["type"]


def test_unbundled_rows_get_distinct_keys_and_targets_stay_unresolved() -> None:
    config = config_with(
        'alerts:\n  - on: qualified\n    webhook: {url: "${HOOK}", secret: "${S}"}\n'
    )
    a = build_rows(config, qualified(qid="q1"), NOW, AlertSettings())
    b = build_rows(config, qualified(qid="q2"), NOW, AlertSettings())
    assert a[0].idempotency_key != b[0].idempotency_key
    assert orjson.loads(a[0].target) == {"url": "${HOOK}", "secret": "${S}"}


def test_bundle_rows_share_the_window_key_and_wait_for_its_end() -> None:
    config = config_with(
        'alerts:\n  - on: qualified\n    bundle: 15m\n    webhook: {url: "http://127.0.0.1:9/a"}\n'
    )
    settings = AlertSettings(alert_give_up=timedelta(hours=2))
    first = build_rows(config, qualified(qid="q1"), NOW, settings)[0]
    same = build_rows(config, qualified(qid="q2"), NOW + timedelta(minutes=7), settings)[0]
    later = build_rows(config, qualified(qid="q3"), NOW + timedelta(minutes=8), settings)[0]
    assert first.idempotency_key == same.idempotency_key != later.idempotency_key
    assert first.window_end == datetime(2026, 3, 1, 10, 15)
    assert first.next_attempt_at == first.window_end
    assert first.give_up_at == first.window_end + timedelta(hours=2)
    assert later.window_end == datetime(2026, 3, 1, 10, 30)


@pytest.mark.parametrize(
    ("now", "span", "start"),
    [
        (datetime(2026, 3, 1, 10, 7), timedelta(minutes=15), datetime(2026, 3, 1, 10, 0)),
        (datetime(2026, 3, 1, 10, 15), timedelta(minutes=15), datetime(2026, 3, 1, 10, 15)),
        (datetime(2026, 3, 1, 23, 59), timedelta(hours=1), datetime(2026, 3, 1, 23, 0)),
        (datetime(2026, 3, 1, 23, 59), timedelta(days=1), datetime(2026, 3, 1, 0, 0)),
    ],
)
def test_windows_are_aligned(now: datetime, span: timedelta, start: datetime) -> None:
    assert window_of(now, span) == (start, start + span)


def test_enqueue_writes_in_the_callers_transaction(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    config = config_with('alerts:\n  - on: qualified\n    webhook: {url: "http://127.0.0.1:9/a"}\n')
    try:
        with store.session() as s:
            s.begin()
            assert enqueue(s, config, qualified()) == 1
            s.rollback()
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(OutboxRow)) == 0
        with store.session() as s, s.begin():
            assert enqueue(s, config, qualified(), clock=lambda: NOW) == 1
            assert enqueue(s, config, qualified(touch="low", pql="enterprise_conversion")) == 1
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(OutboxRow)) == 2
    finally:
        store.close()


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="qualified"):
        AlertEvent(type="exploded", occurred_at=NOW)
