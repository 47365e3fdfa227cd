"""Server time of the inbox, the account view and the Journey board on a large store.

The store is filled fast through the store layer (no HTTP, no evaluation): N accounts
with traits (plan, seats, MRR, owner), 3 users each with memberships, activity messages
over 90 days (``EventStore.append``), 10 qualifications per account with evidence
(``QualificationStore.save_qualifications``, one bulk insert), and every account's stage
with some moves in the last 30 days. Then the real app is served by uvicorn on loopback and
each page is requested in turn by a signed-in admin; the time is the request's wall time
on loopback (the server's work plus one local round trip). The first request of each page
builds the cached directory (identity and one evaluation) and is reported apart.

Continuous evaluation is turned off (``BEACHHEAD_EVAL_INTERVAL=0``) so the pages are timed
alone. Aim: p95 under 300 ms for each page with 10k accounts and 100k qualifications.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from beachhead.config import Settings
from beachhead.ingest.message import MembershipRow, Message, TraitRow
from beachhead.qualify.lifecycle import Qualification
from beachhead.runtime import Runtime
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualification_models import AccountStageRow, StageHistoryRow
from beachhead.store.qualifications import QualificationStore
from beachhead.web.app import create_app
from bench.table import BenchTable

AS_OF = datetime(2026, 11, 30, 12, tzinfo=UTC)
PLANS = ["free", "free", "free", "team", "team", "business", "enterprise"]
STAGES = {"free": "free", "team": "team", "business": "business", "enterprise": "enterprise"}
PQLS = [
    ("free_to_paid", "user", 10),
    ("seat_expansion", "account", 20),
    ("enterprise_conversion", "account", 30),
    ("enterprise_expansion", "account", 40),
]
EVENTS = ["Logged In", "Report Created", "Dashboard Shared", "Comment Added", "Invite Sent"]
TEAMS = """
teams:
  - key: self_serve
    reps: [{email: maya@example.com}, {email: tom@example.com}]
  - key: mid_market
    capacity: 5000
    reps: [{email: ana@example.com}, {email: bo@example.com}, {email: chidi@example.com}]
  - key: enterprise
    reps: [{email: eve@example.com}, {email: raj@example.com}]
routing:
  - {when: {trait: account.employees, gte: 1000}, team: enterprise}
  - {when: {trait: account.employees, gte: 100}, team: mid_market}
  - {team: self_serve}
