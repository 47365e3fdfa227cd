"""Every case of ``tests/cases`` on the compiled engine, on DuckDB and on PostgreSQL.

Each case is imported through the real events store, evaluated by ``engine.evaluate``, and
checked twice: against the case's hand-written expectations, and against the oracle's
``Evaluation`` (``rules/reference.py``) field by field, evidence sentences included.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_engine_support import comparable, fill, open_store, sentences

from beachhead.engine import evaluate
from beachhead.engine.snapshot import resolve_from_tables
from beachhead.rules import reference
from casefile import FREE_MAIL, case_files, case_id, check, load_case

FILES = case_files()
BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("path", FILES, ids=[case_id(p) for p in FILES])
def test_case_on_engine(
    path: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    case = load_case(path)
    pg_url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    with open_store(backend, tmp_path, pg_url) as store:
        fill(store, case)
        snap = resolve_from_tables(store.ibis(), case.as_of, FREE_MAIL)
        got = evaluate(store, case.config, case.as_of, snap)
    assert check(case, got, snap) == []
    want = reference.evaluate(
        case.config,
        case.messages,
        case.trait_rows,
        case.memberships,
        as_of=case.as_of,
        free_mail=FREE_MAIL,
    )
    assert comparable(got) == comparable(want)
    assert sentences(got) == sentences(want)
