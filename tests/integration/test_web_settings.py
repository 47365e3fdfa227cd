"""Settings: write keys made and revoked in the app work on the ingest API; away reps are
routed around by actions taken in the app; "send test" reaches real loopback receivers."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from web_support import add_people, fake_qualification, make_settings, sign_in, web_app

from beachhead.alerts import webhook
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore


class Receiver:
    """A loopback HTTP server that records what it is sent and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.got: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.append((self.path, dict(self.headers.items()), body))
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    ok, failing = Receiver(200), Receiver(500)
    yield ok, failing
    ok.close()
    failing.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


def _start(tmp_path: Path, database_url: str | None, extra: str = "") -> tuple[Path, object]:
    settings = make_settings(tmp_path, database_url, extra)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    # two of eve's high-touch enterprise qualifications, to be handed to mid_market
    with state.session() as s, s.begin():
        QualificationStore(state).save_qualifications(
            s, [], new=[fake_qualification(17), fake_qualification(26)]
        )
    state.close()
    return tmp_path, settings


def test_keys_created_and_revoked_in_the_app(tmp_path: Path, database_url: str | None) -> None:
    _, settings = _start(tmp_path, database_url)
    with web_app(settings) as url, httpx.Client(base_url=url) as admin:  # type: ignore[arg-type]
        csrf = sign_in(admin, "admin@example.com")
        made = admin.post("/settings/keys", data={"csrf_token": csrf, "name": "website"})
        # Post/Redirect/Get: a reload of the page shown after it creates no second key
        assert made.status_code == 303, made.text
        location = made.headers["location"]
        assert location.startswith("/settings?") and "bh_" not in location
        page = admin.get(location)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        key = re.search(r'<code id="new-key">(bh_[^<]+)</code>', page.text)
        assert key is not None and key.group(1) not in location
        reload = admin.get(location)  # shown once: the reload says so, without the key
        assert reload.status_code == 200 and 'id="new-key"' not in reload.text
        assert key.group(1) not in reload.text and "shown only once" in reload.text
        assert len(admin.get("/api/v1/keys").json()) == 1
        auth = "Basic " + base64.b64encode(f"{key.group(1)}:".encode()).decode()
        msg = {"type": "track", "userId": "u1", "event": "Logged In", "messageId": "m1"}
        sent = httpx.post(f"{url}/v1/track", json=msg, headers={"Authorization": auth})
        assert sent.status_code == 200, sent.text
        listed = admin.get("/api/v1/keys").json()
        assert [k["name"] for k in listed] == ["website"] and listed[0]["revoked_at"] is None
        prefix = listed[0]["prefix"]
        assert key.group(1).startswith(prefix) and key.group(1) not in admin.get("/settings").text
        revoked = admin.post(f"/settings/keys/{prefix}/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 303
        assert admin.get("/api/v1/keys").json()[0]["revoked_at"] is not None
        deadline = time.monotonic() + 5
        status = 200
        while status != 401 and time.monotonic() < deadline:
            time.sleep(0.2)
            msg["messageId"] = f"m{time.monotonic()}"
            status = httpx.post(
                f"{url}/v1/track", json=msg, headers={"Authorization": auth}
            ).status_code
        assert status == 401
        again = admin.post(f"/settings/keys/{prefix}/revoke", data={"csrf_token": csrf})
        assert again.status_code == 404


def test_away_reps_get_no_new_work(tmp_path: Path, database_url: str | None) -> None:
    _, settings = _start(tmp_path, database_url)
    with web_app(settings) as url, httpx.Client(base_url=url) as manager:  # type: ignore[arg-type]
        csrf = sign_in(manager, "manager@example.com")
        h = {"X-CSRF-Token": csrf}
        page = manager.post(
            "/settings/reps/away", data={"csrf_token": csrf, "email": "bo@example.com", "away": "1"}
        )
        assert page.status_code == 303
        teams = {t["key"]: t for t in manager.get("/api/v1/teams").json()}
        away = {r["email"]: r["away"] for r in teams["mid_market"]["reps"]}
        assert away == {"Ana@Example.com": False, "bo@example.com": True}
        assert "Mark back" in manager.get("/settings").text
        first = manager.post(
            "/api/v1/qualifications/q000017/reassign", json={"team": "mid_market"}, headers=h
        )
        assert first.status_code == 200, first.text
        assert (first.json()["team"], first.json()["rep"]) == ("mid_market", "Ana@Example.com")
        # now Ana is away and bo is back: the next one goes to bo
        assert manager.put(
            "/api/v1/reps/ana@example.com/away", json={"away": True}, headers=h
        ).json() == {"email": "Ana@Example.com", "name": None, "team": "mid_market", "away": True}
        manager.put("/api/v1/reps/bo@example.com/away", json={"away": False}, headers=h)
        second = manager.post(
            "/api/v1/qualifications/q000026/reassign", json={"team": "mid_market"}, headers=h
        )
        assert (second.json()["team"], second.json()["rep"]) == ("mid_market", "bo@example.com")
        history = manager.get("/api/v1/qualifications/q000026").json()["history"]
        assert history[-1]["actor"] == "manager@example.com"


ALERTS = """
alerts:
  - name: crm
    on: qualified
    webhook: {{url: "{ok}/hook", secret: "${{BH_TEST_SECRET}}"}}
  - name: sales-channel
    on: qualified
    slack: {{webhook_url: "{ok}/slack"}}
  - name: broken
    on: qualified
    webhook: {{url: "{failing}/hook"}}
  - name: unset
    on: qualified
    slack: {{webhook_url: "${{BH_TEST_NOT_SET}}"}}
"""


def test_send_test_reaches_each_target(
    tmp_path: Path, receivers: tuple[Receiver, Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok, failing = receivers
    monkeypatch.setenv("BH_TEST_SECRET", "s3cret")
    monkeypatch.delenv("BH_TEST_NOT_SET", raising=False)
    _, settings = _start(tmp_path, None, ALERTS.format(ok=ok.url, failing=failing.url))
    with web_app(settings) as url, httpx.Client(base_url=url) as admin:  # type: ignore[arg-type]
        csrf = sign_in(admin, "admin@example.com")
        listed = admin.get("/api/v1/alerts").json()
        assert [(a["name"], a["targets"]) for a in listed] == [
            ("crm", ["webhook"]),
            ("sales-channel", ["slack"]),
            ("broken", ["webhook"]),
            ("unset", ["slack"]),
        ]
        for index in (0, 1):
            page = admin.post(f"/settings/alerts/{index}/test", data={"csrf_token": csrf})
            assert page.status_code == 200
            assert page.text.count("delivered (HTTP 200)") == 1
        paths = sorted(p for p, _h, _b in ok.got)
        assert paths == ["/hook", "/slack"]
        hook = next((h, b) for p, h, b in ok.got if p == "/hook")
        assert webhook.verify("s3cret", hook[1], hook[0]["X-Beachhead-Signature"])
        body = json.loads(hook[1])
        assert body["type"] == "qualified" and body["qualification"]["entity_id"] == "test-account"
        slack = json.loads(next(b for p, _h, b in ok.got if p == "/slack"))
        assert "blocks" in slack and slack["text"]
        broken = admin.post("/api/v1/alerts/2/test", headers={"X-CSRF-Token": csrf}).json()
        assert broken["results"][0]["ok"] is False
        assert broken["results"][0]["status_code"] == 500 and len(failing.got) == 1
        unset = admin.post("/api/v1/alerts/3/test", headers={"X-CSRF-Token": csrf}).json()
        assert unset["results"] == [
            {
                "target": "slack",
                "ok": False,
                "status_code": None,
                "error": (
                    "environment variable BH_TEST_NOT_SET is not set (used as ${BH_TEST_NOT_SET})"
                ),
            }
        ]
        assert (
            admin.post("/api/v1/alerts/9/test", headers={"X-CSRF-Token": csrf}).status_code == 404
        )


def test_navigation_follows_the_role(tmp_path: Path) -> None:
    _, settings = _start(tmp_path, None)
    with web_app(settings) as url:  # type: ignore[arg-type]
        with httpx.Client(base_url=url) as rep:
            sign_in(rep, "ana@example.com")
            page = rep.get("/inbox").text
            assert 'href="/inbox" aria-current="page"' in page and 'href="/settings"' not in page
        with httpx.Client(base_url=url) as manager:
            sign_in(manager, "manager@example.com")
            assert 'href="/settings"' in manager.get("/inbox").text
            assert manager.get("/inbox").headers["x-frame-options"] == "DENY"
