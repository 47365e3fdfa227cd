"""CSV cells read as integers, decimals, true/false or text; empty is missing."""

from __future__ import annotations

import pytest

from beachhead.ingest.csvcells import MISSING, cell_value

CASES = [
    ("42", 42),
    ("-7", -7),
    ("+3", "+3"),  # a leading "+" is text: "+15551234567" is a phone number
    ("+15551234567", "+15551234567"),
    ("+1.5", "+1.5"),
    ("0", 0),
    (" 250 ", 250),
    ("99.5", 99.5),
    ("-0.25", -0.25),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("2.5E-1", 0.25),
    ("true", True),
    ("FALSE", False),
    ("True", True),
    ("00123", "00123"),
    ("acme", "acme"),
    ("ana@acme.com", "ana@acme.com"),
    ("1.2.3", "1.2.3"),
    ("yes", "yes"),
    (" padded ", "padded"),
    ("1,000", "1,000"),
]


@pytest.mark.parametrize(("text", "want"), CASES, ids=[c[0] for c in CASES])
def test_cell_value(text: str, want: object) -> None:
    got = cell_value(text)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_cell_is_missing(text: str) -> None:
    assert cell_value(text) is MISSING
