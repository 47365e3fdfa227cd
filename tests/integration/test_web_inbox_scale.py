"""The inbox over 100,000 qualifications: a page deep in the list is as fast as the first
(keyset), on several filters, and holds exactly the rows expected there. Slow: seeding
100k rows takes about a minute."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from test_web_inbox import expected
from web_support import add_people, make_settings, seed, sign_in, web_app

from beachhead.store.inbox import encode_cursor
from beachhead.store.state import StateStore

N = 100_000
FILTERS = [{}, {"sort": "recency"}, {"team": "mid_market"}, {"status": "all"}, {"touch": "high"}]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_deep_pages_of_100k_rows(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    db = request.getfixturevalue("pg_url") if backend == "postgres" else None
    settings = make_settings(tmp_path, db)
    (tmp_path / "data").mkdir()
    state = StateStore(settings.state_url)
    add_people(state)
    quals = seed(state, N)
    state.close()
    by_id = {q.id: q for q in quals}
    timings: dict[str, tuple[float, float]] = {}
    with web_app(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        sign_in(client, "manager@example.com")

        def fetch(params: dict[str, str], after: str) -> tuple[list[str], float]:
            best, ids = float("inf"), []
            for _ in range(3):
                t = time.perf_counter()
                r = client.get(
                    "/api/v1/qualifications", params={**params, "after": after, "limit": 100}
                )
                best = min(best, time.perf_counter() - t)
                assert r.status_code == 200, r.text
                ids = [q["id"] for q in r.json()["qualifications"]]
            return ids, best

        for params in FILTERS:
            want = expected(quals, settings.config, params)
            deep_at = len(want) * 9 // 10
            cursor = encode_cursor(params.get("sort", "priority"), by_id[want[deep_at - 1]])
            first, t_first = fetch(params, "")
            deep, t_deep = fetch(params, cursor)
            assert first == want[:100]
            assert deep == want[deep_at : deep_at + 100]
            timings[str(params)] = (t_first, t_deep)
    print({k: (round(a, 3), round(b, 3)) for k, (a, b) in timings.items()})
    for name, (t_first, t_deep) in timings.items():
        assert t_deep < max(3 * t_first, t_first + 0.1), (name, t_first, t_deep)
        assert t_deep < 2.0, (name, t_deep)
