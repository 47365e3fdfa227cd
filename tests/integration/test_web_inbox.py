"""The inbox on thousands of rows: every filter, both sorts, keyset pages that add up.

The expected rows are computed here from the seeded qualifications themselves (the same
deterministic spread the store holds), then compared with what the API pages through and
what the HTML pages show. SQLite and PostgreSQL state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from web_support import STAGES, add_people, make_settings, seed, sign_in, web_app

from beachhead.qualify.lifecycle import Qualification
from beachhead.rules.load import load_config
from beachhead.store.inbox import COUNT_CAP
from beachhead.store.state import StateStore

N = 3000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[Qualification], Path]]:
    tmp = tmp_path_factory.mktemp(request.param)
    url_db: str | None = None
    databases = ExitStack()
    if request.param == "postgres":
        from pgdb import PG_AVAILABLE, scratch_database

        if not PG_AVAILABLE:
            pytest.skip("PostgreSQL on 127.0.0.1:5432 is not available")
        url_db = databases.enter_context(scratch_database())

    settings = make_settings(tmp, url_db)
    (tmp / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    quals = seed(state, N)
    state.close()
    try:
        with web_app(settings) as url:
            yield url, quals, settings.config
    finally:
        databases.close()


def _stage(q: Qualification) -> str | None:
    return STAGES[int((q.account_id or "acct_0")[5:]) % 5] if q.account_id else None


def _key(sort: str) -> Callable[[Qualification], tuple[object, ...]]:
    if sort == "priority":
        return lambda q: (q.priority, q.qualified_at, q.id)
    return lambda q: (q.qualified_at, q.id)


def expected(quals: list[Qualification], config_path: Path, params: dict[str, str]) -> list[str]:
    """What the inbox must list for a manager with ``params``, in order."""
    config = load_config(config_path)
    out = list(quals)
    status = params.get("status", "open")
    if status == "open":
        out = [q for q in out if q.closed_at is None]
    elif status != "all":
        out = [q for q in out if q.status == status]
    if "pql" in params:
        out = [q for q in out if q.pql == params["pql"]]
    if "motion" in params:
        keys = {p.key for p in config.pqls if p.motion.value == params["motion"]}
        out = [q for q in out if q.pql in keys]
    for field in ("touch", "team"):
        if field in params:
            out = [q for q in out if getattr(q, field) == params[field]]
    if "stage" in params:
        out = [q for q in out if _stage(q) == params["stage"]]
    if params.get("scope") == "mine":
        out = [q for q in out if (q.rep or "").lower() == params["_me"]]
    sort = params.get("sort", "priority")
    return [q.id for q in sorted(out, key=_key(sort), reverse=True)]


CASES: list[dict[str, str]] = [
    {},
    {"sort": "recency"},
    {"status": "all"},
    {"status": "converted", "sort": "recency"},
    {"status": "new"},
    {"pql": "seat_expansion"},
    {"motion": "enterprise_conversion", "touch": "high"},
    {"motion": "free_to_paid", "pql": "seat_expansion"},  # no PQL is both: empty
    {"touch": "none", "sort": "recency"},
    {"team": "mid_market", "stage": "pqa"},
    {"stage": "enterprise", "status": "all", "sort": "recency"},
    {"team": "enterprise", "touch": "low", "pql": "enterprise_expansion"},
]


def _page_through(client: httpx.Client, params: dict[str, str], limit: int) -> list[str]:
    ids: list[str] = []
    after = ""
    total = None
    exact = True
    while True:
        r = client.get("/api/v1/qualifications", params={**params, "after": after, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        total = body["total"] if total is None else total
        exact = body["total_exact"]
        assert body["total"] == total  # the same count on every page
        ids += [q["id"] for q in body["qualifications"]]
        assert all(q["evidence"] and q["evidence"][0]["sentence"] for q in body["qualifications"])
        if body["next_cursor"] is None:
            break
        after = body["next_cursor"]
    if exact:
        assert total == len(ids)
    else:  # counting stops at the cap
        assert total == COUNT_CAP < len(ids)
    return ids


@pytest.mark.parametrize("params", CASES, ids=[str(c) or "default" for c in CASES])
def test_filters_sorts_and_pages(
    served: tuple[str, list[Qualification], Path], params: dict[str, str]
) -> None:
    url, quals, config = served
    want = expected(quals, config, params)
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        got = _page_through(client, params, limit=173)
    assert got == want
    assert len(set(got)) == len(got)


def test_each_row_lists_the_entitys_other_open_qualifications(tmp_path: Path) -> None:
    """definitions.md: the inbox lists an entity's others beside its row (open ones,
    highest priority first, ties by PQL key); a rep sees only those they may see."""
    from dataclasses import replace

    from web_support import fake_qualification

    from beachhead.store.qualifications import QualificationStore

    # three account PQLs on one entity (acct_x), one of them on another team
    base = [fake_qualification(i) for i in (1, 2, 3, 5, 6, 7, 9)]
    quals = [
        replace(q, entity_id="acct_x", account_id="acct_x") if q.level == "account" and i < 3 else q
        for i, q in enumerate(base)
    ]
    quals[0] = replace(quals[0], priority=20, team="mid_market", rep="bo@example.com")
    quals[1] = replace(quals[1], priority=20, team="enterprise", rep="eve@example.com")
    quals[2] = replace(quals[2], priority=60, team="mid_market", rep="Ana@Example.com")
    settings = make_settings(tmp_path, None)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    with state.session() as s, s.begin():
        QualificationStore(state).save_qualifications(s, [], new=quals)
    state.close()
    by_id = {q.id: q for q in quals}
    x = sorted((q for q in quals if q.entity_id == "acct_x"), key=lambda q: (-q.priority, q.pql))
    assert len(x) == 3 and all(q.closed_at is None for q in x)
    with web_app(settings) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        rows = client.get("/api/v1/qualifications", params={"limit": 50}).json()["qualifications"]
        got = {r["id"]: [o["id"] for o in r["others"]] for r in rows}
        for q in x:
            assert got[q.id] == [o.id for o in x if o.id != q.id]
        assert all(not v for k, v in got.items() if by_id[k].entity_id != "acct_x")
        page = client.get("/inbox").text
        assert "also: " in page
    with web_app(settings) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "ana@example.com")  # mid_market: not eve's enterprise one
        rows = client.get("/api/v1/qualifications", params={"scope": "team"}).json()
        mine = {r["id"]: [o["id"] for o in r["others"]] for r in rows["qualifications"]}
        assert mine[quals[2].id] == [quals[0].id]


def test_a_reps_scopes(served: tuple[str, list[Qualification], Path]) -> None:
    url, quals, config = served
    with httpx.Client(base_url=url) as client:
        sign_in(client, "ana@example.com")
        mine = _page_through(client, {"scope": "mine"}, limit=500)
        team = _page_through(client, {"scope": "team", "sort": "recency"}, limit=500)
        default = _page_through(client, {}, limit=500)
    assert mine == expected(quals, config, {"scope": "mine", "_me": "ana@example.com"})
    assert mine == default  # a rep starts on their own qualifications
    assert mine  # Ana@Example.com in beachhead.yml is ana@example.com signed in
    assert team == expected(quals, config, {"team": "mid_market", "sort": "recency"})


def test_html_pages_show_every_row_with_its_evidence(
    served: tuple[str, list[Qualification], Path],
) -> None:
    url, quals, config = served
    params = {"team": "self_serve", "touch": "high"}
    want = expected(quals, config, params)
    seen: list[str] = []
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        next_url: str | None = "/inbox?team=self_serve&touch=high"
        while next_url:
            page = client.get(next_url)
            assert page.status_code == 200
            assert f"{len(want)} qualifications" in page.text  # under the count cap
            rows = re.findall(r'href="/inbox/q/(q\d+)\?', page.text)
            seen += rows
            for qid in rows:
                assert f"Signal {int(qid[1:])} held" in page.text  # the evidence sentence
            # each row links its account's page (README's tour: click an account name)
            by_id = {q.id: q for q in quals}
            linked = set(re.findall(r'href="/accounts/([^"]+)" data-account-link', page.text))
            assert {by_id[qid].account_id for qid in rows if by_id[qid].account_id} <= linked
            assert linked, "no account links"
            found = re.search(r'href="([^"]+)" rel="next"', page.text)
            next_url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == want


def test_bad_parameters_are_422(served: tuple[str, list[Qualification], Path]) -> None:
    url, _quals, _config = served
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        for params in ({"sort": "score"}, {"status": "gone"}, {"touch": "max"}, {"after": "xx"}):
            r = client.get("/api/v1/qualifications", params=params)
            assert r.status_code == 422, (params, r.text)
        first = client.get("/api/v1/qualifications", params={"limit": 5}).json()
        wrong_sort = client.get(
            "/api/v1/qualifications", params={"after": first["next_cursor"], "sort": "recency"}
        )
        assert wrong_sort.status_code == 422


def test_a_deep_page_costs_what_the_first_does(
    served: tuple[str, list[Qualification], Path],
) -> None:
    """Keyset paging: the last page of the whole inbox is not slower than the first."""
    url, _quals, _config = served
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        params = {"status": "all", "limit": "50"}
        cursors = [""]
        while True:
            body = client.get(
                "/api/v1/qualifications", params={**params, "after": cursors[-1]}
            ).json()
            if body["next_cursor"] is None:
                break
            cursors.append(body["next_cursor"])

        def timed(after: str) -> float:
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                client.get("/api/v1/qualifications", params={**params, "after": after})
                best = min(best, time.perf_counter() - t)
            return best

        first, last = timed(cursors[0]), timed(cursors[-1])
    assert len(cursors) == N // 50
    assert last < max(first * 3, 0.05), (first, last)
