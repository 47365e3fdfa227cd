"""Recorded scores follow re-evaluations; reps marked away in the app get no new work.

Both on SQLite and PostgreSQL, through ``lifecycle_service.run_evaluation`` (what the
CLI, the API and the web app's evaluate call). Scores, worked out by hand:

- ``engagement`` (user): 20 for a report in the last 30 days, 50 more for three;
  bands high >= 60, medium >= 30.
- ``fit`` (account): 40 with 200 employees or more; bands high >= 40, medium >= 10.

On 03-02 u1 (acme, free) has one report: its PQL carries engagement 20/low and fit
0/low; the PQA of acme carries only fit 0/low. On 03-04, after two more reports and acme
growing to 500 employees: engagement 70/high, fit 40/high (and the PQA fit 40/high).
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
from beachhead.services import compute_evaluation
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualifications import QualificationStore

CONFIG = """
scores:
  engagement:
    level: user
    rules:
      - {points: 20, when: {event: Report Created, within: 30d, count: {gte: 1}}}
      - {points: 50, when: {event: Report Created, within: 30d, count: {gte: 3}}}
    bands: {high: 60, medium: 30}
  fit:
    level: account
    rules:
      - {points: 40, when: {trait: account.employees, gte: 200}}
    bands: {high: 40, medium: 10}
pqls:
  - key: active
    name: Active
    level: user
    priority: 10
    when: {event: Report Created, within: 30d, count: {gte: 1}}
  - key: acct
    name: Account
    level: account
    priority: 5
    when: {event: Report Created, within: 30d, count: {gte: 1}}
teams:
  - key: t
    assign: round_robin
    reps: [{email: a@x.com}, {email: b@x.com}]
routing:
  - {team: t}
"""


def _msg(kind: str, user: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "userId": user, "timestamp": ts, **extra}


def day(d: int) -> datetime:
    return datetime(2026, 3, d, tzinfo=UTC)


def _import(rt: Runtime, messages: list[dict[str, Any]]) -> None:
    body = "".join(json.dumps(m) + "\n" for m in messages).encode()
    run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "test")


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    rt = Runtime(Settings(data=tmp_path / "data", database_url=url))
    yield rt
    rt.close()


def _recorded(rt: Runtime) -> dict[tuple[str, str], dict[str, tuple[float, str | None]]]:
    quals = svc.list_qualifications(rt.state, "open")
    scores = QualificationStore(rt.state).scores_of([q.id for q in quals])
    return {(q.pql, q.entity_id): scores.get(q.id, {}) for q in quals}


def test_recorded_scores_follow_a_re_evaluation(runtime: Runtime) -> None:
    config = load_text(CONFIG)
    _import(
        runtime,
        [
            _msg("group", "u1", "2026-03-01T00:00:00Z", groupId="acme", traits={"plan": "free"}),
            _msg("track", "u1", "2026-03-01T10:00:00Z", event="Report Created"),
        ],
    )
    svc.run_evaluation(runtime, config, day(2))
    assert _recorded(runtime) == {
        ("active", "u1"): {"engagement": (20.0, "low"), "fit": (0.0, "low")},
        ("acct", "acme"): {"fit": (0.0, "low")},
    }
    _import(
        runtime,
        [
            _msg("track", "u1", "2026-03-03T10:00:00Z", event="Report Created"),
            _msg("track", "u1", "2026-03-03T11:00:00Z", event="Report Created"),
            _msg("group", "u1", "2026-03-03T12:00:00Z", groupId="acme", traits={"employees": 500}),
        ],
    )
    svc.run_evaluation(runtime, config, day(4))
    recorded = _recorded(runtime)
    assert recorded == {
        ("active", "u1"): {"engagement": (70.0, "high"), "fit": (40.0, "high")},
        ("acct", "acme"): {"fit": (40.0, "high")},
    }
    # and they are what the evaluation itself says
    ev = compute_evaluation(runtime.settings, runtime.events, config, day(4))
    user, acct = ev.users["u1"].scores, ev.accounts["acme"].scores
    assert recorded["active", "u1"] == {
        "engagement": (user["engagement"].points, user["engagement"].band),
        "fit": (acct["fit"].points, acct["fit"].band),
    }
    # re-evaluating at the same as_of writes nothing new
    again = svc.run_evaluation(runtime, config, day(4))
    assert again.new_ids == set()
    assert _recorded(runtime) == recorded


def _reports(users: list[str], ts: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for u in users:
        out.append(_msg("group", u, ts, groupId=f"acc_{u}", traits={"plan": "free"}))
        out.append(_msg("track", u, ts, event="Report Created"))
    return out


def test_reps_marked_away_in_the_app_get_no_work_until_back(runtime: Runtime) -> None:
    config = load_text(
        CONFIG.replace("  - key: acct", "  - key: acct\n    touch: [{level: none}]", 1)
    )
    away = AppUserStore(runtime.state)
    away.set_away("A@x.com", True, by="manager@x.com")
    _import(runtime, _reports(["u1", "u2", "u3"], "2026-03-01T10:00:00Z"))
    first = svc.run_evaluation(runtime, config, day(2))
    users = {q.entity_id: q.rep for q in first.open if q.pql == "active"}
    assert users == {"u1": "b@x.com", "u2": "b@x.com", "u3": "b@x.com"}
    history = QualificationStore(runtime.state).history
    assert all("a@x.com" not in (c.rep or "") for q in first.open for c in history(q.id))

    away.set_away("a@x.com", False, by="manager@x.com")
    _import(runtime, _reports(["u4", "u5"], "2026-03-02T10:00:00Z"))
    second = svc.run_evaluation(runtime, config, day(3))
    fresh = sorted(q.rep or "" for q in second.open if q.id in second.new_ids and q.pql == "active")
    assert len(fresh) == 2 and "a@x.com" in fresh
