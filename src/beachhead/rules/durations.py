"""Durations (``30m 12h 7d 2w``) and times (ISO-8601, ``30d ago``) as the spec reads them.

- ``parse_duration("7d") -> Duration`` (text kept, positive span; no months: use days).
- ``parse_time_ref("2026-03-05") / ("30d ago") -> TimeRef`` for ``before``/``after``.
- ``parse_iso_time(text) -> datetime | None``: how a trait or property string is read as a
  time (None when it is not ISO-8601). Naive times are UTC; results are always UTC-aware.
- ``to_utc(dt)``: any datetime as UTC-aware.

All raise ``ValueError`` with a message saying what was expected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from beachhead.rules.model import Duration, TimeRef

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^([0-9]+)([mhdw])$")
_AGO = re.compile(r"^([0-9]+)([mhdw]) +ago$")
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)?$"
)

DURATION_HINT = "a duration like 30m, 12h, 7d or 2w (minutes, hours, days, weeks)"
TIME_HINT = "a time: ISO-8601 like 2026-03-05 or 2026-03-05T10:00:00Z, or relative like 30d ago"


def _delta(amount: str, unit: str) -> timedelta:
    return timedelta(**{_UNITS[unit]: int(amount)})


def parse_duration(text: object, allow_zero: bool = False) -> Duration:
    """``"7d"`` -> ``Duration(text="7d", delta=7 days)``; the span must be positive (or
    zero, with ``allow_zero``: a ``cooldown: 0d`` means none)."""
    if not isinstance(text, str) or isinstance(text, bool):
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"expected {DURATION_HINT}, got {text!r}")
    delta = _delta(m.group(1), m.group(2))
    if delta < timedelta(0) or (delta == timedelta(0) and not allow_zero):
        raise ValueError(f"expected a positive duration, got {text!r}")
    return Duration(text=text.strip(), delta=delta)


def to_utc(dt: datetime) -> datetime:
    """A naive datetime is UTC; an aware one is converted to UTC."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_iso_time(text: str) -> datetime | None:
    """Read an ISO-8601 date or datetime (``Z``/offset or none = UTC); None if it is not one."""
    s = text.strip()
    if _DATE_ONLY.match(s):
        try:
            d = date.fromisoformat(s)
        except ValueError:
            return None
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    if not _DATETIME.match(s):
        return None
    try:
        return to_utc(datetime.fromisoformat(s.replace("z", "Z")))
    except ValueError:
        return None


def parse_time_ref(value: object) -> TimeRef:
    """A ``before``/``after`` value: absolute ISO time or ``N<unit> ago``."""
    if isinstance(value, datetime):
        return TimeRef(text=value.isoformat(), at=to_utc(value))
    if not isinstance(value, str):
        raise ValueError(f"expected {TIME_HINT}, got {value!r}")
    s = value.strip()
    m = _AGO.match(s)
    if m:
        delta = _delta(m.group(1), m.group(2))
        return TimeRef(text=s, ago=delta)
    at = parse_iso_time(s)
    if at is None:
        raise ValueError(f"expected {TIME_HINT}, got {value!r}")
    return TimeRef(text=s, at=at)


def format_delta(delta: timedelta) -> str:
    """A span in the largest whole unit that fits: ``14 days``, ``1 hour``, ``90 minutes``."""
    minutes = int(delta.total_seconds() // 60)
    # weeks read as days: people say "14 days" more often than "2 weeks"
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0 and minutes >= size:
            n = minutes // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{delta.total_seconds():g} seconds"
