"""Value semantics of the oracle: lookups, typed equality and every comparison operator.

Written to be read beside definitions.md ("Semantics that every backend must agree on"),
one small function per rule, with no cleverness: this is what the engines are checked
against.

- ``MISSING`` stands for a missing trait, property or aggregate (a JSON ``null`` is
  missing too). A missing value satisfies only ``exists: false``.
- Equality is typed: numbers equal numbers (``1 == 1.0``), strings strings, booleans
  booleans; a boolean is never a number and a string never equals a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from beachhead.rules.durations import parse_iso_time, to_utc
from beachhead.rules.model import Comparison, Duration, Op, TimeRef
from beachhead.rules.regex import to_python


class _Missing:
    """The one missing value (falsy, prints as ``missing``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def lookup(obj: Mapping[str, Any] | None, keys: Sequence[str]) -> Any:
    """Walk nested objects by ``keys``; MISSING when a step is absent, not an object or null."""
    cur: Any = obj
    for key in keys:
        if not isinstance(cur, Mapping) or key not in cur:
            return MISSING
        cur = cur[key]
    return MISSING if cur is None else cur


def lookup_dotted(obj: Mapping[str, Any] | None, path: str) -> Any:
    """``lookup`` with a dotted path (event properties: ``plan.name``)."""
    return lookup(obj, path.split("."))


def is_number(value: object) -> bool:
    """int or float, and not bool (a boolean is not a number)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def typed_equal(a: object, b: object) -> bool:
    """Equality that keeps numbers, strings and booleans apart."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def as_time(value: object) -> datetime | None:
    """A datetime (aggregates) or an ISO-8601 string (traits, properties) -> UTC; else None."""
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, str):
        return parse_iso_time(value)
    return None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return to_python(pattern)


def compare(value: Any, cmp: Comparison, as_of: datetime) -> bool:
    """Does ``value`` satisfy ``cmp`` at ``as_of``? (The missing-value rule comes first.)"""
    op, want = cmp.op, cmp.value
    if op is Op.EXISTS:
        return (value is not MISSING) is bool(want)
    if value is MISSING or value is None:
        return False
    if op is Op.EQ:
        return typed_equal(value, want)
    if op is Op.NE:
        return not typed_equal(value, want)
    if op is Op.IN:
        return any(typed_equal(value, w) for w in _items(want))
    if op is Op.NOT_IN:
        return not any(typed_equal(value, w) for w in _items(want))
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN):
        return _numeric(op, value, want)
    if op is Op.CONTAINS:
        if isinstance(value, list | tuple):
            return any(typed_equal(item, want) for item in value)
        return isinstance(value, str) and isinstance(want, str) and want in value
    if op is Op.STARTS_WITH:
        return isinstance(value, str) and isinstance(want, str) and value.startswith(want)
    if op is Op.ENDS_WITH:
        return isinstance(value, str) and isinstance(want, str) and value.endswith(want)
    if op is Op.MATCHES:
        return isinstance(value, str) and isinstance(want, str) and bool(_regex(want).search(value))
    if op in (Op.BEFORE, Op.AFTER):
        return _time(op, value, want, as_of)
    if op is Op.WITHIN:
        t = as_time(value)
        if t is None or not isinstance(want, Duration):
            return False
        return to_utc(as_of) - want.delta < t <= to_utc(as_of)
    raise ValueError(f"unknown operator {op}")  # pragma: no cover - the model forbids it


def _items(want: object) -> tuple[Any, ...]:
    return tuple(want) if isinstance(want, tuple | list) else (want,)


def _numeric(op: Op, value: object, want: object) -> bool:
    if not is_number(value):
        return False
    v: float = value  # type: ignore[assignment]
    if op is Op.BETWEEN:
        lo, hi = _items(want)
        return bool(is_number(lo) and is_number(hi) and lo <= v <= hi)
    if not is_number(want):
        return False
    w: float = want  # type: ignore[assignment]
    if op is Op.GT:
        return v > w
    if op is Op.GTE:
        return v >= w
    if op is Op.LT:
        return v < w
    return v <= w


def _time(op: Op, value: object, want: object, as_of: datetime) -> bool:
    t = as_time(value)
    if t is None or not isinstance(want, TimeRef):
        return False
    ref = to_utc(want.resolve(as_of))
    return t < ref if op is Op.BEFORE else t > ref
