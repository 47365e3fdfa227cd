"""One readable sentence per leaf, with the numbers: the evidence a rep reads.

``sentence(leaf, value, held, as_of=None) -> str``

``value`` is what the evaluator saw for the leaf: the trait value, the feature value
(count, sum, ..., a datetime for first_seen/last_seen), the score points, or for a band
condition a ``ScoreValue`` (points and band) or the band name; ``None`` means missing.
``as_of`` lets times read as "21 days ago"; without it they are printed as ISO times.
The requirement is added in parentheses, worded from the comparison ("needs at least 5"),
except when an equality holds, where it would only repeat the value.

Examples: ``Did "Report Created" 7 times in the last 14 days (needs at least 5)``,
``Account plan is free``, ``Fit score is 72 (high; needs high)``,
``Last "Logged In" 21 days ago (needs before 14 days ago)``,
``Account employees is missing (needs at least 200)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from beachhead.rules.durations import format_delta, parse_iso_time, to_utc
from beachhead.rules.model import (
    NUMERIC_OPS,
    STRING_OPS,
    Aggregate,
    Comparison,
    Duration,
    EventCond,
    Leaf,
    Metric,
    MetricCond,
    Op,
    PropertyFilter,
    ScoreCond,
    TimeRef,
    TraitCond,
)
from beachhead.rules.result import ScoreValue


def fmt_value(value: Any) -> str:
    """A value as a person would write it: 3 not 3.0, true not True, ISO times."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return str(round(value, 2))
    if isinstance(value, datetime):
        dt = to_utc(value)
        if dt.hour == dt.minute == dt.second == 0 and dt.microsecond == 0:
            return dt.strftime("%Y-%m-%d")
        return dt.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _literal(value: Any) -> str:
    """A value a condition is written with: text that would read as a number, a boolean or
    nothing is quoted (``eq: "5"`` needs "5", not 5)."""
    if isinstance(value, str):
        bare = value.strip().lower()
        if bare in {"", "true", "false", "missing"}:
            return f'"{value}"'
        try:
            float(bare)
        except ValueError:
            return value
        return f'"{value}"'
    return fmt_value(value)


def _or_list(values: tuple[Any, ...], joiner: str = "or") -> str:
    items = [_literal(v) for v in values]
    if len(items) <= 2:
        return f" {joiner} ".join(items)
    return ", ".join(items[:-1]) + f" {joiner} " + items[-1]


def _time_ref(ref: TimeRef, as_of: datetime | None) -> str:
    if ref.ago is not None:
        return f"{format_delta(ref.ago)} ago"
    assert ref.at is not None
    return fmt_value(ref.at)


def requirement(cmp: Comparison, as_of: datetime | None = None) -> str:
    """What the comparison needs, as words: ``at least 5``, ``one of free or team``."""
    op, v = cmp.op, cmp.value
    numeric = isinstance(v, int | float) and not isinstance(v, bool)
    match op:
        case Op.EQ:
            return f"exactly {fmt_value(v)}" if numeric else _literal(v)
        case Op.NE:
            return f"not {_literal(v)}"
        case Op.GT:
            return f"more than {fmt_value(v)}"
        case Op.GTE:
            return f"at least {fmt_value(v)}"
        case Op.LT:
            return f"less than {fmt_value(v)}"
        case Op.LTE:
            return f"at most {fmt_value(v)}"
        case Op.BETWEEN:
            assert isinstance(v, tuple)
            return f"between {fmt_value(v[0])} and {fmt_value(v[1])}"
        case Op.IN:
            assert isinstance(v, tuple)
            if not v:
                return "a value in an empty list"
            return _literal(v[0]) if len(v) == 1 else f"one of {_or_list(v)}"
        case Op.NOT_IN:
            assert isinstance(v, tuple)
            return f"none of {_or_list(v, 'and')}" if len(v) != 1 else f"not {_literal(v[0])}"
        case Op.CONTAINS:
            return f"to contain {fmt_value(v)}"
        case Op.STARTS_WITH:
            return f"to start with {fmt_value(v)}"
        case Op.ENDS_WITH:
            return f"to end with {fmt_value(v)}"
        case Op.MATCHES:
            return f"to match /{v}/"
        case Op.EXISTS:
            return "a value" if v else "no value"
        case Op.BEFORE | Op.AFTER:
            assert isinstance(v, TimeRef)
            return f"{op.value} {_time_ref(v, as_of)}"
        case Op.WITHIN:
            assert isinstance(v, Duration)
            return f"within the last {format_delta(v.delta)}"
    raise AssertionError(op)  # pragma: no cover


