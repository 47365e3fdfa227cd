"""The inbox by score: band filters, the score sort, keyset pages, scores on every row.

The seeded qualifications of ``web_support.seed`` get scores through the store's own
refresh (``QualificationStore.refresh_scores`` on a ``StepResult``, as a recorded
evaluation writes them) from a deterministic spread computed here; the expected rows
are computed from the same spread, then compared with what the API pages through and
what the HTML shows. SQLite and PostgreSQL state.

Scores (beachhead.yml template): ``fit`` and ``engagement`` are account-level, ``usage``
user-level, so PQAs have no ``usage`` (they sort last under it) and only open
qualifications carry scores (the seeded closed ones were never open at an evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from web_support import add_people, make_settings, seed, sign_in, web_app

from beachhead.qualify.lifecycle import Qualification, StepResult
from beachhead.rules.result import EntityEval, Evaluation, ScoreValue
from beachhead.store.qualifications import QualificationStore
from beachhead.store.state import StateStore

N = 2000
BANDS = {"fit": (70, 40), "engagement": (60, 30), "usage": (60, 30)}


def _band(key: str, points: float) -> str:
    high, medium = BANDS[key]
    return "high" if points >= high else "medium" if points >= medium else "low"


def _value(key: str, entity: str) -> ScoreValue:
    n = int(entity.rsplit("_", 1)[1])  # acct_042 -> 42, u_001234 -> 1234
    points = float({"fit": n * 17 % 100, "engagement": n * 7 % 80, "usage": n * 13 % 90 - 10}[key])
    return ScoreValue(points, _band(key, points))


def evaluation_of(quals: list[Qualification]) -> Evaluation:
    ev = Evaluation(as_of=datetime(2026, 3, 20, tzinfo=UTC))
    for q in quals:
        if q.level == "user":
            ev.users[q.entity_id] = EntityEval(q.entity_id, {"usage": _value("usage", q.entity_id)})
        if q.account_id is not None:
            scores = {k: _value(k, q.account_id) for k in ("fit", "engagement")}
            ev.accounts[q.account_id] = EntityEval(q.account_id, scores)
    return ev


def scores_of(q: Qualification) -> dict[str, ScoreValue]:
    """What the inbox must show for ``q``: its entity's values while it is open."""
    if q.closed_at is not None:
        return {}
    out = {k: _value(k, q.account_id or "") for k in ("fit", "engagement")}
    if q.level == "user":
        out["usage"] = _value("usage", q.entity_id)
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[Qualification]]]:
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
    store = QualificationStore(state)
    open_now = [q for q in quals if q.closed_at is None]
    ev = evaluation_of(quals)
    with store.locked() as s:
        written = store.refresh_scores(s, StepResult(ev.as_of, open_after=open_now, evaluation=ev))
    assert written == sum(len(scores_of(q)) for q in quals)
    state.close()
    try:
        with web_app(settings) as url:
            yield url, quals
    finally:
        databases.close()


def expected(quals: list[Qualification], params: dict[str, str]) -> list[str]:
    """What the inbox must list for a manager with ``params``, in order."""
    out = list(quals)
    status = params.get("status", "open")
    if status == "open":
        out = [q for q in out if q.closed_at is None]
    elif status != "all":
        out = [q for q in out if q.status == status]
    for field in ("touch", "team", "pql"):
        if field in params:
            out = [q for q in out if getattr(q, field) == params[field]]
    score = params["score"]
    if "band" in params:
        out = [q for q in out if (v := scores_of(q).get(score)) and v.band == params["band"]]
    sort = params.get("sort", "priority")
    if sort == "priority":
        out.sort(key=lambda q: (q.priority, q.qualified_at, q.id), reverse=True)
    elif sort == "recency":
        out.sort(key=lambda q: (q.qualified_at, q.id), reverse=True)
    else:  # points high to low, ties by id (descending), rows without the score last
        without = [q for q in out if score not in scores_of(q)]
        out = [q for q in out if score in scores_of(q)]
        out.sort(key=lambda q: (scores_of(q)[score].points, q.id), reverse=True)
        out += sorted(without, key=lambda q: q.id, reverse=True)
    return [q.id for q in out]


CASES: list[dict[str, str]] = [
    {"score": "fit", "sort": "score"},
    {"score": "usage", "sort": "score"},  # PQAs have no usage: last
    {"score": "usage", "sort": "score", "status": "all"},  # closed ones carry none
    {"score": "fit", "band": "high"},
    {"score": "engagement", "band": "medium", "sort": "recency", "status": "all"},
    {"score": "fit", "band": "low", "sort": "score", "team": "mid_market"},
    {"score": "usage", "band": "high", "sort": "score", "touch": "high"},
    {"score": "engagement", "sort": "score", "pql": "seat_expansion"},
    {"score": "fit"},  # shown, not filtered
]


def _page_through(client: httpx.Client, params: dict[str, str], limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = ""
    while True:
        r = client.get("/api/v1/qualifications", params={**params, "after": after, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["qualifications"]
        if body["next_cursor"] is None:
            break
        after = body["next_cursor"]
    return rows


@pytest.mark.parametrize("params", CASES, ids=[str(c) for c in CASES])
def test_band_filters_and_score_sort_page_through(
    served: tuple[str, list[Qualification]], params: dict[str, str]
) -> None:
    url, quals = served
    want = expected(quals, params)
    by_id = {q.id: q for q in quals}
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        got = _page_through(client, params, limit=137)
    assert [r["id"] for r in got] == want
    assert want  # every case lists something
    for row in got:  # each row carries its entity's scores
        assert row["scores"] == {
            k: {"points": v.points, "band": v.band} for k, v in scores_of(by_id[row["id"]]).items()
        }


def test_the_html_inbox_filters_by_band_and_shows_the_score(
    served: tuple[str, list[Qualification]],
) -> None:
    url, quals = served
    params = {"score": "fit", "band": "high", "sort": "score", "team": "enterprise"}
    want = expected(quals, params)
    seen: list[str] = []
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        next_url: str | None = "/inbox?" + "&".join(f"{k}={v}" for k, v in params.items())
        while next_url:
            page = client.get(next_url)
            assert page.status_code == 200, page.text
            seen += re.findall(r'href="/inbox/q/(q\d+)\?', page.text)
            assert 'class="band band-high">high<' in page.text
            assert 'class="band band-low"' not in page.text
            found = re.search(r'href="([^"]+)" rel="next"', page.text)
            next_url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == want


def test_bad_score_parameters_are_422(served: tuple[str, list[Qualification]]) -> None:
    url, _quals = served
    with httpx.Client(base_url=url) as client:
        sign_in(client, "manager@example.com")
        for params in (
            {"score": "nope"},
            {"band": "high"},
            {"score": "fit", "band": "top"},
            {"sort": "score"},
        ):
            r = client.get("/api/v1/qualifications", params=params)
            assert r.status_code == 422, (params, r.text)
        first = client.get(
            "/api/v1/qualifications", params={"limit": 5, "score": "fit", "sort": "score"}
        ).json()
        other = client.get(
            "/api/v1/qualifications",
            params={"after": first["next_cursor"], "score": "fit", "sort": "priority"},
        )
        assert other.status_code == 422
