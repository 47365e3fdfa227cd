"""The `matches` grammar: what it rejects, and that Python, DuckDB and PostgreSQL agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from beachhead.rules import regex

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parent / "regex_cases.yml").read_text()
)
PAIRS = [
    (c["pattern"], text, expected)
    for c in CASES
    for key, expected in (("match", True), ("no_match", False))
    for text in c.get(key, [])
]
IDS = [f"{p!r}~{t!r}" for p, t, _ in PAIRS]


@pytest.mark.parametrize(("pattern", "text", "expected"), PAIRS, ids=IDS)
def test_python(pattern: str, text: str, expected: bool) -> None:
    assert bool(regex.to_python(pattern).search(text)) is expected


@pytest.fixture(scope="module")
def duck() -> Any:
    con = duckdb.connect()
    yield con
    con.close()


@pytest.mark.parametrize(("pattern", "text", "expected"), PAIRS, ids=IDS)
def test_duckdb_re2(duck: Any, pattern: str, text: str, expected: bool) -> None:
    got = duck.execute("SELECT regexp_matches(?, ?)", [text, regex.to_re2(pattern)]).fetchone()
    assert got is not None and got[0] is expected


@pytest.mark.postgres
def test_postgres_are(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        for pattern, text, expected in PAIRS:
            row = conn.execute("SELECT %s ~ %s", (text, regex.to_postgres(pattern))).fetchone()
            assert row is not None and row[0] is expected, (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?=a)", "no lookaround"),
        ("(?<=a)b", "no lookaround"),
        ("(a)\\1", "'\\1' is not supported"),
        ("\\bword", "'\\b' is not supported"),
        ("\\w+", "'\\w' is not supported"),
        ("a(?i)b", "(?i) is only allowed at the very start"),
        ("a*?", "cannot follow a repeat"),
        ("a++", "cannot follow a repeat"),
        ("*a", "nothing to repeat"),
        ("a{2,1}", "wrong order"),
        ("a{,3}", "expected a repeat like {3} or {2,5}"),
        ("a{1001}", "above 1000"),
        ("(ab", "missing ')'"),
        ("ab)", "unbalanced ')'"),
        ("[ab", "missing ']'"),
        ("[]", "empty class"),
        ("[z-a]", "range out of order"),
        ("[[:alpha:]]", "POSIX classes"),
        ("a|", "empty alternative"),
        ("", "empty pattern"),
        ("(?i)", "empty pattern"),
        ("abc\\", "cannot end with"),
    ],
)
def test_rejected(pattern: str, message: str) -> None:
    with pytest.raises(regex.RegexError, match=None) as info:
        regex.check(pattern)
    assert message in str(info.value)


def test_translation_pieces() -> None:
    rx = regex.check("(?i)^a\\d.(b|c)$")
    assert rx.ignore_case
    assert rx.body("python") == "^a[0-9].(?:b|c)\\Z"
    assert rx.body("re2") == "^a[0-9].(?:b|c)$"
    assert rx.body("postgres") == "^a[0-9][^\\n](?:b|c)$"
    assert regex.to_re2("(?i)x") == "(?i)x"


ALPHABET = "abcxyzABC019 -_.@$\t\n\u00e9\u0661"
PATTERNS = [c["pattern"] for c in CASES]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), text=st.text(alphabet=ALPHABET, max_size=12))
def test_python_and_duckdb_agree(duck: Any, pattern: str, text: str) -> None:
    py = bool(regex.to_python(pattern).search(text))
    got = duck.execute("SELECT regexp_matches(?, ?)", [text, regex.to_re2(pattern)]).fetchone()
    assert got is not None and got[0] is py, (pattern, text)


@pytest.mark.postgres
def test_python_and_postgres_agree(pg_url: str) -> None:
    import random

    rnd = random.Random(7)
    with psycopg.connect(pg_url) as conn:
        for _ in range(400):
            pattern = rnd.choice(PATTERNS)
            text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 10)))
            py = bool(regex.to_python(pattern).search(text))
            row = conn.execute("SELECT %s ~ %s", (text, regex.to_postgres(pattern))).fetchone()
            assert row is not None and row[0] is py, (pattern, text)
