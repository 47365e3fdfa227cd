"""The lifecycle on real stores: SQLite+DuckDB and PostgreSQL, in process.

Covers what the pure tests cannot: the partial unique index, the lock that serialises
concurrent evaluations (two at once against one PostgreSQL create and route each
qualification once), rep actions with their history, stage history rows, and the
queue drained after a close.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from beachhead import lifecycle_service as svc
from beachhead.config import Settings
from beachhead.ingest.importers import run_import
from beachhead.qualify import lifecycle as lc
from beachhead.rules.load import load_text
from beachhead.rules.model import Config
from beachhead.runtime import Runtime, ServiceError
from beachhead.store.qualifications import QualificationStore

CONFIG = """
pqls:
  - key: ftp
    name: Free to paid
    level: user
    priority: 10
    when: {event: Report Created, count: {gte: 1}}
  - key: big
    name: Big account
    level: account
    priority: 20
    when: {trait: account.employees, gte: 1000}
    touch: [{level: low}]
stages:
  - {key: free, name: Free, when: {trait: account.plan, in: [free]}}
  - {key: team, name: Team, when: {trait: account.plan, in: [team]}}
teams:
  - key: t
    capacity: 1
    reps: [{email: a@x.com}, {email: b@x.com}]
routing:
  - {team: t}
