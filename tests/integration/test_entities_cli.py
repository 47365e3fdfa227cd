"""``beachhead users`` / ``beachhead accounts`` on a small imported fixture, both backends.

Worked out by hand at as_of 2026-03-05 (import rows carry updated_at 2026-02-01):

- u1: identify (ann@acme.com, CTO) and group acme (plan free) on 03-01; Report Created on
  03-04 -> member of acme, usage 10 (report in 7d) + 5 (CTO) = 15.
- u2: bo@beta.io, no group -> joins beta by domain (beta's trait https://www.beta.io/).
- u3: v1 viewed Pricing on 03-02 and was identified as u3 on 03-03 -> one user u3, no
  email, no account. v1 is not a user of its own.
- u4: users import with account_id acme -> member (primary acme), title Engineer.
- acme: import (Acme, 250, software, acme.com) + group plan free -> stage free, fit 50 high.
  On 03-06 acme's plan becomes team -> at 03-07 its stage is team.
- beta: import (Beta, 50, retail) -> no stage holds (unstaged), fit 0 low.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_serve import Server, cli

CONFIG = """\
version: 1
scores:
  fit:
    level: account
    rules:
      - {points: 30, when: {trait: account.employees, gte: 200}}
      - {points: 20, when: {trait: account.industry, in: [software]}}
    bands: {high: 50, medium: 30}
  usage:
    level: user
    rules:
      - {points: 10, when: {event: Report Created, within: 7d}}
      - {points: 5, when: {trait: user.title, eq: CTO}}
stages:
  - {key: free, name: Free, when: {trait: account.plan, eq: free}}
  - {key: team, name: Team, when: {trait: account.plan, eq: team}}