def _needs(cmp: Comparison, held: bool, as_of: datetime | None, value: Any) -> str:
    """The parenthesised requirement; left out when an equality held (it would repeat)."""
    repeats = cmp.op is Op.EQ or (
        cmp.op is Op.IN and isinstance(cmp.value, tuple) and len(cmp.value) == 1
    )
    if held and repeats and value is not None:
        return ""
    return f" (needs {requirement(cmp, as_of)})"


def _window(within: Duration | None) -> str:
    return f" in the last {format_delta(within.delta)}" if within else ""


def _where(where: tuple[PropertyFilter, ...]) -> str:
    if not where:
        return ""
    parts = [f"{f.property} {_cmp_phrase(f.cmp)}" for f in where]
    return " where " + " and ".join(parts)


def _cmp_phrase(cmp: Comparison) -> str:
    if cmp.op is Op.EQ:
        return f"is {fmt_value(cmp.value)}"
    if cmp.op is Op.NE:
        return f"is not {fmt_value(cmp.value)}"
    if cmp.op is Op.EXISTS:
        return "is set" if cmp.value else "is missing"
    return f"is {requirement(cmp)}"


def _times(n: Any, one: str, many: str) -> str:
    if n is None:
        return f"missing {many}"
    return f"{fmt_value(n)} {one if n == 1 else many}"


