"""Routing cases as data: each file in tests/cases/routing/ is one scenario.

A case has ``config`` (beachhead.yml text: teams, routing, scores), optional ``load``
(open qualifications per rep) and ``cursors``, and ``steps``, run in order on one
``RoutingBook``:

- ``route``: a qualification's touch and entity facts (``level``, ``user``, ``account``
  traits, ``user_scores``/``account_scores``, ``owner``, ``id``) with ``expect``: any of
  ``status``, ``team``, ``rep``, ``waiting`` and ``rule_has`` (substrings of the rule).
  A waiting one joins the team queue under its ``id``.
- ``release``: one open qualification of that rep closes (capacity opens).
- ``drain``: the queues are drained; ``expect`` lists ``{id, rep}`` in assignment order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead.qualify.routing import RouteFacts, RoutingBook, Waiting, choose_team
from beachhead.rules.load import load_text
from beachhead.rules.model import Level
from beachhead.rules.result import ScoreValue

CASES = sorted((Path(__file__).parents[2] / "cases" / "routing").glob("*.yaml"))
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def _scores(raw: dict[str, Any] | None) -> dict[str, ScoreValue]:
    return {k: ScoreValue(v["points"], v.get("band")) for k, v in (raw or {}).items()}


def _route(book: RoutingBook, step: dict[str, Any], n: int) -> None:
    config = book.config
    facts = RouteFacts(
        level=Level(step.get("level", "account")),
        as_of=AS_OF,
        user_traits=step.get("user"),
        account_traits=step.get("account"),
        user_scores=_scores(step.get("user_scores")),
        account_scores=_scores(step.get("account_scores")),
    )
    owner = step.get("owner")
    if owner is None and step.get("account"):
        owner = step["account"].get("owner")
    a = book.route(step.get("touch", "high"), choose_team(config, facts), owner)
    expect = step["expect"]
    got = {"status": a.status, "team": a.team, "rep": a.rep, "waiting": a.waiting}
    for key in ("status", "team", "rep", "waiting"):
        if key in expect:
            assert got[key] == expect[key], f"{key}: {got} (rule: {a.rule})"
    for text in expect.get("rule_has", []):
        assert text in a.rule, f"{text!r} not in {a.rule!r}"
    if a.waiting:
        assert a.team is not None
        book.waiting.append(Waiting(step.get("id", f"q{n}"), a.team, owner, (n,)))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_routing_case(path: Path) -> None:
    case = YAML(typ="safe", pure=True).load(path.read_text())
    config = load_text(case["config"], filename=str(path))
    book = RoutingBook(
        config, load=dict(case.get("load") or {}), cursors=dict(case.get("cursors") or {})
    )
    for n, step in enumerate(case["steps"]):
        if "route" in step:
            _route(book, {**step["route"], "expect": step["expect"]}, n)
        elif "release" in step:
            book.add_load(step["release"], -1)
        elif "drain" in step:
            done = [{"id": w.id, "rep": a.rep} for w, a in book.drain()]
            assert done == step["expect"], done
        else:  # pragma: no cover - a malformed case
            raise AssertionError(f"unknown step {step}")


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20
