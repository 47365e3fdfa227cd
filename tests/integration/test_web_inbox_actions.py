"""Rep actions and saved views through the HTML forms, as a browser without JavaScript
would use them: claim, working, won, disqualify (reason required), reassign; views saved
personal or shared with the team and opened by id."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from web_support import add_people, make_settings, seed, sign_in, web_app

from beachhead.store.state import StateStore

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "alerts"))

from alerts_support import Receiver, running


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(tmp_path, None)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    seed(state, 120)
    state.close()
    with web_app(settings) as base:
        yield base


def _q(client: httpx.Client, qid: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/api/v1/qualifications/{qid}").json()
    return body


def test_a_rep_works_a_lead_from_the_queue_to_won(url: str) -> None:
    with httpx.Client(base_url=url) as ana:
        csrf = sign_in(ana, "ana@example.com")
        queue = ana.get("/inbox?scope=team&status=new")
        assert queue.status_code == 200
        qid = re.findall(r'href="/inbox/q/(q\d+)\?', queue.text)[0]
        assert f'action="/inbox/q/{qid}/claim"' in queue.text
        back = "/inbox?scope=team&status=new"
        r = ana.post(f"/inbox/q/{qid}/claim", data={"csrf_token": csrf, "back": back})
        assert r.status_code == 303 and r.headers["location"] == back + "&ok=claim"
        assert "Claimed." in ana.get(r.headers["location"]).text
        r = ana.post(f"/inbox/q/{qid}/working", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/inbox/q/{qid}?ok=working"
        r = ana.post(f"/inbox/q/{qid}/won", data={"csrf_token": csrf})
        detail = ana.get(r.headers["location"])
        assert "Marked won." in detail.text and "converted" in detail.text
        history = _q(ana, qid)["history"]
        assert [(h["status_to"], h["actor"]) for h in history] == [  # type: ignore[attr-defined]
            ("assigned", "Ana@Example.com"),
            ("working", "Ana@Example.com"),
            ("converted", "Ana@Example.com"),
        ]
        again = ana.post(f"/inbox/q/{qid}/won", data={"csrf_token": csrf})
        assert again.status_code == 409 and "already converted" in again.text


def test_disqualify_needs_a_reason_and_reassign_a_manager(url: str) -> None:
    with httpx.Client(base_url=url) as ana, httpx.Client(base_url=url) as boss:
        csrf = sign_in(ana, "ana@example.com")
        boss_csrf = sign_in(boss, "manager@example.com")
        mine = ana.get("/api/v1/qualifications", params={"scope": "mine"}).json()
        qid = mine["qualifications"][0]["id"]
        empty = ana.post(f"/inbox/q/{qid}/disqualify", data={"csrf_token": csrf, "reason": " "})
        assert empty.status_code == 409 and "needs a reason" in empty.text
        assert 'role="status"' in empty.text  # the reason is shown on the page
        nope = ana.post(f"/inbox/q/{qid}/reassign", data={"csrf_token": csrf, "team": "enterprise"})
        assert nope.status_code == 403
        moved = boss.post(
            f"/inbox/q/{qid}/reassign", data={"csrf_token": boss_csrf, "rep": "bo@example.com"}
        )
        assert moved.status_code == 303
        assert _q(boss, qid)["qualification"]["rep"] == "bo@example.com"  # type: ignore[index]
        assert ana.get(f"/inbox/q/{qid}").status_code == 200  # still her team's
        other = mine["qualifications"][1]["id"]
        r = ana.post(f"/inbox/q/{other}/disqualify", data={"csrf_token": csrf, "reason": "student"})
        assert r.status_code == 303
        q = _q(ana, other)
        assert q["qualification"]["status"] == "disqualified"  # type: ignore[index]
        assert q["history"][-1]["reason"] == "student"  # type: ignore[index]


def test_saved_views_personal_and_shared(url: str) -> None:
    with (
        httpx.Client(base_url=url) as ana,
        httpx.Client(base_url=url) as bo,
        httpx.Client(base_url=url) as sam,
    ):
        a, b = sign_in(ana, "ana@example.com"), sign_in(bo, "bo@example.com")
        sign_in(sam, "sam@example.com")
        r = ana.post(
            "/inbox/views",
            data={
                "csrf_token": a,
                "name": "hot team",
                "query": "scope=team&touch=low",
                "shared": "1",
            },
        )
        assert r.status_code == 303 and "touch=low" in r.headers["location"]
        ana.post("/inbox/views", data={"csrf_token": a, "name": "mine", "query": "scope=mine"})
        views = {v["name"]: v for v in ana.get("/api/v1/views").json()}
        assert views["hot team"]["team"] == "mid_market" and views["mine"]["team"] is None
        assert views["hot team"]["params"] == {"scope": "team", "touch": "low"}
        shared_id = views["hot team"]["id"]
        assert [v["name"] for v in bo.get("/api/v1/views").json()] == ["hot team"]
        assert sam.get("/api/v1/views").json() == []
        assert sam.get(f"/inbox?view={shared_id}").status_code == 404
        page = bo.get(f"/inbox?view={shared_id}")
        expected = bo.get("/api/v1/qualifications", params={"scope": "team", "touch": "low"})
        ids = [q["id"] for q in expected.json()["qualifications"]]
        assert re.findall(r'href="/inbox/q/(q\d+)\?', page.text) == ids and ids
        assert "hot team" in page.text and "by ana@example.com" in page.text
        bad = bo.post(f"/inbox/views/{shared_id}/delete", data={"csrf_token": b})
        assert bad.status_code == 404  # only the owner deletes
        gone = ana.post(f"/inbox/views/{shared_id}/delete", data={"csrf_token": a})
        assert gone.status_code == 303 and bo.get("/api/v1/views").json() == []
        loner = ana.post("/inbox/views", data={"csrf_token": a, "name": "x", "query": "sort=score"})
        assert loner.status_code == 422


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


def test_a_reassignment_is_announced_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    """A rep action's alert goes out when the action is done (``deliver_soon``), not at
    the deliverer's next poll (30 s here)."""
    monkeypatch.setenv("BEACHHEAD_ALERT_POLL", "30s")
    hook = f'\nalerts:\n  - on: assigned\n    webhook: {{url: "{receiver.url}/hook"}}\n'
    settings = make_settings(tmp_path, None, hook)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    seed(state, 20)
    state.close()
    with web_app(settings) as base, httpx.Client(base_url=base) as boss:
        csrf = sign_in(boss, "manager@example.com")
        time.sleep(1)  # the deliverer's first poll (at start) is long done
        mine = boss.get("/api/v1/qualifications", params={"team": "mid_market"}).json()
        qid = mine["qualifications"][0]["id"]
        moved = boss.post(
            f"/inbox/q/{qid}/reassign", data={"csrf_token": csrf, "rep": "bo@example.com"}
        )
        assert moved.status_code == 303
        deadline = time.monotonic() + 15
        while not receiver.ok_requests() and time.monotonic() < deadline:
            time.sleep(0.05)
        [sent] = receiver.ok_requests()
        body = sent.json()
        assert body["type"] == "assigned"
        assert body["qualification"]["id"] == qid
