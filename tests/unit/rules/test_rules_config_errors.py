"""Every file in tests/cases/config_errors/ is an invalid beachhead.yml.

Its first lines say what ``beachhead check`` must report, one diagnostic a line:
``# expect: LINE:COL PATH: MESSAGE`` where the message may be cut short (a prefix).
The file must produce exactly those diagnostics, no more.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from beachhead.rules.load import ConfigError, Diagnostic, load_text

CASES = Path(__file__).parents[2] / "cases" / "config_errors"
EXPECT = re.compile(r"^# expect: (.+)$")


def _expected(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        m = EXPECT.match(line)
        if not m:
            break
        out.append(m.group(1).strip())
    return out


def _render(d: Diagnostic) -> str:
    where = f"{d.path}: " if d.path else ""
    return f"{d.line}:{d.column} {where}{d.message}"


def test_there_are_enough_cases() -> None:
    assert len(list(CASES.glob("*.yml"))) >= 30


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yml")), ids=lambda p: p.stem)
def test_config_error_case(case: Path) -> None:
    text = case.read_text(encoding="utf-8")
    expected = _expected(text)
    assert expected, f"{case.name} has no '# expect:' line"
    with pytest.raises(ConfigError) as info:
        load_text(text, case.name)
    got = [_render(d) for d in info.value.diagnostics]
    assert len(got) == len(expected), "\n".join(got)
    for want in expected:
        assert any(g.startswith(want) for g in got), f"missing {want!r} in:\n" + "\n".join(got)
    for d in info.value.diagnostics:
        assert d.file == case.name
        assert str(d).startswith(f"{case.name}:{d.line}:{d.column}: ")
