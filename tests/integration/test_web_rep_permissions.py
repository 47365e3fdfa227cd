"""Who may act on which qualification, what the pages show of them, reassigning to where
a qualification already is, and the definitions preview's "would stop matching".

Real app in uvicorn, real SQLite state (and DuckDB events for the pages that read them).
People: admin and manager (not reps of the definitions), eve (a manager who is also a rep
of enterprise in beachhead.yml), ana (rep role, a rep of mid_market), sam (rep role, a
rep of self_serve) and newbie (rep role, team mid_market in the app, but no rep of the
definitions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from web_support import PASSWORD, add_people, fake_qualification, make_settings, sign_in, web_app

from beachhead.config import Settings
from beachhead.ingest.message import Message
from beachhead.qualify.lifecycle import Qualification
from beachhead.store.app_users import AppUserStore
from beachhead.store.events import open_event_store
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore

PEOPLE = [
    ("admin@example.com", "admin", None),
    ("manager@example.com", "manager", None),
    ("eve@example.com", "manager", "enterprise"),
    ("ana@example.com", "rep", "mid_market"),
    ("sam@example.com", "rep", "self_serve"),
    ("newbie@example.com", "rep", "mid_market"),
]
WHO = {email.split("@")[0]: email for email, _role, _team in PEOPLE}

# kind -> (team, rep, status, touch); low touch in a queue is not "waiting", so no action
# here drains a queue into another case's row
KINDS: dict[str, tuple[str, str | None, str, str]] = {
    "mid_queue": ("mid_market", None, "assigned", "low"),
    "mid_ana": ("mid_market", "Ana@Example.com", "assigned", "high"),
    "mid_bo": ("mid_market", "bo@example.com", "assigned", "high"),
    "ent_eve": ("enterprise", "eve@example.com", "assigned", "high"),
    "ss_sam": ("self_serve", "sam@example.com", "assigned", "high"),
}

# (who, action, kind of row, API status); every case gets a fresh row of its kind
ACTIONS: list[tuple[str, str, str, int]] = [
    # a rep of the definitions with the rep role: queue work and their own
    ("ana", "claim", "mid_queue", 200),
    ("ana", "working", "mid_queue", 200),
    ("ana", "won", "mid_queue", 200),  # what claiming would give her anyway
    ("ana", "disqualify", "mid_queue", 200),
    ("ana", "working", "mid_ana", 200),
    ("ana", "won", "mid_ana", 200),
    ("ana", "disqualify", "mid_ana", 200),
    # ... never a teammate's
    ("ana", "claim", "mid_bo", 409),  # the lifecycle's answer: already assigned
    ("ana", "working", "mid_bo", 403),
    ("ana", "won", "mid_bo", 403),
    ("ana", "disqualify", "mid_bo", 403),
    ("ana", "reassign", "mid_bo", 403),
    ("ana", "won", "ent_eve", 404),  # another team's: not even seen
    ("sam", "claim", "mid_queue", 404),
    # the rep role without being a rep of the definitions
    ("newbie", "claim", "mid_queue", 403),
    ("newbie", "working", "mid_queue", 403),
    ("newbie", "won", "mid_queue", 403),
    ("newbie", "disqualify", "mid_queue", 403),
    ("newbie", "won", "mid_ana", 403),
    # managers and admins who are not reps: close and reassign anything, take nothing
    ("manager", "claim", "mid_queue", 403),
    ("manager", "working", "mid_queue", 403),
    ("manager", "working", "mid_ana", 403),
    ("manager", "won", "mid_bo", 200),
    ("manager", "disqualify", "mid_bo", 200),
    ("manager", "reassign", "mid_bo", 200),
    ("admin", "claim", "mid_queue", 403),
    ("admin", "working", "ent_eve", 403),
    ("admin", "won", "ent_eve", 200),
    ("admin", "disqualify", "mid_ana", 200),
    # a manager who is a rep of the definitions may take work too
    ("eve", "claim", "mid_queue", 200),
    ("eve", "working", "ent_eve", 200),
    ("eve", "working", "mid_bo", 409),  # bo's: reassign it first
    ("eve", "won", "mid_bo", 200),
]
FORM_STATUS = {200: 303, 403: 403, 404: 404, 409: 409}
BODY = {"disqualify": {"reason": "no budget"}, "reassign": {"rep": "ana@example.com"}}


def _row(i: int, kind: str) -> Qualification:
    team, rep, status, touch = KINDS[kind]
    base = fake_qualification(i)
    return replace(
        base,
        id=f"p{i:04d}_{kind}",
        status=status,
        touch=touch,
        team=team,
        rep=rep,
        closed_at=None,
        evidence=[{"path": "x", "held": True, "sentence": f"Signal of p{i:04d}_{kind}"}],
    )


@dataclass
class Site:
    url: str
    rows: dict[str, list[str]]  # kind -> ids, each for one use


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("BEACHHEAD_EVAL_INTERVAL", "0")  # the seeded state stays as seeded
    settings = make_settings(tmp_path, None)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    users = AppUserStore(state)
    for email, role, team in PEOPLE:
        users.create(email, PASSWORD, role, team)
    quals: list[Qualification] = []
    rows: dict[str, list[str]] = {}
    for n, kind in enumerate([k for _ in range(len(ACTIONS) + 10) for k in KINDS if k != "ss_sam"]):
        q = _row(n, kind)
        quals.append(q)
        rows.setdefault(kind, []).append(q.id)
    quals.append(_row(9999, "ss_sam"))  # sam's only open work (routing gives it back to him)
    rows["ss_sam"] = [quals[-1].id]
    with state.session() as s, s.begin():
        QualificationStore(state).save_qualifications(s, [], new=quals)
    state.close()
    with web_app(settings) as url:
        yield Site(url, rows)


def _clients(url: str) -> tuple[dict[str, httpx.Client], dict[str, str]]:
    clients = {who: httpx.Client(base_url=url) for who in WHO}
    return clients, {who: sign_in(c, WHO[who]) for who, c in clients.items()}


def _api(site: Site, client: httpx.Client, qid: str) -> dict[str, object]:
    body: dict[str, object] = client.get(f"/api/v1/qualifications/{qid}").json()
    return body


def test_each_role_may_do_what_the_table_says_through_api_and_form(site: Site) -> None:
    pools = {k: iter(v) for k, v in site.rows.items()}
    clients, tokens = _clients(site.url)
    admin = clients["admin"]
    wrong: list[str] = []
    try:
        for who, action, kind, expected in ACTIONS:
            for via in ("api", "form"):
                qid = next(pools[kind])
                before = _api(site, admin, qid)["qualification"]
                c, token = clients[who], tokens[who]
                if via == "api":
                    r = c.post(
                        f"/api/v1/qualifications/{qid}/{action}",
                        json=BODY.get(action, {}),
                        headers={"X-CSRF-Token": token},
                    )
                    want = expected
                else:
                    data = {**BODY.get(action, {}), "csrf_token": token}
                    r = c.post(f"/inbox/q/{qid}/{action}", data=data)
                    want = FORM_STATUS[expected]
                label = f"{who} {action} {kind} via {via}"
                if r.status_code != want:
                    wrong.append(f"{label}: {r.status_code} {r.text[:200]}")
                    continue
                after = _api(site, admin, qid)["qualification"]
                if expected == 200:
                    if after == before:
                        wrong.append(f"{label}: nothing changed")
                    rep = str(after["rep"]).lower()  # type: ignore[index]
                    if action in ("claim", "working") and rep != WHO[who]:
                        wrong.append(f"{label}: assigned to {rep}")
                elif after != before:
                    wrong.append(f"{label}: refused but changed {before} -> {after}")
                if expected == 403 and via == "api":
                    detail = r.json()["detail"]
                    if not detail or "\n" in detail:
                        wrong.append(f"{label}: not a one-line reason: {detail!r}")
    finally:
        for c in clients.values():
            c.close()
    assert wrong == [], "\n".join(wrong)


# (who, kind) -> the actions whose forms the detail page shows
BUTTONS: list[tuple[str, str, set[str]]] = [
    ("ana", "mid_queue", {"claim", "working", "won", "disqualify"}),
    ("ana", "mid_ana", {"working", "won", "disqualify"}),
    ("ana", "mid_bo", set()),
    ("newbie", "mid_queue", set()),
    ("manager", "mid_queue", {"won", "disqualify", "reassign"}),
    ("manager", "mid_bo", {"won", "disqualify", "reassign"}),
    ("admin", "ent_eve", {"won", "disqualify", "reassign"}),
    ("eve", "mid_queue", {"claim", "working", "won", "disqualify", "reassign"}),
    ("eve", "mid_bo", {"won", "disqualify", "reassign"}),
    ("eve", "ent_eve", {"working", "won", "disqualify", "reassign"}),
]


def _forms(html: str, qid: str) -> set[str]:
    return set(re.findall(rf'action="/inbox/q/{re.escape(qid)}/([a-z]+)"', html))


def test_pages_show_only_the_buttons_a_user_may_use(site: Site) -> None:
    clients, _tokens = _clients(site.url)
    try:
        got = {
            (who, kind): _forms(
                clients[who].get(f"/inbox/q/{site.rows[kind][0]}").text, site.rows[kind][0]
            )
            for who, kind, _want in BUTTONS
        }
        assert got == {(who, kind): want for who, kind, want in BUTTONS}
        # the inbox list too: ana sees bo's row in her team's queue, with no action on it
        page = clients["ana"].get("/inbox", params={"scope": "team"}).text
        listed = set(re.findall(r'href="/inbox/q/(p\d+_[a-z_]+)\?', page))
        bo_rows = [q for q in listed if q.endswith("_mid_bo")]
        queue_rows = [q for q in listed if q.endswith("_mid_queue")]
        assert bo_rows and queue_rows
        assert all(_forms(page, q) == set() for q in bo_rows)
        assert all(_forms(page, q) == {"claim", "working", "won", "disqualify"} for q in queue_rows)
        newbie = clients["newbie"].get("/inbox", params={"scope": "team"}).text
        assert re.search(r'href="/inbox/q/p\d+_mid_queue\?', newbie)
        assert 'action="/inbox/q/' not in newbie
    finally:
        for c in clients.values():
            c.close()


# (kind, reassign body, API status, words of the answer)
REASSIGNS: list[tuple[str, dict[str, str], int, str]] = [
    ("mid_queue", {"team": "mid_market"}, 409, "already in mid_market's queue"),
    ("ss_sam", {"team": "self_serve"}, 409, "already assigned to sam@example.com in self_serve"),
    ("mid_ana", {"rep": "ana@example.com"}, 409, "already assigned to Ana@Example.com"),
    ("mid_queue", {"team": "enterprise"}, 200, ""),
    ("mid_ana", {"team": "self_serve"}, 200, ""),
]


@pytest.mark.parametrize(("kind", "body", "status", "words"), REASSIGNS)
def test_a_reassign_that_changes_nothing_is_refused_without_history(
    site: Site, kind: str, body: dict[str, str], status: int, words: str
) -> None:
    qid = site.rows[kind][0]
    with httpx.Client(base_url=site.url) as boss:
        token = sign_in(boss, "manager@example.com")
        before = _api(site, boss, qid)
        r = boss.post(
            f"/api/v1/qualifications/{qid}/reassign", json=body, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == status, r.text
        after = _api(site, boss, qid)
        if status == 409:
            assert words in r.json()["detail"]
            assert after == before  # no history row, nothing moved
            form = boss.post(f"/inbox/q/{qid}/reassign", data={**body, "csrf_token": token})
            assert form.status_code == 409 and words in form.text.replace("&#39;", "'")
            assert _api(site, boss, qid) == before
            return
        history = after["history"]
        assert len(history) == len(before["history"]) + 1  # type: ignore[arg-type]
        last = history[-1]  # type: ignore[index]
        target = body.get("team") or body.get("rep")
        assert last["reason"] == f"reassigned to {target} by manager@example.com"
        assert "reassigned" not in last["rule"]  # said once, in the reason
        page = boss.get(f"/inbox/q/{qid}").text
        assert page.count(f"reassigned to {target}") == 1


# ------------------------------------------------------------------ pages over real events

NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT = "acct_vis"


def _messages() -> list[Message]:
    def msg(i: int, kind: str, hours: int, **kw: object) -> Message:
        ts = NOW - timedelta(days=2) + timedelta(hours=hours)
        return Message(message_id=f"m{i}", type=kind, ts=ts, received_at=ts, **kw)  # type: ignore[arg-type]

    group = {"name": "Vis Co", "plan": "free", "employees": 20}
    return [
        *(
            msg(i, "group", i, user_id=u, group_id=ACCOUNT, traits=group)
            for i, u in enumerate(["u1", "u2", "u3"], 1)
        ),
        msg(4, "track", 5, event="Upgrade Clicked", user_id="u1", context_group_id=ACCOUNT),
        msg(5, "track", 6, event="Upgrade Clicked", user_id="u2", context_group_id=ACCOUNT),
        msg(6, "track", 7, event="Logged In", user_id="u3", context_group_id=ACCOUNT),
    ]


def _q(
    qid: str, pql: str, entity: str, team: str | None, rep: str | None, closed: bool = False
) -> Qualification:
    at = NOW - timedelta(days=1)
    return Qualification(
        id=qid,
        pql=pql,
        level="user" if entity.startswith("u") else "account",
        entity_id=entity,
        account_id=ACCOUNT,
        priority=10,
        status="converted" if closed else ("assigned" if team else "new"),
        qualified_at=at,
        touch="high" if rep else "low",
        evidence=[{"path": "x", "held": True, "sentence": f"Signal of {qid}"}],
        team=team,
        rep=rep,
        closed_at=at + timedelta(hours=1) if closed else None,
        updated_at=at,
    )


SEEDED = [
    _q("qv_mid", "free_to_paid", "u1", "mid_market", None),  # u1 matches now
    _q("qv_ent", "free_to_paid", "u3", "enterprise", "eve@example.com"),  # u3 does not
    _q("qv_ss", "seat_expansion", ACCOUNT, "self_serve", "sam@example.com"),
    _q("qv_past", "enterprise_conversion", ACCOUNT, "enterprise", "eve@example.com", True),
    _q("qv_ghost", "free_to_paid", "u_ghost", None, None),  # no such entity now
]


@dataclass
class EventSite:
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def event_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventSite]:
    tmp = tmp_path_factory.mktemp("perm_pages")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEACHHEAD_EVAL_INTERVAL", "0")  # nothing recorded beyond the seed
        settings = make_settings(tmp, None)
        (tmp / "data").mkdir()
        events = open_event_store(settings)
        events.append(_messages(), [{} for _ in _messages()], "test")
        events.close()
        state = StateStore(settings.state_url)
        add_people(state)
        with state.session() as s, s.begin():
            QualificationStore(state).save_qualifications(s, [], new=SEEDED)
        state.close()
        with web_app(settings) as url:
            yield EventSite(url, settings)


# (who, page) -> the seeded qualifications the page lists (open and past)
ENTITY_PAGES: list[tuple[str, str, set[str]]] = [
    ("admin", f"/accounts/{ACCOUNT}", {"qv_mid", "qv_ent", "qv_ss", "qv_past"}),
    ("manager", f"/accounts/{ACCOUNT}", {"qv_mid", "qv_ent", "qv_ss", "qv_past"}),
    ("ana", f"/accounts/{ACCOUNT}", {"qv_mid"}),
    ("sam", f"/accounts/{ACCOUNT}", {"qv_ss"}),
    ("eve", f"/accounts/{ACCOUNT}", {"qv_ent", "qv_past"}),
    ("loner", f"/accounts/{ACCOUNT}", set()),
    ("admin", "/users/u3", {"qv_ent"}),
    ("ana", "/users/u3", set()),
    ("eve", "/users/u3", {"qv_ent"}),
    ("ana", "/users/u1", {"qv_mid"}),
    ("sam", "/users/u1", set()),
]


def test_account_and_user_pages_list_what_the_inbox_lets_the_viewer_see(
    event_site: EventSite,
) -> None:
    who = {"admin", "manager", "ana", "sam", "eve", "loner"}
    clients = {w: httpx.Client(base_url=event_site.url, timeout=60) for w in who}
    try:
        for w, c in clients.items():
            sign_in(c, f"{w}@example.com")
        got = {}
        for w, path, _want in ENTITY_PAGES:
            r = clients[w].get(path)
            assert r.status_code == 200, (w, path, r.text[:300])
            got[(w, path)] = set(re.findall(r"Signal of (qv_[a-z]+)", r.text))
            n_open = len(got[(w, path)] - {"qv_past"})
            assert f"Open qualifications ({n_open})" in r.text, (w, path)
        assert got == {(w, path): want for w, path, want in ENTITY_PAGES}
    finally:
        for c in clients.values():
            c.close()


UPGRADE = "- {event: Upgrade Clicked, within: 14d}"
# (edit of the definitions, free_to_paid: match now, would match, no longer, stop matching)
PREVIEWS: list[tuple[str, tuple[int, int, int, int]]] = [
    ("", (2, 2, 0, 0)),  # no change: the open ones of u3 and u_ghost do not match today
    ("count: {gte: 99}", (2, 0, 2, 1)),  # u1 and u2 stop matching; u1 has an open one
]


@pytest.mark.parametrize(("edit", "counts"), PREVIEWS)
def test_preview_counts_only_what_matches_now_as_stopping(
    event_site: EventSite, edit: str, counts: tuple[int, int, int, int]
) -> None:
    text = Path(event_site.settings.config).read_text()
    assert UPGRADE in text
    if edit:
        text = text.replace(UPGRADE, UPGRADE[:-1] + f", {edit}}}", 1)
    with httpx.Client(base_url=event_site.url, timeout=60) as admin:
        token = sign_in(admin, "admin@example.com")
        r = admin.post(
            "/definitions", data={"text": text, "action": "preview", "csrf_token": token}
        )
    assert r.status_code == 200, r.text[:500]
    row = re.search(r"<tr><td><code>free_to_paid</code>.*?</tr>", r.text, re.S)
    assert row, r.text
    nums = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(0))]
    now, edited, _create, no_longer = nums
    stop = re.search(r"(\d+) open qualification\(s\) would stop matching", row.group(0))
    assert (now, edited, no_longer, int(stop.group(1)) if stop else 0) == counts
