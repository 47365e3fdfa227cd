"""Durations and times as the spec reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from beachhead.rules.durations import (
    format_delta,
    parse_duration,
    parse_iso_time,
    parse_time_ref,
    to_utc,
)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        (" 14d ", timedelta(days=14)),
    ],
)
def test_durations(text: str, delta: timedelta) -> None:
    d = parse_duration(text)
    assert d.delta == delta
    assert d.text == text.strip()


@pytest.mark.parametrize("text", ["1mo", "7 days", "7D", "0d", "-1d", "1.5h", "", 7, True, None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_zero_only_where_allowed() -> None:
    # cooldown: 0d means no cooldown; a window or an expiry of zero means nothing
    assert parse_duration("0d", allow_zero=True).delta == timedelta(0)
    with pytest.raises(ValueError, match="positive duration"):
        parse_duration("0d")
    with pytest.raises(ValueError, match="duration"):
        parse_duration("-1d", allow_zero=True)


def test_equal_spans_are_equal_durations() -> None:
    assert parse_duration("2w") == parse_duration("14d")
    assert hash(parse_duration("24h")) == hash(parse_duration("1d"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-05", datetime(2026, 3, 5, tzinfo=UTC)),
        ("2026-03-05T10:00:00Z", datetime(2026, 3, 5, 10, tzinfo=UTC)),
        ("2026-03-05T10:00:00", datetime(2026, 3, 5, 10, tzinfo=UTC)),
        ("2026-03-05 10:00", datetime(2026, 3, 5, 10, tzinfo=UTC)),
        ("2026-03-05T12:00:00+02:00", datetime(2026, 3, 5, 10, tzinfo=UTC)),
        ("2026-03-05T10:00:00.250Z", datetime(2026, 3, 5, 10, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_iso_times(text: str, expected: datetime) -> None:
    got = parse_iso_time(text)
    assert got == expected
    assert got is not None and got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "2026/03/05", "20260305", "12:00"])
def test_not_iso_times(text: str) -> None:
    assert parse_iso_time(text) is None


def test_time_refs() -> None:
    as_of = datetime(2026, 3, 1, tzinfo=UTC)
    ago = parse_time_ref("30d ago")
    assert ago.ago == timedelta(days=30)
    assert ago.resolve(as_of) == datetime(2026, 1, 30, tzinfo=UTC)
    assert parse_time_ref("12h ago").resolve(as_of) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    absolute = parse_time_ref("2026-02-01")
    assert absolute.resolve(as_of) == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time_ref("last month")
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time_ref(5)


def test_to_utc_and_format() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert to_utc(datetime(2026, 1, 1, 2, tzinfo=plus2)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert format_delta(timedelta(weeks=2)) == "14 days"
    assert format_delta(timedelta(days=1)) == "1 day"
    assert format_delta(timedelta(hours=12)) == "12 hours"
    assert format_delta(timedelta(minutes=90)) == "90 minutes"