def ago(value: Any, as_of: datetime | None) -> str:
    """``value`` (a time) said relative to ``as_of``: just now, N minutes/hours/days ago;
    ``at <time>`` without ``as_of``."""
    if isinstance(value, str):
        parsed = parse_iso_time(value)
        value = parsed if parsed is not None else value
    if isinstance(value, datetime) and as_of is not None:
        delta = to_utc(as_of) - to_utc(value)
        if delta < timedelta(minutes=1):
            return "just now"
        days = delta.days
        if days >= 1:
            return f"{days} day{'s' if days != 1 else ''} ago"
        hours = int(delta.total_seconds() // 3600)
        if hours >= 1:
            return f"{hours} hour{'s' if hours != 1 else ''} ago"
        minutes = int(delta.total_seconds() // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    return f"at {fmt_value(value)}"


def ago_changes(t: datetime, as_of: datetime) -> datetime:
    """The first time after ``as_of`` at which ``ago(t, ...)`` reads differently (its
    buckets: just now, minutes, hours, days); ``t`` and ``as_of`` in UTC."""
    delta = as_of - t
    if delta < timedelta(minutes=1):
        return t + timedelta(minutes=1)
    if delta.days >= 1:
        return t + timedelta(days=delta.days + 1)
    hours = int(delta.total_seconds() // 3600)
    if hours >= 1:
        return t + timedelta(hours=hours + 1)
    return t + timedelta(minutes=int(delta.total_seconds() // 60) + 1)


def _subject(scope: str, keys: tuple[str, ...]) -> str:
    return f"{scope.capitalize()} {'.'.join(keys)}"


def _trait_sentence(leaf: TraitCond, value: Any, held: bool, as_of: datetime | None) -> str:
    subject = _subject(str(leaf.trait.scope), leaf.trait.keys)
    cmp = leaf.cmp
    if cmp.op is Op.EXISTS:
        if value is None:
            return f"{subject} is missing" + ("" if not cmp.value else " (needs a value)")
        return f"{subject} is {fmt_value(value)}" + ("" if cmp.value else " (needs no value)")
    shown = fmt_value(value) if held else _typed(value, cmp)
    return f"{subject} is {shown}{_needs(cmp, held, as_of, value)}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "list"
    return "object" if isinstance(value, dict) else "value"


def _typed(value: Any, cmp: Comparison) -> str:
    """A value that failed its comparison, with its type named when the type is why:
    ``"5000" (text)`` for ``gte: 1000``, ``5 (a number)`` for ``eq: "5"``, where the bare
    value would read as if it should have held."""
    text = fmt_value(value)
    if value is None or isinstance(value, datetime):
        return text
    kind = _kind(value)
    if cmp.op in NUMERIC_OPS:
        wanted = {"number"}
    elif cmp.op in STRING_OPS:
        wanted = {"text", "list"} if cmp.op is Op.CONTAINS else {"text"}
    elif cmp.op in (Op.EQ, Op.NE, Op.IN, Op.NOT_IN):
        values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
        wanted = {_kind(v) for v in values}
        if cmp.op is Op.EQ and kind == "list":  # eq on a list never holds; say so
            wanted = set()
    else:
        return text
    if not wanted or kind in wanted:
        return text
    if kind == "text":
        return f'"{value}" (text)'
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{text} ({article} {kind})"


def _event_sentence(leaf: EventCond, value: Any, held: bool, as_of: datetime | None) -> str:
    name = f'"{leaf.event}"{_where(leaf.where)}'
    window = _window(leaf.within)
    needs = _needs(leaf.cmp, held, as_of, value) if leaf.cmp.op is not Op.EQ else ""
    if leaf.cmp.op is Op.EQ:
        needs = f" (needs {requirement(leaf.cmp, as_of)})"
    agg = leaf.aggregate
    if agg is Aggregate.COUNT:
        return f"Did {name} {_times(value, 'time', 'times')}{window}{needs}"
    if agg is Aggregate.DAYS_ACTIVE:
        return f"Did {name} on {_times(value, 'day', 'days')}{window}{needs}"
    if agg is Aggregate.DISTINCT_USERS:
        text = f"{_times(value, 'member', 'members')} did {name}{window}{needs}"
        return text[0].upper() + text[1:]
    if agg in (Aggregate.SUM, Aggregate.AVG, Aggregate.MIN, Aggregate.MAX):
        label = {
            Aggregate.SUM: "Total",
            Aggregate.AVG: "Average",
            Aggregate.MIN: "Lowest",
            Aggregate.MAX: "Highest",
        }[agg]
        shown = "missing (no such events)" if value is None else fmt_value(value)
        return f"{label} {leaf.property} of {name}{window} is {shown}{needs}"
    which = "First" if agg is Aggregate.FIRST_SEEN else "Last"
    if value is None:
        return f"Never did {name}{needs}"
    return f"{which} {name} {ago(value, as_of)}{needs}"


_METRIC_WORDS = {
    Metric.ACTIVE_USERS: ("active user", "active users"),
    Metric.MEMBERS: ("member", "members"),
}


def _metric_sentence(leaf: MetricCond, value: Any, held: bool, as_of: datetime | None) -> str:
    needs = _needs(leaf.cmp, held, as_of, value) if leaf.cmp.op is not Op.EQ else ""
    if leaf.cmp.op is Op.EQ:
        needs = f" (needs {requirement(leaf.cmp, as_of)})"
    window = _window(leaf.within)
    m = leaf.metric
    if m in _METRIC_WORDS:
        one, many = _METRIC_WORDS[m]
        return f"Account has {_times(value, one, many)}{window}{needs}"
    if m is Metric.SEATS_USED_PCT:
        shown = "missing (no seat count)" if value is None else f"{fmt_value(value)}%"
        return f"Account seats used is {shown}{needs}"
    if m is Metric.DAYS_ACTIVE:
        return f"Account was active on {_times(value, 'day', 'days')}{window}{needs}"
    assert leaf.of is not None
    trait = ".".join(leaf.of.keys)
    among = "members active" + window if leaf.within else "members"
    return f"Account has {_times(value, f'{trait} value', f'{trait} values')} among {among}{needs}"


def _score_sentence(leaf: ScoreCond, value: Any, held: bool, as_of: datetime | None) -> str:
    title = leaf.score.replace("_", " ").capitalize()
    points: Any = value
    band: Any = None
    if isinstance(value, ScoreValue):
        points, band = value.points, value.band
    elif leaf.on_band and isinstance(value, str):
        points, band = None, value
    if leaf.on_band:
        needs = f"needs {requirement(leaf.cmp, as_of)}"
        if points is None and band is None:
            return f"{title} score is missing ({needs})"
        if points is None:
            return f"{title} score is {band} ({needs})"
        return f"{title} score is {fmt_value(points)} ({band}; {needs})"
    needs = (
        f" (needs {requirement(leaf.cmp, as_of)})"
        if leaf.cmp.op is Op.EQ
        else _needs(leaf.cmp, held, as_of, points)
    )
    band_note = f" ({band})" if band else ""
    return f"{title} score is {fmt_value(points)}{band_note}{needs}"


def sentence(leaf: Leaf, value: Any, held: bool, as_of: datetime | None = None) -> str:
    """The evidence sentence for one leaf (see the module docstring)."""
    if isinstance(leaf, TraitCond):
        return _trait_sentence(leaf, value, held, as_of)
    if isinstance(leaf, EventCond):
        return _event_sentence(leaf, value, held, as_of)
    if isinstance(leaf, MetricCond):
        return _metric_sentence(leaf, value, held, as_of)
    return _score_sentence(leaf, value, held, as_of)
