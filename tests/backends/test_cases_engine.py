"""Every case of ``tests/cases`` on the compiled engine, on DuckDB and on PostgreSQL.

Each case is imported through the real events store, evaluated by ``engine.evaluate``, and
checked twice: against the case's hand-written expectations, and against the oracle's
``Evaluation`` (``rules/reference.py``) field by field, evidence sentences included.

The whole corpus takes minutes (a fresh store, and on PostgreSQL a fresh database, per
case), so it is marked ``slow``; ``test_sample_on_engine`` runs the first case of a few
folders in the quick suite.
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


# Folders whose first case runs in the quick suite (one per concern the engine compiles).
SAMPLE_FOLDERS = ("attribution", "events", "metrics", "operators", "scores", "stages", "traits")


def _sample(files: list[Path]) -> list[Path]:
    firsts: dict[str, Path] = {}
    for p in files:
        folder = case_id(p).split("/")[0]
        if folder in SAMPLE_FOLDERS:
            firsts.setdefault(folder, p)
    return sorted(firsts.values())


SAMPLE = _sample(FILES)


def test_corpus_is_there() -> None:
    assert len(FILES) >= 150


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[case_id(p) for p in FILES])
def test_case_on_engine(
    path: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_case(path, backend, tmp_path, request)


@pytest.mark.parametrize("path", SAMPLE, ids=[case_id(p) for p in SAMPLE])
def test_sample_on_engine(
    path: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_case(path, backend, tmp_path, request)


def run_case(path: Path, backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Import, evaluate, check the expectations, then compare with the oracle."""
    case = load_case(path)
    pg_url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    with open_store(backend, tmp_path, pg_url) as store:
        fill(store, case)
        got = evaluate(store, case.config, case.as_of)  # identity resolved from the store
        snap = resolve_from_tables(store.ibis(), case.as_of, FREE_MAIL)
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
