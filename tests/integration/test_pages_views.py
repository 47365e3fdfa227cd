"""The account, user, Journey and definitions pages over a loaded demo company (real app,
real stores, real HTTP on loopback), each checked against what the stores hold."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web_support import add_people, sign_in, web_app

from beachhead.demo_load import DemoFolder, load_demo
from beachhead.store import journey_queries as jq
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore


@dataclass
class Site:
    demo: DemoFolder
    url: str
    admin: httpx.Client
    admin_csrf: str
    rep: httpx.Client


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # the recorded state is the fixture's: no background evaluation at the wall clock
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BEACHHEAD_EVAL_INTERVAL", "0")
        yield from _site(tmp_path_factory)


def _site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("pages")
    demo = load_demo(root, events=20_000, seed=7)  # > 24 free accounts: a capped column
    state = StateStore(demo.settings.state_url)
    add_people(state)
    state.close()
    with web_app(demo.settings) as url:
        admin = httpx.Client(base_url=url, timeout=60)
        rep = httpx.Client(base_url=url, timeout=60)
        token = sign_in(admin, "admin@example.com")
        sign_in(rep, "ana@example.com")
        yield Site(demo, url, admin, token, rep)
        admin.close()
        rep.close()


def _state(site: Site) -> StateStore:
    return StateStore(site.demo.settings.state_url)


def test_pages_need_sign_in(site: Site) -> None:
    with httpx.Client(base_url=site.url) as anon:
        for path in ("/accounts", "/journey", "/definitions", "/users"):
            r = anon.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path


def test_account_view_shows_facts_chart_and_qualifications(site: Site) -> None:
    state = _state(site)
    open_by = jq.open_by_account(state)
    account_id = max(open_by, key=lambda a: sum(open_by[a].values()))
    quals = [
        q for q in QualificationStore(state).find() if account_id in (q.account_id, q.entity_id)
    ]
    quals.sort(key=lambda q: q.qualified_at, reverse=True)
    state.close()
    r = site.admin.get(f"/accounts/{account_id}")  # an admin sees every team's
    assert r.status_code == 200, r.text
    html = r.text
    assert "<svg" in html and 'role="img"' in html and "<desc" in html
    assert "last 90 days" in html
    assert f"Open qualifications ({sum(1 for q in quals if q.is_open)})" in html
    for q in quals[:3]:
        for e in q.evidence:
            assert _escaped(e["sentence"]) in html
    assert "Seats" in html and "MRR" in html and "Owner" in html
    # a rep (ana, mid_market) sees only what her inbox shows: hers or her team's
    hers = [
        q for q in quals if q.team == "mid_market" or (q.rep or "").lower() == "ana@example.com"
    ]
    rep_html = site.rep.get(f"/accounts/{account_id}").text
    assert f"Open qualifications ({sum(1 for q in hers if q.is_open)})" in rep_html
    assert f"Past qualifications ({sum(1 for q in hers if not q.is_open)})" in rep_html


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def test_account_timeline_pages(site: Site) -> None:
    r = site.rep.get("/accounts")
    first = re.search(r'href="/accounts/([^"?]+)"', r.text)
    assert first
    page1 = site.rep.get(f"/accounts/{first.group(1)}")
    m = re.search(r"(\d+) messages?, newest first", page1.text)
    assert m
    total = int(m.group(1))
    if total > 50:
        page2 = site.rep.get(f"/accounts/{first.group(1)}?page=2")
        assert "Page 2 of" in page2.text
    # past the end: the last page's rows, labelled as the last page (was "page N of N"
    # over no rows)
    pages = -(-total // 50)
    beyond = site.rep.get(f"/accounts/{first.group(1)}?page={pages + 3}")
    last = site.rep.get(f"/accounts/{first.group(1)}?page={pages}")
    assert f"of {pages}" in beyond.text and "No messages" not in beyond.text
    rows = re.compile(r"<tr>.*?</tr>", re.S)
    assert rows.findall(beyond.text) == rows.findall(last.text)


HUGE_PAGES = ["99999999999999999999", "9223372036854775807", "9223372036854775808"]
ROWS = re.compile(r"<tr>.*?</tr>", re.S)


def _first(site: Site, kind: str) -> str:
    """The id of the entity (``accounts`` or ``users``) with the most messages of the first
    page of the list (so its timeline has more than one page when the demo has one)."""
    found = re.findall(rf'href="/{kind}/([^"?]+)"', site.rep.get(f"/{kind}").text)
    assert found
    totals = {}
    for entity in found[:10]:
        page = site.rep.get(f"/{kind}/{entity}").text
        totals[entity] = int(re.search(r"(\d+) messages?, newest", page).group(1))  # type: ignore[union-attr]
    return max(totals, key=lambda e: totals[e])


@pytest.mark.parametrize("kind", ["accounts", "users"])
def test_a_huge_page_is_the_last_page(site: Site, kind: str) -> None:
    """Past 2**63 was a 500 (DuckDB's OFFSET overflowed); clamped to the last page before
    any query, on the list and on one entity's timeline, like a page just past the end."""
    entity = _first(site, kind)
    for path in (f"/{kind}", f"/{kind}/{entity}"):
        first = site.rep.get(path)
        found = re.search(r"page \d+ of (\d+)", first.text)
        last_no = int(found.group(1)) if found else 1
        last = site.rep.get(path, params={"page": last_no})
        assert last.status_code == 200
        for page in [*HUGE_PAGES, str(last_no + 1)]:
            r = site.rep.get(path, params={"page": page})
            assert r.status_code == 200, (path, page, r.text[:300])
            assert ROWS.findall(r.text) == ROWS.findall(last.text), (path, page)
            if found:
                assert f"page {last_no} of {last_no}" in r.text, (path, page)
        low = site.rep.get(path, params={"page": "-99999999999999999999"})
        assert ROWS.findall(low.text) == ROWS.findall(first.text), path


@pytest.mark.parametrize(("kind", "word"), [("accounts", "account"), ("users", "user")])
def test_counts_are_singular_for_one(site: Site, kind: str, word: str) -> None:
    """ "1 account matching", not "1 accounts" (the count and the rows agree)."""
    said: list[str] = []
    for entity in re.findall(rf'href="/{kind}/([^"?]+)"', site.rep.get(f"/{kind}").text):
        r = site.rep.get(f"/{kind}", params={"q": entity})
        n = len(re.findall(rf'href="/{kind}/[^"?]+"', r.text.split("<tbody>", 1)[1]))
        found = re.search(rf"(\d+) {word}s? matching", r.text)
        assert found and int(found.group(1)) == n, r.text[:500]
        said.append(found.group(0))
        if n == 1:
            break
    assert said[-1] == f"1 {word} matching", said
    none = site.rep.get(f"/{kind}", params={"q": "no such thing at all"})
    assert f"0 {word}s matching" in none.text


def test_unknown_account_is_404(site: Site) -> None:
    assert site.rep.get("/accounts/no-such-account").status_code == 404
    assert site.rep.get("/users/no-such-user").status_code == 404


def test_user_view(site: Site) -> None:
    r = site.rep.get("/users")
    first = re.search(r'href="/users/([^"?]+)"', r.text)
    assert first
    page = site.rep.get(f"/users/{first.group(1)}")
    assert page.status_code == 200
    assert "Primary account" in page.text and "<svg" in page.text


def test_journey_counts_match_recorded_stages(site: Site) -> None:
    state = _state(site)
    stages = jq.current_stages(state)
    state.close()
    r = site.rep.get("/journey")
    assert r.status_code == 200
    moves = site.rep.get("/journey", params={"days": 90}).text
    assert 'class="moves"' in moves  # the demo's accounts moved: a table of moves
    table = moves.split('class="moves"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="col" class="num">Moves</th>' in table and ">Accounts<" not in table
    for key in {s or "unstaged" for s, _ in stages.values()}:
        n = sum(1 for s, _ in stages.values() if (s or "unstaged") == key)
        label = f"{n} account{'' if n == 1 else 's'}"
        assert re.search(rf'id="col-{key}">.*?aria-label="{label}"', r.text, re.S), key


def test_journey_caps_cards_and_expands(site: Site) -> None:
    r = site.rep.get("/journey")
    more = re.search(r'href="(/journey\?[^"]*expand=([a-z_]+))[^"]*">Show (\d+) more', r.text)
    assert more, "the demo has a column over the cap"
    col = more.group(2)
    full = site.rep.get(more.group(1).replace("&amp;", "&"))
    section = full.text.split(f'id="col-{col}"', 1)[1].split("</section>", 1)[0]
    n = int(re.search(r'aria-label="(\d+) accounts?"', section).group(1))  # type: ignore[union-attr]
    assert section.count('class="board-card"') == n


def test_journey_owner_filter(site: Site) -> None:
    r = site.rep.get("/journey")
    owners = re.findall(r'<option value="([^"]+@[^"]+)"', r.text)
    assert owners
    filtered = site.rep.get("/journey", params={"owner": owners[0]})
    total = int(re.search(r"(\d+) accounts? as of", filtered.text).group(1))  # type: ignore[union-attr]
    everyone = int(re.search(r"(\d+) accounts as of", r.text).group(1))  # type: ignore[union-attr]
    assert 0 < total < everyone


def test_definitions_counts_and_inline_errors(site: Site) -> None:
    r = site.admin.get("/definitions")
    assert r.status_code == 200
    assert "Matching now" in r.text and "free_to_paid" in r.text
    text = Path(site.demo.settings.config).read_text()
    bad = text.replace("gte: 500}", "gtx: 500}", 1)
    line = bad[: bad.index("gtx: 500")].count("\n") + 1
    r = site.admin.post(
        "/definitions",
        data={"text": bad, "action": "save", "csrf_token": site.admin_csrf, "base": ""},
    )
    assert r.status_code == 422
    assert re.search(rf'id="line-{line}"[^>]*class="has-error"', r.text)
    assert "unknown operator &#39;gtx&#39;" in r.text
    assert f":{line}:" in r.text
    assert Path(site.demo.settings.config).read_text() == text  # nothing saved


def test_definitions_preview_and_save(site: Site) -> None:
    path = Path(site.demo.settings.config)
    text = path.read_text()
    edited = text.replace("count: {gte: 5}}\n    touch", "count: {gte: 1}}\n    touch", 1)
    assert edited != text
    r = site.admin.post(
        "/definitions", data={"text": edited, "action": "preview", "csrf_token": site.admin_csrf}
    )
    assert r.status_code == 200, r.text
    assert "Preview: what the edit would change" in r.text
    row = re.search(
        r"<code>free_to_paid</code>.*?<td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>",
        r.text,
        re.S,
    )
    assert row and int(row.group(2)) >= int(row.group(1))
    assert path.read_text() == text  # a preview writes nothing
    # a rep cannot save; without the token nobody can
    assert site.rep.post("/definitions", data={"text": edited, "action": "save"}).status_code == 403
    r = site.admin.post("/definitions", data={"text": edited, "action": "save"})
    assert r.status_code == 403
    # a save needs the text and the base the form started from (was: no text emptied the
    # file, no base skipped the check that nobody changed it meanwhile)
    for data in ({"action": "save"}, {"text": edited, "action": "save"}):
        r = site.admin.post("/definitions", data={**data, "csrf_token": site.admin_csrf})
        assert r.status_code == 422 and "The form sent no" in r.text
        assert path.read_text() == text
    r = site.admin.post(
        "/definitions",
        data={
            "text": edited,
            "action": "save",
            "csrf_token": site.admin_csrf,
            "base": hashlib.sha256(text.encode()).hexdigest(),
        },
    )
    assert r.status_code == 303
    assert path.read_text() == edited
    assert path.with_name("beachhead.yml.bak").read_text() == text
    path.write_text(text)  # put it back for the other tests


def test_favicon_is_served_and_linked(site: Site) -> None:
    with httpx.Client(base_url=site.url) as anon:  # browsers ask before signing in (was 404)
        icon = anon.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert icon.content.startswith(b"<svg")
        linked = re.search(r'<link rel="icon" href="([^"]+)"', anon.get("/signin").text)
        assert linked and linked.group(1).startswith("/static/favicon.svg?v=")
        static = anon.get(linked.group(1))
        assert static.status_code == 200 and static.content == icon.content
