"""Who may do what in the web app and the JSON API: one table, role x route -> status.

``cases/web_access.csv`` holds one row per request and one column per person (not signed
in, admin, manager, and reps: ana in mid_market, sam in self_serve, loner in no team).
Placeholders name kinds of seeded qualifications (``{mid_queue}``: unassigned in
mid_market; ``{mid_ana}``: ana's; ``{ent_eve}``: eve's in enterprise); each cell gets a
row of that kind no other cell used, so writes in one cell never change another's answer.
Run on SQLite and on PostgreSQL state.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_support import add_people, fake_qualification, make_settings, seed, sign_in, web_app

from beachhead.store.state import StateStore

CASES = Path(__file__).parent / "cases" / "web_access.csv"
ROWS = list(csv.DictReader(CASES.open()))
PEOPLE = {
    "admin": "admin@example.com",
    "manager": "manager@example.com",
    "ana": "ana@example.com",
    "sam": "sam@example.com",
    "loner": "loner@example.com",
}
COLUMNS = ["anon", *PEOPLE]
N = 1200


def _kind(i: int) -> str | None:
    q = fake_qualification(i)
    if q.closed_at is not None:
        return None
    if q.team == "mid_market" and q.rep is None:
        return "mid_queue"
    if q.team == "mid_market" and q.rep == "Ana@Example.com":
        return "mid_ana"
    if q.team == "enterprise" and q.rep == "eve@example.com":
        return "ent_eve"
    return None


def _pools() -> dict[str, Iterator[str]]:
    kinds: dict[str, list[str]] = {}
    for i in range(N):
        kind = _kind(i)
        if kind is not None:
            kinds.setdefault(kind, []).append(fake_qualification(i).id)
    return {k: iter(v) for k, v in kinds.items()}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


def _request(client: httpx.Client, csrf: str, row: dict[str, str], path: str) -> httpx.Response:
    body = row["body"]
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if body.startswith("form:"):
        data = dict(p.split("=", 1) for p in body[5:].split("&") if p)
        data["csrf_token"] = csrf
        return client.request(row["method"], path, data=data)
    if body:
        return client.request(row["method"], path, json=json.loads(body), headers=headers)
    return client.request(row["method"], path, headers=headers)


def test_every_role_gets_what_the_table_says(tmp_path: Path, database_url: str | None) -> None:
    settings = make_settings(tmp_path, database_url)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    seed(state, N)
    state.close()
    pools = _pools()
    got: list[tuple[str, str, str, int, str]] = []
    with web_app(settings) as url:
        clients = {name: httpx.Client(base_url=url) for name in COLUMNS}
        tokens = {"anon": ""} | {name: sign_in(clients[name], PEOPLE[name]) for name in PEOPLE}
        try:
            for row in ROWS:
                for who in COLUMNS:
                    path = row["path"]
                    for kind, pool in pools.items():
                        if "{" + kind + "}" in path:
                            path = path.replace("{" + kind + "}", next(pool))
                    r = _request(clients[who], tokens[who], row, path)
                    expected = int(row[who])
                    if r.status_code != expected:
                        got.append((row["method"], path, who, r.status_code, r.text[:160]))
        finally:
            for c in clients.values():
                c.close()
    assert got == [], "\n".join(f"{m} {p} as {w}: {s} {t}" for m, p, w, s, t in got)


def test_table_covers_every_role_and_kind() -> None:
    """The table names a status for every person on every row, and every placeholder exists."""
    pools = _pools()
    for row in ROWS:
        assert all(row[c].isdigit() for c in COLUMNS), row
        for part in row["path"].split("{")[1:]:
            assert part.split("}")[0] in pools, row["path"]
