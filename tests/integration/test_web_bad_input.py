"""Bad input to the web app's forms and JSON API: a clear 4xx naming what is wrong, and
nothing stored, on the embedded stores and on PostgreSQL (each of these was a 500, or was
stored: an id past SQLite's integers, a '²' that ``str.isdigit`` takes for a digit, a
blank view name through the API, a NUL that PostgreSQL cannot store, a 20 MB disqualify
reason, a 100,000-character key name through the form)."""

from __future__ import annotations

import re
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
    # a number that is not one: a page naming the parameter (was FastAPI's raw JSON)
    ("ana", "GET", "/accounts?page=abc", {}, 422, "page must be a whole number"),
    ("ana", "GET", "/accounts/acct_001?page=1.5", {}, 422, "page must be a whole number"),
    ("ana", "GET", "/users?page=1.5", {}, 422, "page must be a whole number"),
    ("ana", "GET", "/users/u_000001?page=abc", {}, 422, "page must be a whole number"),
    ("ana", "GET", "/journey?days=abc", {}, 422, "days must be a whole number"),
    ("admin", "GET", "/definitions?saved=1.5", {}, 422, "saved must be a whole number"),
    ("ana", "FORM", "/inbox/views/abc/delete", {}, 422, "view_id must be a whole number"),
    ("ana", "GET", "/api/v1/qualifications?limit=abc", {}, 422, "int_parsing"),  # JSON
    # past 2**63: the last page (the list is empty here: page 1), never an OFFSET that big
    ("ana", "GET", f"/accounts?page={HUGE}", {}, 200, "0 accounts"),
    ("ana", "GET", "/users?page=9223372036854775807", {}, 200, "0 users"),
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


# (path, the parameter it names): pages answer a page, the API its JSON
NOT_A_NUMBER = [
    ("/accounts?page=abc", "page"),
    ("/users/u_000001?page=1.5", "page"),
    ("/journey?days=x", "days"),
    ("/api/v1/qualifications?limit=abc", "limit"),
]


def test_a_parameter_that_is_not_a_number_is_an_html_page_or_api_json(
    site: tuple[str, StateStore],
) -> None:
    base, _ = site
    with httpx.Client(base_url=base) as client:
        sign_in(client, "ana@example.com")
        for path, name in NOT_A_NUMBER:
            r = client.get(path)
            assert r.status_code == 422, path
            if path.startswith("/api/"):
                assert r.headers["content-type"] == "application/json"
                assert r.json()["detail"][0]["loc"] == ["query", name]
            else:
                assert r.headers["content-type"].startswith("text/html"), path
                assert "<h1" in r.text and "Not valid" in r.text
                assert f"{name} must be a whole number" in r.text
                assert r.headers["x-frame-options"] == "DENY"  # the shell's headers


SELECT = re.compile(r'<select id="f-[a-z]+" name="([a-z]+)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?')
SCOPE = re.compile(r'<input type="hidden" name="scope" value="([^"]*)">')


def _form(html: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The inbox filter form: what it submits as it stands, and each select's choices."""
    form = html.split('aria-label="Filters"', 1)[1].split("</form>", 1)[0]
    found = SCOPE.search(form)
    assert found
    values, choices = {"scope": found.group(1)}, {}
    for name, options in SELECT.findall(form):
        opts = OPTION.findall(options)
        choices[name] = [v for v, _ in opts]
        values[name] = next((v for v, sel in opts if sel), opts[0][0])
    return values, choices


@pytest.mark.parametrize("who", ["ana", "manager"])
def test_every_choice_of_the_inbox_form_is_accepted(site: tuple[str, StateStore], who: str) -> None:
    """The form autosubmits on each change, with the other fields as they stand: a band or
    the score sort with the score select at "all" was a 422 (they need a score)."""
    base, _ = site
    with httpx.Client(base_url=base) as client:
        sign_in(client, f"{who}@example.com")
        values, choices = _form(client.get("/inbox").text)
        assert {"sort", "band", "score"} <= set(choices) and "score" in choices["sort"]
        for name, options in choices.items():
            for value in options:
                r = client.get("/inbox", params={**values, name: value})
                assert r.status_code == 200, (name, value, r.text[:300])
                chosen, _ = _form(r.text)
                assert chosen[name] == value or name == "score", (name, value)
                if value and (name == "band" or (name, value) == ("sort", "score")):
                    assert chosen["score"] == "fit"  # the first defined score (with bands)
