"""Typed values in Ibis and every comparison operator on them, with the spec's semantics.

A leaf compares one value per entity: a JSON trait or event property, a number (a count,
a sum, a metric, score points), a time (first_seen/last_seen) or a band name. ``Value``
holds what each kind can be read as, NULL where it cannot: ``num`` is NULL for a string or
a boolean (a boolean is not a number), ``text`` is NULL for a number, and so on. Then
every operator is the same few lines for every kind, and typed equality falls out:
``1 == 1.0`` compares two numbers, ``"1"`` never meets a number.

``compare(value, cmp, ctx)`` returns a boolean expression that is never NULL: a missing
value satisfies only ``exists: false`` (definitions.md, "Semantics").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from beachhead.engine.errors import Unsupported
from beachhead.engine.isotime import iso_micros, micros
from beachhead.rules.durations import to_utc
from beachhead.rules.model import Comparison, Duration, Op, Scalar, TimeRef
from beachhead.rules.regex import check as check_regex

TRUE = ibis.literal(True)
FALSE = ibis.literal(False)


@dataclass(frozen=True)
class Ctx:
    """What a comparison needs besides the value: the time and the backend's dialect.

    ``as_of_sql`` / ``as_of_us_sql`` (a compiled plan, ``engine/prepared.py``): ``as_of``
    as ONE expression (a timestamp, and microseconds since the epoch) that every bound
    is computed from in SQL (``as_of - INTERVAL ...``), so the compiled SQL holds the
    time in one substitutable place. Without them, bounds are literals computed here.
    """

    as_of: datetime  # UTC-aware
    backend: str  # "duckdb" | "postgres" | ...
    array_lambdas: bool = True  # the backend can run Ibis' array map (array ``contains``)
    as_of_sql: ir.TimestampValue | None = field(default=None, compare=False)
    as_of_us_sql: ir.IntegerValue | None = field(default=None, compare=False)

    @property
    def as_of_naive(self) -> datetime:
        return self.as_of.replace(tzinfo=None)

    def ts_before(self, delta: timedelta) -> ir.TimestampValue:
        """``as_of - delta`` as a timestamp (naive UTC, as the store keeps times)."""
        if self.as_of_sql is None:
            return ibis.literal(self.as_of_naive - delta, type="timestamp")
        if not delta:
            return self.as_of_sql
        return self.as_of_sql - ibis.interval(microseconds=delta // _MICRO)

    def us_before(self, delta: timedelta) -> ir.IntegerValue:
        """``as_of - delta`` in microseconds since the epoch."""
        if self.as_of_us_sql is None:
            return ibis.literal(micros(self.as_of - delta))
        if not delta:
            return self.as_of_us_sql
        return self.as_of_us_sql - (delta // _MICRO)


_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Value:
    """One value per row, by what it can be read as (None: never that kind)."""

    present: ir.BooleanValue
    num: ir.FloatingValue | None = None
    text: ir.StringValue | None = None
    flag: ir.BooleanValue | None = None
    ts: ir.TimestampValue | None = None  # a time column (first_seen/last_seen)
    elements: ir.ArrayValue | None = None  # a JSON array's elements (JSON values)
    raw: ir.JSONValue | None = None  # the JSON value itself

    def time_micros(self) -> ir.IntegerValue | None:
        """The value as a time, in microseconds (timestamps, or ISO strings)."""
        if self.text is not None:
            return iso_micros(self.text)
        return None


def from_json(v: ir.JSONValue) -> Value:
    """A JSON value: missing when absent or JSON ``null``."""
    present = v.notnull() & (v.cast("string") != "null")
    return Value(
        present=present.fill_null(False),
        num=v.float,
        text=v.str,
        flag=v.bool,
        elements=v.array,
        raw=v,
    )


def from_number(col: ir.NumericValue) -> Value:
    return Value(present=col.notnull(), num=col.cast("float64"))


def from_time(col: ir.TimestampValue) -> Value:
    return Value(present=col.notnull(), ts=col)


def from_text(col: ir.StringValue) -> Value:
    return Value(present=col.notnull(), text=col)


def _false_if_null(expr: ir.BooleanValue) -> ir.BooleanValue:
    return expr.fill_null(False)


_KINDS = ("flag", "num", "text")


def _kind(want: Scalar) -> tuple[str, Scalar]:
    """The kind of value a literal can equal, and the literal as that kind: a bool only
    ``flag`` (checked first: a bool is an int), a number only ``num`` (as a float), a
    string only ``text``."""
    if isinstance(want, bool):
        return "flag", want
    if isinstance(want, int | float):
        return "num", float(want)
    if isinstance(want, str):
        return "text", want
    raise TypeError(f"not a scalar: {want!r}")  # pragma: no cover


def _eq_scalar(value: Value, want: Scalar) -> ir.BooleanValue:
    """Typed equality with one literal; NULL/false when the kinds differ."""
    kind, literal = _kind(want)
    col = getattr(value, kind)
    return FALSE if col is None else col == literal


def _eq_any(value: Value, wants: tuple[Scalar, ...]) -> ir.BooleanValue:
    """Typed equality with any of ``wants`` (``in``): one ``IN (...)`` per kind, so the
    value's expression is written once per kind, not once per item. The same as
    ``_eq_scalar`` per item ORed (``_kind`` decides which kind each item meets)."""
    by_kind: dict[str, list[Scalar]] = {k: [] for k in _KINDS}
    for w in wants:
        kind, literal = _kind(w)
        by_kind[kind].append(literal)
    parts: list[ir.BooleanValue] = []
    for kind, items in by_kind.items():
        col = getattr(value, kind)
        if col is None or not items:
            continue
        parts.append(col == items[0] if len(items) == 1 else col.isin(items))
    return _any(parts)


def _element_eq(element: ir.JSONValue, want: Scalar) -> ir.BooleanValue:
    return _eq_scalar(from_json(element), want)


def _array_contains(value: Value, want: Scalar, ctx: Ctx) -> ir.BooleanValue:
    if value.elements is None:
        return FALSE
    if ctx.backend not in ("duckdb", "postgres") or not ctx.array_lambdas:
        raise Unsupported("contains on a JSON value that may be an array", ctx.backend)
    return value.elements.map(lambda e: _false_if_null(_element_eq(e, want))).anys()


def _items(want: object) -> tuple[Scalar, ...]:
    return tuple(want) if isinstance(want, tuple | list) else (want,)  # type: ignore[return-value]


def _any(exprs: list[ir.BooleanValue]) -> ir.BooleanValue:
    if not exprs:
        return FALSE
    out = _false_if_null(exprs[0])
    for e in exprs[1:]:
        out = out | _false_if_null(e)
    return out


def _numeric(value: Value, op: Op, want: object) -> ir.BooleanValue:
    if value.num is None:
        return FALSE
    n = value.num
    if op is Op.BETWEEN:
        lo, hi = _items(want)
        return (n >= float(lo)) & (n <= float(hi))
    w = float(want)  # type: ignore[arg-type]
    table: dict[Op, Callable[[], ir.BooleanValue]] = {
        Op.GT: lambda: n > w,
        Op.GTE: lambda: n >= w,
        Op.LT: lambda: n < w,
        Op.LTE: lambda: n <= w,
    }
    return table[op]()


def _naive(dt: datetime) -> datetime:
    """UTC without a zone, as the store keeps times."""
    return to_utc(dt).replace(tzinfo=None)


def _ts_bound(ctx: Ctx, at: datetime | None, ago: timedelta | None) -> ir.Value:
    if at is not None:
        return ibis.literal(_naive(at), type="timestamp")
    assert ago is not None
    return ctx.ts_before(ago)


def _us_bound(ctx: Ctx, at: datetime | None, ago: timedelta | None) -> ir.Value:
    if at is not None:
        return ibis.literal(micros(at))
    assert ago is not None
    return ctx.us_before(ago)


_Bound = tuple[datetime | None, timedelta | None]  # an absolute time, or as_of - ago


def _time_cmp(value: Value, op: Op, ctx: Ctx, start: _Bound, end: _Bound | None) -> ir.BooleanValue:
    """``before start`` / ``after start`` / ``start < t <= end`` (within)."""
    if value.ts is not None:
        t: ir.Value = value.ts
        lo: ir.Value = _ts_bound(ctx, *start)
        hi: ir.Value | None = None if end is None else _ts_bound(ctx, *end)
    else:
        m = value.time_micros()
        if m is None:
            return FALSE
        t, lo, hi = (m, _us_bound(ctx, *start), None if end is None else _us_bound(ctx, *end))
    if op is Op.BEFORE:
        return t < lo
    if op is Op.AFTER:
        return t > lo
    assert hi is not None
    return (t > lo) & (t <= hi)


def _regex(value: Value, pattern: str, ctx: Ctx) -> ir.BooleanValue:
    if value.text is None:
        return FALSE
    rx = check_regex(pattern)
    if ctx.backend == "duckdb":
        text = rx.inline("re2")
    elif ctx.backend == "postgres":
        text = rx.inline("postgres")
    else:
        raise Unsupported("matches (regular expressions)", ctx.backend)
    return value.text.re_search(text)


def _raw(value: Value, cmp: Comparison, ctx: Ctx) -> ir.BooleanValue:
    """The operator on a present value (may be NULL where the kind does not fit)."""
    op, want = cmp.op, cmp.value
    if op is Op.EQ:
        return _eq_scalar(value, want)  # type: ignore[arg-type]
    if op is Op.NE:
        return ~_false_if_null(_eq_scalar(value, want))  # type: ignore[arg-type]
    if op is Op.IN:
        return _eq_any(value, _items(want))
    if op is Op.NOT_IN:
        return ~_eq_any(value, _items(want))
    if op in (Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN):
        return _numeric(value, op, want)
    if op is Op.CONTAINS:
        parts: list[ir.BooleanValue] = []
        if isinstance(want, str) and value.text is not None:
            parts.append(value.text.contains(want))
        if value.elements is not None:
            parts.append(_array_contains(value, want, ctx))  # type: ignore[arg-type]
        return _any(parts)
    if op in (Op.STARTS_WITH, Op.ENDS_WITH):
        if value.text is None or not isinstance(want, str):
            return FALSE
        return value.text.startswith(want) if op is Op.STARTS_WITH else value.text.endswith(want)
    if op is Op.MATCHES:
        return _regex(value, str(want), ctx)
    if op in (Op.BEFORE, Op.AFTER):
        assert isinstance(want, TimeRef)
        return _time_cmp(value, op, ctx, (want.at, want.ago), None)
    if op is Op.WITHIN:
        assert isinstance(want, Duration)
        return _time_cmp(value, op, ctx, (None, want.delta), (None, timedelta(0)))
    raise Unsupported(f"operator {op}", ctx.backend)  # pragma: no cover


# The operators whose ``_raw`` can hold for a missing value: negations of a test that a
# missing value fails. Every other operator reads a kind (``num``, ``text``, ...) that is
# NULL when the value is missing, so it is NULL or false there without ``present``.
_NEGATIONS = frozenset({Op.NE, Op.NOT_IN})


def compare(value: Value, cmp: Comparison, ctx: Ctx) -> ir.BooleanValue:
    """Does the value satisfy ``cmp``? Never NULL; missing satisfies only ``exists: false``.

    ``present`` is ANDed in only for the negations (``_NEGATIONS``): elsewhere it is
    implied. Leaving it out spares a JSON trait's leaf two of its three tests (not NULL,
    not JSON ``null``); the bench's compiled SQL is a fifth shorter (104 KB -> 84 KB)
    and its three statements 8% faster at 1M events (0.39 s -> 0.36 s)."""
    if cmp.op is Op.EXISTS:
        return value.present if cmp.value else ~value.present
    raw = _raw(value, cmp, ctx)
    return _false_if_null(value.present & raw if cmp.op in _NEGATIONS else raw)


def window_start(ctx: Ctx, within: timedelta) -> datetime:
    return ctx.as_of_naive - within
