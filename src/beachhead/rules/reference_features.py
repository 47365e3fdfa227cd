"""Event aggregates and account metrics of the oracle, over plain lists of activities.

``Activity`` is one track/page/screen message as evaluation sees it: the user it counts
for (after stitching) and the accounts it counts toward (attribution). The functions here
measure a list of them; ``reference.py`` decides which list (a user's, an account's).

Choices where definitions.md is silent (a RevOps user's reading):

- ``distinct_users`` and ``active_users`` count every user whose activity is attributed
  to the account, so a guest whose events carry the account's ``context.groupId`` counts
  although not a member (attribution says such activity "counts toward that account").
- ``distinct_values`` with ``within`` counts over those same active users; without it,
  over the account's members.
- ``sum``/``avg``/``min``/``max`` use the events whose property is a number (a boolean is
  not one); ``sum`` over none is 0, the others are missing.
- ``seats_used_pct`` is rounded half up on the exact quotient (``12.345`` -> ``12.35``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from beachhead.rules.durations import to_utc
from beachhead.rules.model import DECIMAL_DIGITS, Aggregate, Duration, EventCond, Metric, TraitRef
from beachhead.rules.reference_values import (
    MISSING,
    compare,
    is_number,
    lookup,
    lookup_dotted,
)


@dataclass(frozen=True)
class Activity:
    """One activity (track, page, screen) after identity and attribution."""

    user: str
    ts: datetime  # UTC
    event: str | None
    properties: Mapping[str, Any]
    accounts: frozenset[str]


def in_window(ts: datetime, within: Duration | None, as_of: datetime) -> bool:
    """``as_of - d < ts <= as_of`` (without a window: all history up to ``as_of``)."""
    end = to_utc(as_of)
    if ts > end:
        return False
    return within is None or end - within.delta < ts


def utc_day(ts: datetime) -> date:
    return to_utc(ts).date()


def event_value(
    cond: EventCond,
    activities: Iterable[Activity],
    as_of: datetime,
    members: set[str] | None = None,
) -> Any:
    """The aggregate an event condition compares (MISSING where the spec says missing).

    ``members``: an account's, for ``distinct_users`` ("members who did it": a guest's
    activity tagged with the account counts toward its events, not its users)."""
    hits = [
        a
        for a in activities
        if a.event == cond.event
        and in_window(a.ts, cond.within, as_of)
        and all(compare(lookup_dotted(a.properties, f.property), f.cmp, as_of) for f in cond.where)
    ]
    agg = cond.aggregate
    if agg is Aggregate.COUNT:
        return len(hits)
    if agg is Aggregate.DISTINCT_USERS:
        who = {a.user for a in hits}
        return len(who if members is None else who & members)
    if agg is Aggregate.DAYS_ACTIVE:
        return len({utc_day(a.ts) for a in hits})
    if agg is Aggregate.FIRST_SEEN:
        return min((a.ts for a in hits), default=MISSING)
    if agg is Aggregate.LAST_SEEN:
        return max((a.ts for a in hits), default=MISSING)
    assert cond.property is not None, "sum/avg/min/max need a property"
    numbers = [v for a in hits if is_number(v := lookup_dotted(a.properties, cond.property))]
    if agg is Aggregate.SUM:  # rounded as every engine rounds (model.DECIMAL_DIGITS)
        return round(sum(numbers), DECIMAL_DIGITS)
    if not numbers:
        return MISSING
    if agg is Aggregate.AVG:
        return round(sum(numbers) / len(numbers), DECIMAL_DIGITS)
    if agg is Aggregate.MIN:
        return min(numbers)
    return max(numbers)


def _distinct_key(value: Any) -> tuple[str, Any]:
    """Typed identity for distinct counting: 1 and 1.0 are one value, 1 and "1" and true three."""
    if isinstance(value, bool):
        return ("bool", value)
    if is_number(value):
        return ("num", float(value))
    if isinstance(value, str):
        return ("str", value)
    return ("json", repr(value))


def metric_value(
    metric: Metric,
    of: TraitRef | None,
    within: Duration | None,
    account_traits: Mapping[str, Any],
    members: set[str],
    activities: Iterable[Activity],
    user_traits: Mapping[str, Mapping[str, Any]],
    as_of: datetime,
) -> Any:
    """An account metric of one account, from its traits, members and attributed activity."""
    windowed = [a for a in activities if in_window(a.ts, within, as_of)]
    if metric is Metric.MEMBERS:
        return len(members)
    if metric is Metric.ACTIVE_USERS:  # members with activity (a guest is no member)
        return len({a.user for a in windowed} & members)
    if metric is Metric.DAYS_ACTIVE:
        return len({utc_day(a.ts) for a in windowed})
    if metric is Metric.SEATS_USED_PCT:
        seats = account_traits.get("seats")
        if isinstance(seats, bool) or not isinstance(seats, int | float) or seats <= 0:
            return MISSING
        exact = Fraction(len(members) * 100) / Fraction(seats)
        pct = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        return float(pct)
    if metric is Metric.DISTINCT_VALUES:
        assert of is not None, "distinct_values needs `of`"
        who = {a.user for a in windowed} & members if within is not None else members
        values = {
            _distinct_key(v)
            for u in who
            if (v := lookup(user_traits.get(u, {}), of.keys)) is not MISSING
        }
        return len(values)
    raise ValueError(f"unknown metric {metric}")  # pragma: no cover
