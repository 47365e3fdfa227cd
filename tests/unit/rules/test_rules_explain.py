"""Evidence sentences, table-driven from explain_cases.yml."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead.rules.explain import fmt_value, requirement, sentence
from beachhead.rules.load import load_text
from beachhead.rules.model import LEAF_TYPES, Comparison, Leaf, Op
from beachhead.rules.result import ScoreValue

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
CASES = YAML(typ="safe").load((Path(__file__).parent / "explain_cases.yml").read_text())


def leaf_of(when: dict[str, Any], level: str) -> Leaf:
    """Load ``when`` as the condition of a one-PQL file (JSON is YAML), scores provided."""
    doc = {
        "scores": {
            "fit": {
                "level": "account",
                "rules": [{"points": 1, "when": {"metric": "members", "gte": 1}}],
                "bands": {"high": 70, "medium": 40},
            }
        },
        "pqls": [{"key": "p", "level": level, "when": when}],
    }
    cond = load_text(json.dumps(doc)).pqls[0].when
    assert isinstance(cond, LEAF_TYPES)
    return cond


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["sentence"][:50])
def test_sentence(case: dict[str, Any]) -> None:
    leaf = leaf_of(case["when"], case.get("level", "user"))
    value = case["value"]
    if isinstance(value, dict):
        value = ScoreValue(points=value["points"], band=value["band"])
    assert sentence(leaf, value, case["held"], AS_OF) == case["sentence"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (2.5, "2.5"),
        (12345.678, "12345.68"),
        (-0.5, "-0.5"),
        (True, "true"),
        (None, "missing"),
        (["a", 1], "[a, 1]"),
    ],
)
def test_fmt_value(value: Any, text: str) -> None:
    assert fmt_value(value) == text


def test_requirement_words() -> None:
    assert requirement(Comparison(op=Op.LT, value=3)) == "less than 3"
    assert requirement(Comparison(op=Op.IN, value=())) == "a value in an empty list"
    assert requirement(Comparison(op=Op.ENDS_WITH, value=".io")) == "to end with .io"
