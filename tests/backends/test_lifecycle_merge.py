"""Open qualifications follow their entity when it is merged into another one.

A visitor qualifies anonymously and then signs up (identify links the anonymous id), an
id is aliased, an implicit ``domain:`` account is taken over by a real account with that
domain: the entity is the other one now (definitions.md: an id linked into another user
"is that user now"), so its open qualification moves to it instead of a second one being
created for the same person or company (a reviewer found two open, both routable). When
both had one open, the one further along stays and the other expires, with the reason.
Each case runs on SQLite+DuckDB and on PostgreSQL, through ``run_evaluation`` (what
``beachhead evaluate`` does) and through the scheduler's incremental path (``serve``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from beachhead import lifecycle_service as svc
from beachhead.config import Settings
from beachhead.ingest.importers import run_import
from beachhead.rules.load import load_text
from beachhead.runtime import Runtime
from beachhead.scheduler import ContinuousEvaluator
from beachhead.store.qualifications import QualificationStore

CONFIG = """
pqls:
  - {key: p, name: P, level: user, priority: 10, when: {event: A, within: 30d}}
  - {key: pqa, name: PQA, level: account, priority: 5, when: {metric: members, gte: 1}}
"""


def _t(day: int, hour: int = 8) -> str:
    return f"2026-10-{day:02d}T{hour:02d}:00:00Z"


def _at(day: int) -> datetime:
    return datetime(2026, 10, day, 12, tzinfo=UTC)


# name, messages, the days evaluated (at noon), the open (pql, entity) after the last one
# with the entity each came from, and the (pql, entity it came from) expired as merged
CASES: list[dict[str, Any]] = [
    {
        "name": "identify links an anonymous visitor who qualified",
        "messages": [
            {"type": "track", "anonymousId": "anon-1", "event": "A", "timestamp": _t(1)},
            {"type": "identify", "anonymousId": "anon-1", "userId": "u_real", "timestamp": _t(3)},
        ],
        "days": [1, 3],
        "open": {("p", "u_real"): "anon-1"},
        "expired": [],
    },
    {
        "name": "an alias moves an old id into a new one",
        "messages": [
            {"type": "track", "userId": "old_id", "event": "A", "timestamp": _t(1)},
            {"type": "alias", "previousId": "old_id", "userId": "new_id", "timestamp": _t(3)},
        ],
        "days": [1, 3],
        "open": {("p", "new_id"): "old_id"},
        "expired": [],
    },
    {
        "name": "both qualified before the link: the older stays, the other expires",
        "messages": [
            {"type": "track", "anonymousId": "anon-1", "event": "A", "timestamp": _t(1)},
            {"type": "track", "userId": "u_real", "event": "A", "timestamp": _t(2)},
            {"type": "identify", "anonymousId": "anon-1", "userId": "u_real", "timestamp": _t(3)},
        ],
        "days": [1, 2, 3],
        "open": {("p", "u_real"): "anon-1"},
        "expired": [("p", "u_real")],
    },
    {
        "name": "a real account takes over an implicit domain account",
        "messages": [
            {
                "type": "identify",
                "userId": "x",
                "traits": {"email": "x@acme.io"},
                "timestamp": _t(1),
            },
            {
                "type": "group",
                "userId": "y",
                "groupId": "acme",
                "traits": {"domain": "https://www.acme.io/"},
                "timestamp": _t(3),
            },
        ],
        "days": [1, 3],
        "open": {("pqa", "acme"): "domain:acme.io"},
        "expired": [],
    },
]


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    config = tmp_path / "beachhead.yml"
    config.write_text(CONFIG)
    return Settings(data=tmp_path / "data", database_url=url, config=config)


def _runtime(settings: Settings, messages: list[dict[str, Any]]) -> Iterator[Runtime]:
    rt = Runtime(settings)
    for i, m in enumerate(messages):
        m.setdefault("messageId", f"m{i}")
    body = "".join(json.dumps(m) + "\n" for m in messages).encode()
    run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "test")
    yield rt
    rt.close()


@pytest.mark.parametrize("path", ["evaluate", "scheduler"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_open_qualification_follows_a_merged_entity(
    settings: Settings, case: dict[str, Any], path: str
) -> None:
    config = load_text(CONFIG)
    for rt in _runtime(settings, [dict(m) for m in case["messages"]]):
        first: dict[str, str] = {}  # entity -> id of its first qualification
        rounds = ContinuousEvaluator(rt) if path == "scheduler" else None
        for day in case["days"]:
            if rounds is None:
                svc.run_evaluation(rt, config, _at(day))
            else:
                assert rounds.run_once(_at(day)).recorded
            for q in svc.list_qualifications(rt.state):
                first.setdefault(q.entity_id, q.id)
        quals = svc.list_qualifications(rt.state)
        open_now = {(q.pql, q.entity_id): q for q in quals if q.closed_at is None}
        assert set(open_now) == set(case["open"])
        store = QualificationStore(rt.state)
        for key, came_from in case["open"].items():
            q = open_now[key]
            assert q.id == first[came_from], "the first qualification stays, re-keyed"
            reasons = [h.reason for h in store.history(q.id)]
            assert f"{came_from} is {key[1]} now" in " ".join(reasons)
        expired = [q for q in quals if q.status == "expired"]
        assert [(q.pql, q.entity_id) for q in expired] == case["expired"]
        for q in expired:
            assert "merged" in store.history(q.id)[-1].reason
        # evaluating again at the same time creates nothing (idempotent)
        assert svc.run_evaluation(rt, config, _at(case["days"][-1])).new_ids == set()
        if rounds is not None:
            rounds.close()