"""

EVENTS = [
    {"type": "identify", "userId": "u1", "traits": {"email": "ann@acme.com", "title": "CTO"},
     "timestamp": "2026-03-01T00:00:00Z"},
    {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"plan": "free"},
     "timestamp": "2026-03-01T00:00:00Z"},
    {"type": "track", "userId": "u1", "event": "Report Created",
     "timestamp": "2026-03-04T00:00:00Z"},
    {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"plan": "team"},
     "timestamp": "2026-03-06T00:00:00Z"},
    {"type": "identify", "userId": "u2", "traits": {"email": "bo@beta.io"},
     "timestamp": "2026-03-01T00:00:00Z"},
    {"type": "page", "anonymousId": "v1", "name": "Pricing", "timestamp": "2026-03-02T00:00:00Z"},
    {"type": "identify", "userId": "u3", "anonymousId": "v1", "traits": {"title": "PM"},
     "timestamp": "2026-03-03T00:00:00Z"},
]  # fmt: skip
ACCOUNTS_CSV = (
    "id,name,employees,industry,domain,updated_at\n"
    "acme,Acme,250,software,acme.com,2026-02-01T00:00:00Z\n"
    "beta,Beta,50,retail,https://www.beta.io/,2026-02-01T00:00:00Z\n"
)
# Every CLI call is a subprocess of a few seconds; the whole module takes about a minute.
pytestmark = pytest.mark.slow

USERS_CSV = "id,title,account_id,updated_at\nu4,Engineer,acme,2026-02-01T00:00:00Z\n"

NO_BAND = {"points": 0, "band": None}
USERS_0305 = [
    {"id": "u1", "traits": {"email": "ann@acme.com", "title": "CTO"}, "account_id": "acme",
     "accounts": ["acme"], "scores": {"usage": {"points": 15, "band": None}}},
    {"id": "u2", "traits": {"email": "bo@beta.io"}, "account_id": "beta", "accounts": ["beta"],
     "scores": {"usage": NO_BAND}},
    {"id": "u3", "traits": {"title": "PM"}, "account_id": None, "accounts": [],
     "scores": {"usage": NO_BAND}},
    {"id": "u4", "traits": {"title": "Engineer"}, "account_id": "acme", "accounts": ["acme"],
     "scores": {"usage": NO_BAND}},
]  # fmt: skip
ACME = {"name": "Acme", "employees": 250, "industry": "software", "domain": "acme.com"}
BETA = {"name": "Beta", "employees": 50, "industry": "retail", "domain": "https://www.beta.io/"}
ACCOUNTS_0305 = [
    {"id": "acme", "traits": {**ACME, "plan": "free"}, "members": ["u1", "u4"], "stage": "free",
     "scores": {"fit": {"points": 50, "band": "high"}}},
    {"id": "beta", "traits": BETA, "members": ["u2"], "stage": "unstaged",
     "scores": {"fit": {"points": 0, "band": "low"}}},
]  # fmt: skip


def _load(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    (tmp_path / "accounts.csv").write_text(ACCOUNTS_CSV)
    (tmp_path / "users.csv").write_text(USERS_CSV)
    cli(env, "import", "events", str(events))
    cli(env, "import", "accounts", str(tmp_path / "accounts.csv"))
    cli(env, "import", "users", str(tmp_path / "users.csv"))
    config = tmp_path / "beachhead.yml"
    config.write_text(CONFIG)
    return {**env, "BEACHHEAD_CONFIG": str(config)}


def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(cli(env, *args, "--format", "json").stdout)


def test_users_and_accounts(backend_env: dict[str, str], tmp_path: Path) -> None:
    env = _load(backend_env, tmp_path)
    assert _json(env, "users", "--as-of", "2026-03-05") == {
        "as_of": "2026-03-05T00:00:00Z",
        "users": USERS_0305,
    }
    assert _json(env, "accounts", "--as-of", "2026-03-05") == {
        "as_of": "2026-03-05T00:00:00Z",
        "accounts": ACCOUNTS_0305,
    }
    later = _json(env, "accounts", "--as-of", "2026-03-07T00:00:00Z")
    assert [(a["id"], a["stage"], a["traits"].get("plan")) for a in later["accounts"]] == [
        ("acme", "team", "team"),
        ("beta", "unstaged", None),
    ]

    # before any data
    assert _json(env, "users", "--as-of", "2026-01-01") == {
        "as_of": "2026-01-01T00:00:00Z",
        "users": [],
    }
    # without a definitions file: no scores, no stage
    no_config = {**env, "BEACHHEAD_CONFIG": str(tmp_path / "missing.yml")}
    accounts = _json(no_config, "accounts", "--as-of", "2026-03-05")["accounts"]
    assert [(a["id"], a["stage"], a["scores"]) for a in accounts] == [
        ("acme", None, {}),
        ("beta", None, {}),
    ]
    users = _json(no_config, "users", "--as-of", "2026-03-05")["users"]
    assert [u["scores"] for u in users] == [{}, {}, {}, {}]
    said = cli(no_config, "users", "--as-of", "2026-03-05", "--format", "json").stderr
    assert said.strip() == (
        f"warning: no definitions file {tmp_path / 'missing.yml'}: listed without scores "
        "or stages (beachhead init writes one)"
    )

    # readable tables, and one-line failures on bad input
    out = cli(env, "accounts", "--as-of", "2026-03-05").stdout
    assert "fit 50 (high)" in out and "unstaged" in out and out.rstrip().endswith("2 accounts")
    out = cli(env, "users", "--as-of", "2026-03-05").stdout
    assert "ann@acme.com" in out and out.rstrip().endswith("4 users")
    bad = cli(env, "users", "--as-of", "yesterday", check=False)
    assert bad.returncode != 0
    assert bad.stderr.strip().count("\n") == 0 and "--as-of" in bad.stderr
    (tmp_path / "broken.yml").write_text("version: 1\npqls: 3\n")
    broken = cli({**env, "BEACHHEAD_CONFIG": str(tmp_path / "broken.yml")}, "users", check=False)
    assert broken.returncode != 0 and "broken.yml" in broken.stderr


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = _load({"BEACHHEAD_DATA": str(tmp_path / "data")}, tmp_path)
    srv = Server(env, tmp_path / "serve.log").start()
    try:
        yield env
    finally:
        srv.stop()


def test_beside_a_live_server(served: dict[str, str]) -> None:
    """The server holds DuckDB; the commands are answered by it."""
    assert _json(served, "users", "--as-of", "2026-03-05")["users"] == USERS_0305
    assert _json(served, "accounts", "--as-of", "2026-03-05")["accounts"] == ACCOUNTS_0305
