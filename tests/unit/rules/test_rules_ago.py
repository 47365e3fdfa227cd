"""``explain.ago_changes`` says exactly when ``explain.ago`` first reads differently.

The incremental evaluator re-words a kept "21 days ago" sentence only from that time on
(``rules/redate.py``), so a time too late would leave a stale sentence and a time too
early only costs work. Both directions are checked: the words are the same one
microsecond before the returned time as at ``as_of``, and differ at it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from beachhead.rules.explain import ago, ago_changes

AS_OF = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

# (how long before as_of the time was, what ago says at as_of)
EDGES = [
    (timedelta(0), "just now"),
    (timedelta(seconds=59, microseconds=999_999), "just now"),
    (timedelta(minutes=1), "1 minute ago"),
    (timedelta(minutes=59, seconds=59), "59 minutes ago"),
    (timedelta(hours=1), "1 hour ago"),
    (timedelta(hours=23, minutes=59), "23 hours ago"),
    (timedelta(days=1), "1 day ago"),
    (timedelta(days=21, hours=5), "21 days ago"),
    (-timedelta(minutes=5), "just now"),  # a time after as_of
]


def _check(t: datetime, as_of: datetime) -> None:
    at = ago_changes(t, as_of)
    assert at > as_of
    assert ago(t, at - TICK) == ago(t, as_of), (t, as_of, at)
    assert ago(t, at) != ago(t, as_of), (t, as_of, at)


def test_edges_read_as_written_and_change_when_said() -> None:
    for before, words in EDGES:
        t = AS_OF - before
        assert ago(t, AS_OF) == words, before
        _check(t, AS_OF)


@settings(max_examples=300, deadline=None)
@given(
    before=st.integers(min_value=-3_600_000_000, max_value=90 * 86_400_000_000),
    step=st.integers(min_value=0, max_value=3 * 86_400_000_000),
)
def test_the_words_hold_until_the_time_it_returns(before: int, step: int) -> None:
    t = AS_OF - timedelta(microseconds=before)
    as_of = AS_OF + timedelta(microseconds=step)
    _check(t, as_of)
