"""Lifecycle changes queue alerts in the outbox in the same transaction (both backends)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from beachhead import lifecycle_service as svc
from beachhead.config import Settings
from beachhead.ingest.importers import run_import
from beachhead.rules.load import load_text
from beachhead.runtime import Runtime

outbox_models = pytest.importorskip("beachhead.store.outbox_models")

CONFIG = """
pqls:
  - key: ftp
    name: Free to paid
    level: user
    when: {event: Report Created, count: {gte: 1}}
    expires_after: 2d
stages:
  - {key: free, name: Free, when: {trait: account.plan, in: [free]}}
  - {key: team, name: Team, when: {trait: account.plan, in: [team]}}
teams:
  - key: t
    reps: [{email: a@x.com}]
routing:
  - {team: t}
alerts:
  - {on: qualified, webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
  - {on: assigned, webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
  - {on: expired, webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
  - {on: stage_changed, webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
  - {on: converted, webhook: {url: "http://127.0.0.1:9/hook", secret: s}}
"""
EVENTS = [
    {
        "type": "group",
        "userId": "u1",
        "groupId": "acme",
        "traits": {"plan": "free"},
        "timestamp": "2026-03-01T00:00:00Z",
    },
    {
        "type": "track",
        "userId": "u1",
        "event": "Report Created",
        "timestamp": "2026-03-01T10:00:00Z",
    },
    {
        "type": "group",
        "userId": "u1",
        "groupId": "acme",
        "traits": {"plan": "free"},
        "timestamp": "2026-03-01T00:00:00Z",
        "messageId": "m-later",
    },
]


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    rt = Runtime(Settings(data=tmp_path / "data", database_url=url))
    body = "".join(json.dumps(m) + "\n" for m in EVENTS).encode()
    run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "test")
    yield rt
    rt.close()


def _types(rt: Runtime) -> list[str]:
    row = outbox_models.OutboxRow
    with rt.state.session() as s:
        return list(s.scalars(select(row.event_type).order_by(row.id)))


def test_lifecycle_changes_are_queued_once(runtime: Runtime) -> None:
    config = load_text(CONFIG)
    svc.run_evaluation(runtime, config, datetime(2026, 3, 2, tzinfo=UTC))
    assert _types(runtime) == ["qualified", "assigned"]
    svc.run_evaluation(runtime, config, datetime(2026, 3, 2, tzinfo=UTC))  # idempotent
    assert _types(runtime) == ["qualified", "assigned"]
    svc.run_evaluation(runtime, config, datetime(2026, 3, 4, tzinfo=UTC))
    assert _types(runtime) == ["qualified", "assigned", "expired"]
    with runtime.state.session() as s:
        first = s.scalars(
            select(outbox_models.OutboxRow.payload).order_by(outbox_models.OutboxRow.id)
        ).first()
    payload = json.loads(first or "{}")
    assert payload["qualification"]["entity_id"] == "u1"


@pytest.mark.parametrize(("action", "queued"), [("won", ["converted"]), ("disqualify", [])])
def test_rep_closing_queues_converted_only(
    runtime: Runtime, action: str, queued: list[str]
) -> None:
    config = load_text(CONFIG)
    svc.run_evaluation(runtime, config, datetime(2026, 3, 2, tzinfo=UTC))
    [q] = svc.list_qualifications(runtime.state, "open")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    if action == "won":
        svc.mark_won(runtime.state, config, q.id, "a@x.com", at)
    else:
        svc.disqualify(runtime.state, config, q.id, "a@x.com", "a student project", at)
    assert _types(runtime) == ["qualified", "assigned", *queued]
