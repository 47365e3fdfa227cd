"""Bad input to the web app's forms and JSON API: a clear 4xx naming what is wrong, and
nothing stored, on the embedded stores and on PostgreSQL (each of these was a 500, or was
stored: an id past SQLite's integers, a '²' that ``str.isdigit`` takes for a digit, a
blank view name through the API, a NUL that PostgreSQL cannot store, a 20 MB disqualify
reason, a 100,000-character key name through the form)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from web_support import add_people, make_settings, seed, sign_in, web_app

from beachhead.store.state import StateStore

HUGE = "9" * 23  # past 2**63
# (who signs in, method, path, form data or JSON body, status, words of the answer)
CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("ana", "DELETE", f"/api/v1/views/{HUGE}", {}, 404, "no saved view"),
    ("ana", "FORM", f"/inbox/views/{HUGE}/delete", {}, 404, "no saved view"),
    ("ana", "GET", f"/inbox?view={HUGE}", {}, 404, "no such saved view"),
    ("ana", "JSON", "/api/v1/views", {"name": "   ", "params": {}}, 422, "needs a name"),
    ("ana", "JSON", "/api/v1/views", {"name": "a\x00b", "params": {}}, 422, "NUL"),
    ("ana", "FORM", "/inbox/views", {"name": "n" * 201, "query": "scope=mine"}, 422, "200"),
    ("ana", "FORM", "/inbox/views", {"name": "x\x00y", "query": "scope=mine"}, 422, "NUL"),
    ("ana", "JSON", "/api/v1/views", {"name": "all", "params": {"scope": "all"}}, 403, "manager"),
    ("ana", "FORM", "/inbox/views", {"name": "t", "query": "team=enterprise"}, 403, "manager"),
    ("admin", "FORM", "/settings/keys", {"name": "L" * 100_000}, 422, "200 characters"),
    ("admin", "JSON", "/api/v1/keys", {"name": "k\x00"}, 422, "NUL"),
    ("ana", "ACT", "disqualify", {"reason": "z" * 2001}, 422, "2,000 characters"),
    ("ana", "BIG", "/api/v1/views", {"bytes": 2_000_000}, 413, "larger than 1,048,576"),
    ("ana", "ACT", "disqualify", {"reason": "bad\x00reason"}, 422, "NUL"),
]


@pytest.fixture(params=["embedded", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, StateStore]]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    settings = make_settings(tmp_path, url)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    seed(state, 20)
    with web_app(settings) as base:
        yield base, state
    state.close()


def _stored(state: StateStore) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    with state.session() as s:
        return tuple(
            tuple(s.execute(text(sql)).all())
            for sql in (
                "SELECT name, revoked_at FROM write_keys ORDER BY id",
                "SELECT id, name FROM saved_views ORDER BY id",
                "SELECT id, status FROM qualifications ORDER BY id",
                "SELECT count(*) FROM qualification_history",
            )
        )


@pytest.mark.parametrize(("who", "method", "path", "data", "status", "says"), CASES)
def test_bad_input_is_a_4xx_naming_it_and_stores_nothing(
    site: tuple[str, StateStore],
    who: str,
    method: str,
    path: str,
    data: dict[str, Any],
    status: int,
    says: str,
) -> None:
    base, state = site
    with httpx.Client(base_url=base) as client:
        csrf = sign_in(client, f"{who}@example.com")
        if method == "ACT":  # a rep action on one of the rep's own qualifications
            mine = client.get("/api/v1/qualifications", params={"scope": "mine"}).json()
            path = f"/api/v1/qualifications/{mine['qualifications'][0]['id']}/{path}"
            method = "JSON"
        before = _stored(state)
        headers = {"X-CSRF-Token": csrf}
        if method == "BIG":  # a body over the API's limit: refused before it is read
            r = client.post(path, content=b"x" * data["bytes"], headers=headers)
        elif method == "GET":
            r = client.get(path)
        elif method == "DELETE":
            r = client.delete(path, headers=headers)
        elif method == "FORM":
            r = client.post(path, data={**data, "csrf_token": csrf})
        else:
            r = client.post(path, json=data, headers=headers)
        assert r.status_code == status, r.text[:300]
        assert says in r.text
        assert _stored(state) == before
