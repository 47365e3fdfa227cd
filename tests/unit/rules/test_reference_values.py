"""The oracle's comparison semantics, operator by operator (definitions.md "Semantics").

One row per (operator, operand, value) with the answer worked out from the spec. The case
corpus covers the same rules end to end; these rows pin the function itself, including
values no case file can easily hold (datetimes, MISSING).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beachhead.rules.model import Comparison, Duration, Op, TimeRef
from beachhead.rules.reference_values import (
    MISSING,
    compare,
    is_number,
    lookup,
    lookup_dotted,
    typed_equal,
)

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)
D7 = Duration(text="7d", delta=timedelta(days=7))
JAN1 = TimeRef(text="2026-01-01", at=datetime(2026, 1, 1, tzinfo=UTC))
AGO_1D = TimeRef(text="1d ago", ago=timedelta(days=1))

ROWS: list[tuple[Op, Any, Any, bool]] = [
    # eq / ne: typed
    (Op.EQ, 1, 1.0, True),
    (Op.EQ, 1, "1", False),
    (Op.EQ, 1, True, False),
    (Op.EQ, True, True, True),
    (Op.EQ, False, 0, False),
    (Op.EQ, "a", "a", True),
    (Op.EQ, "a", "A", False),
    (Op.EQ, "a", ["a"], False),
    (Op.EQ, 1, MISSING, False),
    (Op.NE, 1, MISSING, False),
    (Op.NE, 1, "1", True),
    (Op.NE, 1, 1.0, False),
    (Op.NE, False, 0, True),
    # ordering: numbers only
    (Op.GT, 1, 2, True),
    (Op.GT, 1, 1, False),
    (Op.GT, 1, "2", False),
    (Op.GT, 0, True, False),
    (Op.GTE, 1, 1.0, True),
    (Op.LT, 1, 0.5, True),
    (Op.LTE, 1, 1, True),
    (Op.LTE, 1, None, False),
    (Op.BETWEEN, (1, 3), 1, True),
    (Op.BETWEEN, (1, 3), 3, True),
    (Op.BETWEEN, (1, 3), 3.01, False),
    (Op.BETWEEN, (1, 3), "2", False),
    # lists
    (Op.IN, ("a", 1), "a", True),
    (Op.IN, ("a", 1), 1.0, True),
    (Op.IN, ("a", 1), "1", False),
    (Op.IN, (), "a", False),
    (Op.NOT_IN, ("a",), "b", True),
    (Op.NOT_IN, ("a",), "a", False),
    (Op.NOT_IN, (), "a", True),
    (Op.NOT_IN, (), MISSING, False),
    # strings and arrays
    (Op.CONTAINS, "b", ["a", "b"], True),
    (Op.CONTAINS, 1, [1.0], True),
    (Op.CONTAINS, 1, ["1"], False),
    (Op.CONTAINS, "ell", "hello", True),
    (Op.CONTAINS, "Ell", "hello", False),
    (Op.CONTAINS, 1, "123", False),
    (Op.CONTAINS, "a", 5, False),
    (Op.STARTS_WITH, "he", "hello", True),
    (Op.STARTS_WITH, "he", ["hello"], False),
    (Op.ENDS_WITH, "lo", "hello", True),
    (Op.ENDS_WITH, "lo", 10, False),
    (Op.MATCHES, "l+o$", "hello", True),
    (Op.MATCHES, "^l", "hello", False),
    (Op.MATCHES, "(?i)HEL", "hello", True),
    (Op.MATCHES, "a$", "a\n", False),
    (Op.MATCHES, "1", 1, False),
    # exists
    (Op.EXISTS, True, "", True),
    (Op.EXISTS, True, False, True),
    (Op.EXISTS, True, MISSING, False),
    (Op.EXISTS, False, MISSING, True),
    (Op.EXISTS, False, 0, False),
    # times: ISO strings and datetimes, strict
    (Op.BEFORE, JAN1, "2025-12-31T23:59:59Z", True),
    (Op.BEFORE, JAN1, "2026-01-01", False),
    (Op.BEFORE, JAN1, datetime(2025, 6, 1, tzinfo=UTC), True),
    (Op.BEFORE, JAN1, 20251231, False),
    (Op.BEFORE, JAN1, "yesterday", False),
    (Op.AFTER, JAN1, "2026-01-01T00:00:01", True),
    (Op.AFTER, JAN1, "2026-01-01T00:30:00+01:00", False),
    (Op.AFTER, AGO_1D, "2026-03-09T00:00:01Z", True),
    (Op.AFTER, AGO_1D, "2026-03-09T00:00:00Z", False),
    # within (first_seen / last_seen): as_of - d < t <= as_of
    (Op.WITHIN, D7, datetime(2026, 3, 3, tzinfo=UTC), False),
    (Op.WITHIN, D7, datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC), True),
    (Op.WITHIN, D7, AS_OF, True),
    (Op.WITHIN, D7, AS_OF + timedelta(seconds=1), False),
    (Op.WITHIN, D7, MISSING, False),
]


@pytest.mark.parametrize(("op", "operand", "value", "want"), ROWS)
def test_compare(op: Op, operand: Any, value: Any, want: bool) -> None:
    assert compare(value, Comparison(op=op, value=operand), AS_OF) is want


def test_typed_equal_and_is_number() -> None:
    assert typed_equal(2, 2.0) and not typed_equal(True, 1) and not typed_equal("x", None)
    assert is_number(3) and is_number(2.5) and not is_number(True) and not is_number("3")


@pytest.mark.parametrize(
    ("obj", "path", "want"),
    [
        ({"a": {"b": 1}}, "a.b", 1),
        ({"a": {"b": None}}, "a.b", MISSING),
        ({"a": 5}, "a.b", MISSING),
        ({"a": {"b": {"c": [1]}}}, "a.b.c", [1]),
        ({}, "a", MISSING),
        (None, "a", MISSING),
    ],
)
def test_lookup(obj: Any, path: str, want: Any) -> None:
    assert lookup_dotted(obj, path) == want
    assert lookup(obj, path.split(".")) == want


def test_missing_is_falsy_singleton() -> None:
    assert not MISSING
    assert repr(MISSING) == "MISSING"
    assert type(MISSING)() is MISSING
