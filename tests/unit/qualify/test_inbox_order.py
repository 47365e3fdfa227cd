"""The command-line inbox's table order (definitions.md: the highest priority first, ties
by PQL key, an entity's other qualifications beside it)."""

from __future__ import annotations

from typing import Any

import pytest

from beachhead.cli.evaluate_cmds import inbox_order


def _row(pql: str, priority: int, entity: str, level: str = "account") -> dict[str, Any]:
    return {"pql": pql, "priority": priority, "entity_id": entity, "level": level}


CASES = [
    (
        "an entity's lower ones follow its highest, entities by their highest",
        [
            _row("hi", 50, "acme"),
            _row("mid", 20, "acme"),
            _row("low", 5, "beta"),
            _row("top", 99, "u1", "user"),
            _row("mid", 20, "beta"),
        ],
        [("top", "u1"), ("hi", "acme"), ("mid", "acme"), ("mid", "beta"), ("low", "beta")],
    ),
    (
        "equal priorities by PQL key, then by entity",
        [_row("b", 10, "x"), _row("a", 10, "y"), _row("a", 10, "x")],
        [("a", "x"), ("b", "x"), ("a", "y")],
    ),
    (
        "a user and an account with one id are two entities",
        [_row("p", 1, "same", "user"), _row("q", 9, "same", "account")],
        [("q", "same"), ("p", "same")],
    ),
]


@pytest.mark.parametrize(("name", "rows", "want"), CASES, ids=[c[0] for c in CASES])
def test_inbox_order(name: str, rows: list[dict[str, Any]], want: list[tuple[str, str]]) -> None:
    assert [(r["pql"], r["entity_id"]) for r in inbox_order(rows)] == want
