"""--scale: named sizes and numbers resolve as documented; a number N gives about N events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead.demo import generate, parse_scale

CASES: dict[str, Any] = YAML(typ="safe").load(
    (Path(__file__).parent / "scale_cases.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES["ok"], ids=lambda c: str(c["text"]))
def test_scale_resolves(case: dict[str, Any]) -> None:
    spec = parse_scale(case["text"])
    assert (spec.events, spec.accounts, spec.users) == (
        case["events"],
        case["accounts"],
        case["users"],
    )
    assert spec.days == 120


@pytest.mark.parametrize("text", CASES["bad"])
def test_bad_scale_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValueError, match="scale must be"):
        parse_scale(text)


@pytest.mark.parametrize("events", [2_000, 15_000, 50_000])
def test_scale_n_gives_about_n_events(events: int, tmp_path: Path) -> None:
    manifest = generate(events, 3, tmp_path)
    lines = (tmp_path / "events.jsonl").read_bytes().count(b"\n")
    assert lines == manifest.messages
    assert abs(lines - events) <= 0.05 * events
    assert manifest.accounts == parse_scale(events).accounts


@pytest.mark.slow
def test_medium_scale_gives_about_a_million_events(tmp_path: Path) -> None:
    manifest = generate("medium", 1, tmp_path)
    assert abs(manifest.messages - 1_000_000) <= 50_000
    assert manifest.users > 20_000
