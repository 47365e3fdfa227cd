"""CSRF: every state-changing request without the session's token is refused, and changes
nothing; GETs need no token; a token from another session does not work."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from web_support import CSRF_FIELD, PASSWORD, add_people, make_settings, seed, sign_in, web_app

from beachhead.config import Settings
from beachhead.store.state import StateStore


@pytest.fixture
def app_url(tmp_path: Path) -> tuple[str, Settings]:  # type: ignore[misc]
    settings = make_settings(tmp_path, None)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    seed(state, 60)
    state.close()
    with web_app(settings) as url:
        yield url, settings


def _rep_of(url: str, client: httpx.Client, qid: str) -> object:
    return client.get(f"/api/v1/qualifications/{qid}").json()["qualification"]["rep"]


# (method, path, form or json body) of writes a signed-in manager may make
WRITES: list[tuple[str, str, dict[str, dict[str, object]]]] = [
    ("POST", "/inbox/q/q000004/claim", {"form": {}}),
    ("POST", "/inbox/views", {"form": {"name": "x", "query": "touch=high"}}),
    ("POST", "/settings/reps/away", {"form": {"email": "bo@example.com", "away": "1"}}),
    ("POST", "/signout", {"form": {}}),
    ("POST", "/api/v1/qualifications/q000004/claim", {"json": {}}),
    ("POST", "/api/v1/views", {"json": {"name": "x", "params": {}}}),
    ("PUT", "/api/v1/reps/bo@example.com/away", {"json": {"away": True}}),
]


@pytest.mark.parametrize("token", ["", "not-the-token"], ids=["missing", "wrong"])
def test_writes_without_the_token_are_refused(app_url: tuple[str, Settings], token: str) -> None:
    url, _settings = app_url
    with httpx.Client(base_url=url) as client:
        good = sign_in(client, "manager@example.com")
        before = client.get("/api/v1/qualifications/q000004").json()
        for method, path, body in WRITES:
            kwargs: dict[str, object] = {}
            if "form" in body:
                kwargs["data"] = {**body["form"], **({"csrf_token": token} if token else {})}
            else:
                kwargs["json"] = body["json"]
                kwargs["headers"] = {"X-CSRF-Token": token} if token else {}
            r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert "CSRF" in r.text
            # a page's error is a page (with the shell), the API's is JSON
            kind = "application/json" if path.startswith("/api/") else "text/html"
            assert r.headers["content-type"].startswith(kind), (path, r.headers)
        # nothing changed: the qualification, the views, the away state, the session
        assert client.get("/api/v1/qualifications/q000004").json() == before
        assert client.get("/api/v1/views").json() == []
        teams = client.get("/api/v1/teams").json()
        assert not any(r["away"] for t in teams for r in t["reps"])
        assert client.get("/api/v1/me").json()["csrf_token"] == good


def test_the_right_token_works_and_another_sessions_does_not(
    app_url: tuple[str, Settings],
) -> None:
    url, _settings = app_url
    with httpx.Client(base_url=url) as manager, httpx.Client(base_url=url) as admin:
        token = sign_in(manager, "manager@example.com")
        other = sign_in(admin, "admin@example.com")
        assert token != other
        r = manager.put(
            "/api/v1/reps/bo@example.com/away", json={"away": True}, headers={"X-CSRF-Token": other}
        )
        assert r.status_code == 403
        r = manager.put(
            "/api/v1/reps/bo@example.com/away", json={"away": True}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 200 and r.json()["away"] is True
        form = manager.post(  # a manager reassigns (claiming needs a rep of the definitions)
            "/inbox/q/q000004/reassign", data={"csrf_token": token, "rep": "bo@example.com"}
        )
        assert form.status_code == 303
        assert _rep_of(url, manager, "q000004") == "bo@example.com"


def test_sign_in_needs_the_forms_token(app_url: tuple[str, Settings]) -> None:
    url, _settings = app_url
    with httpx.Client(base_url=url) as client:
        creds = {"email": "ana@example.com", "password": PASSWORD}
        # no bh_csrf cookie yet: a login-CSRF attempt from another site
        assert client.post("/signin", data={**creds, "csrf_token": "forged"}).status_code == 403
        page = client.get("/signin")
        found = CSRF_FIELD.search(page.text)
        assert found is not None
        assert client.post("/signin", data={**creds, "csrf_token": "forged"}).status_code == 403
        assert client.get("/api/v1/me").status_code == 401
        ok = client.post("/signin", data={**creds, "csrf_token": found.group(1)})
        assert ok.status_code == 303 and ok.headers["location"] == "/inbox"
        assert client.get("/api/v1/me").json()["email"] == "ana@example.com"


def test_sign_in_out_and_cookie_flags(app_url: tuple[str, Settings]) -> None:
    url, _settings = app_url
    with httpx.Client(base_url=url) as client:
        page = client.get("/signin")
        found = CSRF_FIELD.search(page.text)
        assert found is not None
        bad = client.post(
            "/signin",
            data={
                "email": "ana@example.com",
                "password": "wrong pass",
                "csrf_token": found.group(1),
            },
        )
        assert bad.status_code == 401 and "do not match" in bad.text
        unknown = client.post(
            "/signin",
            data={"email": "who@example.com", "password": PASSWORD, "csrf_token": found.group(1)},
        )
        assert unknown.status_code == 401 and unknown.text.count("do not match") == 1
        r = client.post(
            "/signin",
            data={
                "email": "ANA@example.com",
                "password": PASSWORD,
                "csrf_token": found.group(1),
                "next": "//evil.example/steal",
            },
        )
        assert r.status_code == 303 and r.headers["location"] == "/inbox"  # no open redirect
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        token = client.get("/api/v1/me").json()["csrf_token"]
        assert client.post("/signout", data={"csrf_token": token}).status_code == 303
        assert client.get("/api/v1/me").status_code == 401
        redirect = client.get("/inbox?touch=high")
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/signin?next=/inbox%3Ftouch%3Dhigh"


def test_repeated_failed_sign_ins_wait(app_url: tuple[str, Settings]) -> None:
    url, _settings = app_url
    with httpx.Client(base_url=url) as client:
        found = CSRF_FIELD.search(client.get("/signin").text)
        assert found is not None
        token = found.group(1)

        def attempt(email: str, password: str) -> int:
            data = {"email": email, "password": password, "csrf_token": token}
            return client.post("/signin", data=data).status_code

        assert [attempt("bo@example.com", "wrong wrong") for _ in range(10)] == [401] * 10
        assert attempt("bo@example.com", PASSWORD) == 429  # even the right one waits now
        assert attempt("Bo@Example.com ", "wrong wrong") == 429  # the same email, spelled so
        assert attempt("sam@example.com", PASSWORD) == 303  # other people are not held up
