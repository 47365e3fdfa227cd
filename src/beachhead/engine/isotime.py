"""ISO-8601 text -> microseconds since the epoch, as an Ibis expression, never an error.

``before``/``after`` read a trait or property holding an ISO string as a time
(definitions.md). A database cast would do, except that PostgreSQL has no ``TRY_CAST``: a
bad string would fail the whole query. So the text is matched against the same grammar as
``rules/durations.parse_iso_time`` and the fields are turned into a number with plain
integer arithmetic (days from the civil date, Howard Hinnant's algorithm), validating
every field as Python's ``datetime.fromisoformat`` does. A string that is not a time
gives NULL, and a NULL compares false: the same answer as the oracle on every engine.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import ibis.expr.types as ir

_WS = "[ \t\n\r\f\v]*"
# groups: 1 year, 2 month, 3 day, 4 hour, 5 minute, 6 second, 7 fraction,
#         8 zone (Z or an offset); DuckDB reads at most 9 groups, so the offset's parts
#         come from the zone text with a second pattern.
ISO_PATTERN = (
    f"^{_WS}([0-9]{{4}})-([0-9]{{2}})-([0-9]{{2}})"
    "(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.]([0-9]+))?)?"
    "(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
    f"{_WS}$"
)
OFFSET_PATTERN = "^([+-])([0-9]{2}):?([0-9]{2})?$"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(dt: datetime) -> int:
    """A datetime as microseconds since the epoch (naive = UTC), exactly."""
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    delta = aware - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _group(text: ir.StringValue, n: int, pattern: str = ISO_PATTERN) -> ir.StringValue:
    # DuckDB gives '' for a group that did not take part, PostgreSQL NULL: make both NULL.
    return text.re_extract(pattern, n).nullif("")


def _int(text: ir.StringValue, n: int, pattern: str = ISO_PATTERN) -> ir.IntegerValue:
    return _group(text, n, pattern).cast("int64").fill_null(0)


def _days_from_civil(y: ir.IntegerValue, m: ir.IntegerValue, d: ir.IntegerValue) -> ir.IntegerValue:
    yy = y - (m <= 2).ifelse(1, 0)
    era = yy // 400  # years 1..9999: never negative
    yoe = yy - era * 400
    mp = (m > 2).ifelse(m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in_month(y: ir.IntegerValue, m: ir.IntegerValue) -> ir.IntegerValue:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (
        ibis.cases(
            (m == 2, leap.ifelse(29, 28)),
            (m.isin([4, 6, 9, 11]), 30),
            else_=31,
        )
    ).cast("int64")


def iso_micros(text: ir.StringValue) -> ir.IntegerValue:
    """Microseconds since the epoch of an ISO-8601 string, NULL when it is not one."""
    y, mo, d = _int(text, 1), _int(text, 2), _int(text, 3)
    h, mi, s = _int(text, 4), _int(text, 5), _int(text, 6)
    frac = _group(text, 7)
    us = (frac.rpad(6, "0").substr(0, 6)).cast("int64").fill_null(0)
    zone = _group(text, 8)
    sign = _group(zone, 1, OFFSET_PATTERN)
    oh, om = _int(zone, 2, OFFSET_PATTERN), _int(zone, 3, OFFSET_PATTERN)
    offset = (oh * 60 + om) * 60 * 1_000_000
    signed = (sign == "-").ifelse(-offset, offset).fill_null(0)
    valid = (
        text.re_search(ISO_PATTERN)
        & (y >= 1)
        & mo.between(1, 12)
        & (d >= 1)
        & (d <= _days_in_month(y, mo))
        & (h <= 23)
        & (mi <= 59)
        & (s <= 59)
        & (oh <= 23)
        & (om <= 59)
    )
    local = ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s
    value = local * 1_000_000 + us - signed
    return valid.ifelse(value, ibis.null("int64"))
