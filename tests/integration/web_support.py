"""Helpers shared by the web app tests (imported by name: this folder is on sys.path).

``web_app(settings)`` runs the real app in uvicorn on a loopback port in a thread and
yields its URL; ``sign_in`` signs a client in through the real form and returns the
session's CSRF token; ``seed`` writes qualifications through the lifecycle's own store.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from beachhead.config import Settings
from beachhead.qualify.lifecycle import Qualification
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualification_models import AccountStageRow
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore
from beachhead.web.app import create_app

TEMPLATE = Path(__file__).parents[2] / "src" / "beachhead" / "rules" / "templates" / "beachhead.yml"
TEAMS = """
teams:
  - key: self_serve
    capacity: 1
    reps:
      - {email: sam@example.com}
  - key: mid_market
    assign: least_loaded
    capacity: 1
    reps:
      - {email: Ana@Example.com}
      - {email: bo@example.com}
  - key: enterprise
    capacity: 1
    reps:
      - {email: eve@example.com}
routing:
  - {when: {trait: account.employees, gte: 1000}, team: enterprise}
  - {when: {trait: account.employees, gte: 100}, team: mid_market}
  - {team: self_serve}
"""
# capacity 1: every rep is full with the seeded work, so an action never drains the queues
# and unassigned rows stay unassigned (tests can count on them)
PASSWORD = "correct horse battery"
# (email, role, team): one person per role, reps in two teams
PEOPLE = [
    ("admin@example.com", "admin", None),
    ("manager@example.com", "manager", None),
    ("ana@example.com", "rep", "mid_market"),
    ("bo@example.com", "rep", "mid_market"),
    ("sam@example.com", "rep", "self_serve"),
    ("eve@example.com", "rep", "enterprise"),
    ("loner@example.com", "rep", None),
]


def write_config(folder: Path, extra: str = "") -> Path:
    path = folder / "beachhead.yml"
    path.write_text(TEMPLATE.read_text() + TEAMS + extra)
    return path


def make_settings(tmp: Path, database_url: str | None, extra_config: str = "") -> Settings:
    return Settings(
        data=tmp / "data",
        config=write_config(tmp, extra_config),
        database_url=database_url,
    )


def add_people(state: StateStore) -> None:
    users = AppUserStore(state)
    for email, role, team in PEOPLE:
        users.create(email, PASSWORD, role, team)


@contextlib.contextmanager
def web_app(settings: Settings) -> Iterator[str]:
    """The real app served by uvicorn on 127.0.0.1 (a free port); yields its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form (with its CSRF cookie); the session's CSRF token."""
    page = client.get("/signin")
    found = CSRF_FIELD.search(page.text)
    assert found, page.text
    r = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": found.group(1)},
    )
    assert r.status_code == 303, r.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    token: str = me.json()["csrf_token"]
    return token


T0 = datetime(2026, 3, 1, tzinfo=UTC)
PQLS = ["free_to_paid", "seat_expansion", "enterprise_conversion", "enterprise_expansion"]
TOUCHES = ["none", "low", "high"]
TEAM_REPS = {
    "self_serve": ["sam@example.com"],
    "mid_market": ["Ana@Example.com", "bo@example.com"],
    "enterprise": ["eve@example.com"],
}
STAGES = ["free", "pqa", "team", "business", "enterprise"]


def fake_qualification(i: int) -> Qualification:
    """The ``i``-th of a deterministic spread over PQLs, teams, reps, touches and times."""
    team = list(TEAM_REPS)[i % 3]
    reps = TEAM_REPS[team]
    rep = None if i % 4 == 0 else reps[i % len(reps)]
    pql = PQLS[i % 4]
    level = "user" if pql == "free_to_paid" else "account"
    account = f"acct_{i % 97:03d}"
    closed = i % 10 == 9
    at = T0 + timedelta(minutes=i * 7 % 5000, seconds=i % 60)
    return Qualification(
        id=f"q{i:06d}",
        pql=pql,
        level=level,
        entity_id=f"u_{i:06d}" if level == "user" else f"{account}_{i}",
        account_id=account,
        priority=(i * 31) % 7 * 10,
        status="converted" if closed else ("new" if rep is None else "assigned"),
        qualified_at=at,
        touch=TOUCHES[(i // 3) % 3],  # not in step with the team (i % 3)
        evidence=[
            {"path": "when.all[0]", "held": True, "value": i, "sentence": f"Signal {i} held"}
        ],
        team=team,
        rep=rep,
        closed_at=at + timedelta(days=1) if closed else None,
        updated_at=at,
    )


def seed(state: StateStore, n: int) -> list[Qualification]:
    """``n`` qualifications and the current stage of their accounts, in one transaction."""
    quals = [fake_qualification(i) for i in range(n)]
    store = QualificationStore(state)
    with state.session() as s, s.begin():
        store.save_qualifications(s, [], new=quals)
        for a in range(97):
            s.add(AccountStageRow(account_id=f"acct_{a:03d}", stage=STAGES[a % 5], since=T0))
    return quals