"""
REPS = {
    "self_serve": ["maya@example.com", "tom@example.com"],
    "mid_market": ["ana@example.com", "bo@example.com", "chidi@example.com"],
    "enterprise": ["eve@example.com", "raj@example.com"],
}
ADMIN, PASSWORD = "admin@example.com", "bench password 1"


def _team(employees: int) -> str:
    return "enterprise" if employees >= 1000 else "mid_market" if employees >= 100 else "self_serve"


def fill(settings: Settings, accounts: int, quals_per_account: int, events: int) -> list[str]:
    """Fill the stores; the account ids."""
    from beachhead.cli.rules_cmds import template_text

    settings.config.write_text(template_text() + TEAMS, encoding="utf-8")
    rnd = random.Random(5)
    rt = Runtime(settings)
    try:
        store, state = rt.events, rt.state
        ids = [f"acct_{i:05d}" for i in range(accounts)]
        t0 = AS_OF - timedelta(days=120)
        rows: list[TraitRow] = []
        members: list[MembershipRow] = []
        users: list[str] = []
        employees_of: dict[str, int] = {}
        for i, a in enumerate(ids):
            plan = PLANS[i % len(PLANS)]
            employees = rnd.choice([5, 20, 80, 150, 400, 1200, 5000])
            employees_of[a] = employees
            team = _team(employees)
            traits = {
                "name": f"Account {i}",
                "domain": f"a{i}.example",
                "plan": plan,
                "seats": 5 if plan == "free" else 20,
                "mrr": 0 if plan == "free" else 20 * 12,
                "employees": employees,
                "industry": rnd.choice(["software", "retail", "fintech", "health"]),
                "country": rnd.choice(["US", "DE", "FR", "BR"]),
                "owner": rnd.choice(REPS[team]),
            }
            rows.append(TraitRow("account", a, t0, traits, "import"))
            for k in range(3):
                u = f"u_{i:05d}_{k}"
                users.append(u)
                rows.append(
                    TraitRow(
                        "user",
                        u,
                        t0,
                        {"email": f"{u}@a{i}.example", "name": f"User {i}.{k}", "title": "Analyst"},
                        "import",
                    )
                )
                members.append(MembershipRow(u, a, t0, "import"))
        store.append_trait_rows(rows, members)
        batch: list[Message] = []
        for n in range(events):
            u = users[rnd.randrange(len(users))]
            ts = AS_OF - timedelta(seconds=rnd.randrange(90 * 86400))
            batch.append(
                Message(
                    message_id=f"m{n}",
                    type="track",
                    ts=ts,
                    received_at=ts,
                    event=rnd.choice(EVENTS),
                    user_id=u,
                    properties={"n": n % 7},
                )
            )
            if len(batch) >= 20_000:
                store.append(batch, [{} for _ in batch], "bench")
                batch.clear()
        if batch:
            store.append(batch, [{} for _ in batch], "bench")
        _qualifications(rt, ids, employees_of, quals_per_account, rnd)
        AppUserStore(state).create(ADMIN, PASSWORD, "admin")
        return ids
    finally:
        rt.close()


def _qualifications(
    rt: Runtime, ids: list[str], employees_of: dict[str, int], per: int, rnd: random.Random
) -> None:
    quals: list[Qualification] = []
    n = 0
    for a in ids:
        team = _team(employees_of[a])
        for j in range(per):
            pql, level, priority = PQLS[j % len(PQLS)]
            closed = j >= per // 2  # half open, half closed
            at = AS_OF - timedelta(days=rnd.randrange(1, 200), minutes=n % 1440)
            rep = None if n % 3 == 0 else rnd.choice(REPS[team])
            status = (
                rnd.choice(["converted", "expired", "disqualified"])
                if closed
                else ("new" if rep is None else rnd.choice(["assigned", "working"]))
            )
            quals.append(
                Qualification(
                    id=f"q{n:07d}",
                    pql=pql,
                    level=level,
                    entity_id=f"u_{a[5:]}_{j % 3}" if level == "user" else a,
                    account_id=a,
                    priority=priority,
                    status=status,
                    qualified_at=at,
                    touch=rnd.choice(["none", "low", "high"]),
                    evidence=[
                        {
                            "path": "when.all[0]",
                            "held": True,
                            "value": "free",
                            "sentence": "Account plan is free",
                        },
                        {
                            "path": "when.all[1]",
                            "held": True,
                            "value": j + 5,
                            "sentence": f"Created {j + 5} reports in the last 14 days (needs 5)",
                        },
                    ],
                    team=team,
                    rep=rep,
                    closed_at=at + timedelta(days=3) if closed else None,
                    updated_at=at,
                )
            )
            n += 1
    # one open qualification per (pql, entity): the open half are distinct (pql, entity)
    store = QualificationStore(rt.state)
    with rt.state.session() as s, s.begin():
        store.save_qualifications(s, [], new=quals)
        for i, a in enumerate(ids):
            plan = PLANS[i % len(PLANS)]
            stage = STAGES[plan]
            moved = i % 5 == 0 and plan != "free"
            since = AS_OF - timedelta(days=rnd.randrange(1, 29) if moved else 100)
            s.add(AccountStageRow(account_id=a, stage=stage, since=since.replace(tzinfo=None)))
            first = AS_OF - timedelta(days=100)
            s.add(
                StageHistoryRow(
                    account_id=a,
                    stage="free" if moved else stage,
                    from_stage=None,
                    at=first.replace(tzinfo=None),
                    initial=True,
                )
            )
            if moved:
                s.add(
                    StageHistoryRow(
                        account_id=a,
                        stage=stage,
                        from_stage="free",
                        at=since.replace(tzinfo=None),
                        initial=False,
                    )
                )


@contextlib.contextmanager
def served(settings: Settings) -> Iterator[str]:
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def sign_in(client: httpx.Client) -> None:
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the sign-in form has a CSRF token"
    r = client.post(
        "/signin", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert r.status_code == 303, r.text


def _time(client: httpx.Client, path: str) -> float:
    t = time.perf_counter()
    r = client.get(path)
    elapsed = time.perf_counter() - t
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
    return elapsed * 1000


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(quick: bool) -> list[BenchTable]:
    # pages alone: the serve's continuous evaluation would re-evaluate the synthetic store
    os.environ["BEACHHEAD_EVAL_INTERVAL"] = "0"
    accounts, per, events, reps = (1_000, 10, 20_000, 20) if quick else (10_000, 10, 200_000, 60)
    table = BenchTable(
        f"web pages: {accounts:,} accounts, {accounts * per:,} qualifications, "
        f"{events:,} events (ms per request on loopback)",
        ["page", "first (cold)", "p50", "p95", "max", "requests"],
    )
    with tempfile.TemporaryDirectory(prefix="bh-bench-web-") as tmp:
        settings = Settings(data=Path(tmp) / "data", config=Path(tmp) / "beachhead.yml")
        started = time.perf_counter()
        ids = fill(settings, accounts, per, events)
        table.notes.append(f"filled the stores in {time.perf_counter() - started:.1f} s")
        rnd = random.Random(9)
        sample = [rnd.choice(ids) for _ in range(reps)]
        pages: dict[str, Any] = {
            "inbox (all, first page)": lambda i: "/inbox?scope=all",
            "inbox (one team)": lambda i: "/inbox?scope=all&team=mid_market",
            "account view": lambda i: f"/accounts/{sample[i]}",
            "journey board": lambda i: "/journey",
            "journey (owner filter)": lambda i: "/journey?owner=ana%40example.com",
        }
        with served(settings) as url, httpx.Client(base_url=url, timeout=600) as client:
            sign_in(client)
            for name, path_of in pages.items():
                cold = _time(client, path_of(0))
                times = [_time(client, path_of(i)) for i in range(reps)]
                table.add(
                    name,
                    round(cold, 1),
                    round(statistics.median(times), 1),
                    round(_pct(times, 95), 1),
                    round(max(times), 1),
                    reps,
                )
    table.notes.append(
        "first (cold): the first request builds the cached directory (identity + one "
        "evaluation); later requests reuse it until the data or the definitions change"
    )
    return [table]
