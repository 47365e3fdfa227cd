"""Every case of ``tests/cases`` on the oracle (``rules/reference.py``).

The expectations were worked out by hand from definitions.md; a failure here means the
oracle and the spec disagree (or the case is wrong: read its description).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from beachhead.rules.reference import build_world, evaluate
from casefile import FREE_MAIL, case_files, case_id, check, load_case

FILES = case_files()


def test_corpus_is_large() -> None:
    assert len(FILES) >= 150


@pytest.mark.parametrize("path", FILES, ids=[case_id(p) for p in FILES])
def test_case_on_reference(path: Path) -> None:
    case = load_case(path)
    result = evaluate(
        case.config,
        case.messages,
        case.trait_rows,
        case.memberships,
        as_of=case.as_of,
        free_mail=FREE_MAIL,
    )
    world = build_world(
        case.config, case.messages, case.trait_rows, case.memberships, case.as_of, FREE_MAIL
    )
    assert check(case, result, world.snap) == []