"""
AS_OF = datetime(2026, 3, 10, tzinfo=UTC)


def _events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "group",
            "userId": "u1",
            "groupId": "acme",
            "traits": {"plan": "free", "employees": 5000},
            "timestamp": "2026-03-01T00:00:00Z",
        }
    ]
    for i in range(1, 4):
        out.append(
            {
                "type": "group",
                "userId": f"u{i}",
                "groupId": "acme",
                "timestamp": "2026-03-01T00:00:00Z",
            }
        )
        out.append(
            {
                "type": "track",
                "userId": f"u{i}",
                "event": "Report Created",
                "timestamp": f"2026-03-0{i + 1}T10:00:00Z",
            }
        )
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return Settings(data=tmp_path / "data", database_url=url)


@pytest.fixture
def config() -> Config:
    return load_text(CONFIG)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    body = "".join(json.dumps(m) + "\n" for m in _events()).encode()
    run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "test")
    yield rt
    rt.close()


def _open(rt: Runtime) -> dict[tuple[str, str], lc.Qualification]:
    return {(q.pql, q.entity_id): q for q in svc.list_qualifications(rt.state, "open")}


def test_evaluation_records_routes_and_queues(runtime: Runtime, config: Config) -> None:
    out = svc.run_evaluation(runtime, config, AS_OF)
    got = {(q.pql, q.entity_id): (q.status, q.team, q.rep) for q in out.open}
    # capacity 1, two reps: u1 -> a, u2 -> b, u3 waits; the PQA is low touch: team queue
    assert got == {
        ("big", "acme"): ("assigned", "t", None),
        ("ftp", "u1"): ("assigned", "t", "a@x.com"),
        ("ftp", "u2"): ("assigned", "t", "b@x.com"),
        ("ftp", "u3"): ("new", "t", None),
    }
    assert {(q.pql, q.entity_id) for q in out.open} == set(_open(runtime))
    store = QualificationStore(runtime.state)
    assert [(s.account_id, s.stage, s.initial) for s in store.stage_history()] == [
        ("acme", "free", True)
    ]
    assert store.evaluations() == [AS_OF]
    history = store.history(_open(runtime)[("ftp", "u1")].id)
    assert [(h.status_from, h.status_to, h.actor) for h in history] == [
        (None, "new", "system"),
        ("new", "assigned", "system"),
    ]
    assert history[1].rule.startswith("routing[0]: no condition -> t; round robin: a@x.com")
    detail = svc.qualification_detail(runtime.state, history[0].qualification_id)
    assert (detail["entity_id"], detail["closed_at"], detail["stage_at_qualification"]) == (
        "u1",
        None,
        "free",
    )
    assert [h["status_to"] for h in detail["history"]] == ["new", "assigned"]
    # idempotent at the same as_of; an earlier one is refused
    assert svc.run_evaluation(runtime, config, AS_OF).new_ids == set()
    with pytest.raises(ServiceError, match="before the latest recorded evaluation"):
        svc.run_evaluation(runtime, config, datetime(2026, 3, 9, tzinfo=UTC))


def test_rep_actions_record_history_and_drain_the_queue(runtime: Runtime, config: Config) -> None:
    svc.run_evaluation(runtime, config, AS_OF)
    q = _open(runtime)
    state = runtime.state
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    svc.start_working(state, config, q[("ftp", "u1")].id, "a@x.com", at)
    with pytest.raises(lc.BadTransition, match="reassign it first"):
        svc.start_working(state, config, q[("ftp", "u2")].id, "a@x.com", at)
    # a wins u1: room opens for a, and u3 (waiting) goes to a at once
    won = svc.mark_won(state, config, q[("ftp", "u1")].id, "a@x.com", at)
    assert (won.status, won.closed_at) == ("converted", at)
    now = _open(runtime)
    assert (now[("ftp", "u3")].status, now[("ftp", "u3")].rep) == ("assigned", "a@x.com")
    u3_history = QualificationStore(state).history(q[("ftp", "u3")].id)
    assert (u3_history[-1].actor, u3_history[-1].reason) == ("a@x.com", "assigned from the queue")
    # claim from the team queue, reassign, disqualify with a reason
    claimed = svc.claim(state, config, q[("big", "acme")].id, "b@x.com", at)
    assert (claimed.status, claimed.rep) == ("assigned", "b@x.com")
    moved = svc.reassign(state, config, q[("ftp", "u2")].id, "lead@x.com", rep="a@x.com", at=at)
    assert (moved.rep, moved.team) == ("a@x.com", "t")
    with pytest.raises(lc.BadTransition, match="needs a reason"):
        svc.disqualify(state, config, q[("ftp", "u2")].id, "a@x.com", " ", at)
    # to a team: a (u3) and b (the PQA) are at capacity 1, so it waits in the team queue
    back = svc.reassign(state, config, q[("ftp", "u2")].id, "lead@x.com", team="t", at=at)
    assert (back.team, back.status, back.rep) == ("t", "new", None)
    gone = svc.disqualify(state, config, q[("ftp", "u2")].id, "a@x.com", "student", at)
    assert gone.status == "disqualified"
    last = QualificationStore(state).history(gone.id)[-1]
    assert (last.actor, last.status_to, last.reason) == ("a@x.com", "disqualified", "student")
    with pytest.raises(lc.LifecycleError, match="no qualification"):
        svc.claim(state, config, "q_missing", "a@x.com", at)
    statuses = sorted(r.status for r in svc.list_qualifications(state))
    assert statuses == ["assigned", "assigned", "converted", "disqualified"]


def _assigned_alerts(rt: Runtime) -> list[str]:
    """The qualification ids of the queued ``assigned`` alerts, in queue order."""
    from sqlalchemy import select

    from beachhead.store.outbox_models import OutboxRow

    with rt.state.session() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
    return [
        json.loads(r.payload)["qualification"]["id"] for r in rows if r.event_type == "assigned"
    ]


def test_reassign_checks_the_rep_and_work_a_rep_takes_is_not_announced(
    runtime: Runtime,
) -> None:
    config = load_text(
        CONFIG.replace("routing:\n", "  - key: u\n    reps: [{email: Cy@X.com}]\nrouting:\n")
        + "alerts:\n  - {on: assigned, webhook: {url: 'http://127.0.0.1:9/a'}}\n"
    )
    svc.run_evaluation(runtime, config, AS_OF)
    state, at = runtime.state, datetime(2026, 3, 10, 12, tzinfo=UTC)
    q = _open(runtime)
    before = _assigned_alerts(runtime)
    # nobody's inbox shows an address that is no rep's: refused, nothing changes
    with pytest.raises(
        lc.LifecycleError, match=re.escape("'ghost@x.com' is not a rep of any team")
    ):
        svc.reassign(state, config, q[("ftp", "u2")].id, "lead@x.com", rep="ghost@x.com", at=at)
    with pytest.raises(lc.LifecycleError, match=re.escape("'b@x.com' is not a rep of team 'u'")):
        svc.reassign(state, config, q[("ftp", "u2")].id, "lead@x.com", rep="b@x.com", team="u")
    assert _open(runtime)[("ftp", "u2")].rep == "b@x.com"
    # the email as the definitions spell it, whatever the case typed
    moved = svc.reassign(state, config, q[("ftp", "u2")].id, "lead@x.com", rep="CY@x.COM", at=at)
    assert (moved.rep, moved.team) == ("Cy@X.com", "u")
    # taking queued work (the low-touch PQA waits in t's queue) by starting on it:
    # the rep took it, nobody assigned it to them
    worked = svc.start_working(state, config, q[("big", "acme")].id, "b@x.com", at)
    assert (worked.status, worked.rep) == ("working", "b@x.com")
    new = _assigned_alerts(runtime)[len(before) :]
    # u2's reassignment is announced, and u3, drained from the queue into b's freed slot
    assert new == [moved.id, q[("ftp", "u3")].id]


def test_one_open_qualification_per_pql_and_entity(runtime: Runtime, config: Config) -> None:
    svc.run_evaluation(runtime, config, AS_OF)
    store = QualificationStore(runtime.state)
    q = _open(runtime)[("ftp", "u1")]
    twin = lc.Qualification(
        "q_twin", q.pql, q.level, q.entity_id, q.account_id, q.priority, "new", AS_OF, "high"
    )
    with pytest.raises(IntegrityError), store.locked() as s:
        store.save_qualifications(s, [], [twin])


def test_conversion_by_plan_and_stage_history(runtime: Runtime, config: Config) -> None:
    svc.run_evaluation(runtime, config, AS_OF)
    body = json.dumps(
        {
            "type": "group",
            "userId": "u1",
            "groupId": "acme",
            "traits": {"plan": "team"},
            "timestamp": "2026-03-10T06:00:00Z",
        }
    )
    run_import(
        "events",
        runtime.events,
        runtime.state.add_rejects,
        io.BytesIO(body.encode() + b"\n"),
        "test",
    )
    out = svc.run_evaluation(runtime, config, datetime(2026, 3, 11, tzinfo=UTC))
    assert out.open == [] and out.new_ids == set()
    statuses = {(r.pql, r.entity_id): r.status for r in svc.list_qualifications(runtime.state)}
    assert set(statuses.values()) == {"converted"}
    history = QualificationStore(runtime.state).stage_history("acme")
    assert [(h.from_stage, h.stage, h.initial) for h in history] == [
        (None, "free", True),
        ("free", "team", False),
    ]


@pytest.mark.postgres
def test_two_concurrent_evaluations_create_each_once(pg_url: str, tmp_path: Path) -> None:
    config = load_text(CONFIG)
    settings = Settings(data=tmp_path / "data", database_url=pg_url)
    seed = Runtime(settings)
    body = "".join(json.dumps(m) + "\n" for m in _events()).encode()
    run_import("events", seed.events, seed.state.add_rejects, io.BytesIO(body), "test")
    seed.close()
    barrier = threading.Barrier(2)
    results: list[svc.Outcome] = []
    errors: list[BaseException] = []

    def worker() -> None:
        rt = Runtime(settings)  # its own engine and connections, as another process has
        try:
            rt.state  # noqa: B018 - open (and migrate) before the race
            barrier.wait()
            results.append(svc.run_evaluation(rt, config, AS_OF))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            rt.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(len(r.new_ids) for r in results) == [0, 4]
    check = Runtime(settings)
    try:
        every = svc.list_qualifications(check.state)
        assert len(every) == 4
        reps = sorted(q.rep or "-" for q in every)
        assert reps == ["-", "-", "a@x.com", "b@x.com"]
        store = QualificationStore(check.state)
        assert all(len(store.history(q.id)) == 2 for q in every)
    finally:
        check.close()


def test_routing_on_an_event_leaf_uses_the_activity(runtime: Runtime) -> None:
    """A routing rule on activity (not a trait or score) is read by the reference oracle."""
    config = load_text(
        CONFIG.replace(
            "routing:\n  - {team: t}",
            "  - key: heavy\n    reps: [{email: h@x.com}]\n"
            "routing:\n"
            "  - {when: {event: Report Created, where: [], count: {gte: 1}}, team: heavy}\n"
            "  - {team: t}",
        )
    )
    out = svc.run_evaluation(runtime, config, AS_OF)
    teams = {(q.pql, q.entity_id): q.team for q in out.open}
    # users have reports (heavy); the account has them too (attributed to acme)
    assert teams[("ftp", "u1")] == "heavy"
    assert teams[("big", "acme")] == "heavy"
    history = QualificationStore(runtime.state).history(_open(runtime)[("ftp", "u1")].id)
    assert history[-1].rule.startswith('routing[0]: Did "Report Created" 1 time')


def test_evidence_values_are_stored_as_plain_json(settings: Settings) -> None:
    from decimal import Decimal

    rt = Runtime(settings)
    try:
        store = QualificationStore(rt.state)
        q = lc.Qualification(
            "q_json",
            "ftp",
            "user",
            "u9",
            None,
            1,
            "new",
            AS_OF,
            "high",
            evidence=[
                {"path": "when", "held": True, "value": Decimal("2.50"), "sentence": "s"},
                {"path": "when.all[1]", "held": True, "value": AS_OF, "sentence": "t"},
            ],
        )
        with store.locked() as s:
            store.save_qualifications(s, [], [q])
        [back] = store.find(pql="ftp")
        assert [e["value"] for e in back.evidence] == [2.5, "2026-03-10T00:00:00Z"]
    finally:
        rt.close()
