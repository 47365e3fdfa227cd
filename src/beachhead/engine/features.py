"""The planned features of one level, computed over ONE read of the events.

Every plain event aggregate of a level (``rules/plan.py``: count, sum, avg, min, max,
first/last seen) becomes one filtered aggregate of a single ``group_by(key)``. Distinct
counts (distinct_users, days_active, active_users, distinct_values) are first grouped per
(key, user) or (key, day) with one "any row passed" flag per feature, then counted per key:
``count(DISTINCT ...) FILTER`` makes DuckDB fan the stream out once per distinct aggregate,
which was most of an evaluation's time (bench/evaluate.py). The events are read once per
level, however many conditions there are; ``where`` filters parse a row's JSON only when
the row is that event.

The activity stream (definitions.md, "Entities" and "Attribution"):

- visible: ``ts <= as_of``; activity only (track, page, screen);
- about the user of its raw id (``user_id`` else ``anonymous_id``), through the uploaded
  map of stitched ids;
- toward accounts: an activity with ``context_group_id`` counts for that account only;
  any other for every account its user is a member of at ``as_of``.

Missing values: over no events ``count``/``distinct_users``/``days_active``/``sum`` are 0
(``fill_zero``), the others NULL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from beachhead.engine.jsonpath import json_path
from beachhead.engine.snapshot import Uploaded
from beachhead.engine.values import Ctx, Value, compare, from_json
from beachhead.ingest.message import ACTIVITY_TYPES
from beachhead.rules.model import DECIMAL_DIGITS, Aggregate, Level, Metric
from beachhead.rules.plan import Feature, FeatureKind

ZERO_AGGREGATES = frozenset(
    {Aggregate.COUNT, Aggregate.DISTINCT_USERS, Aggregate.DAYS_ACTIVE, Aggregate.SUM}
)


def fill_zero(feature: Feature) -> bool:
    """Is this feature 0 (not missing) for an entity without any matching event?"""
    if feature.kind is FeatureKind.EVENT:
        return feature.aggregate in ZERO_AGGREGATES
    return feature.metric in (
        Metric.ACTIVE_USERS,
        Metric.DAYS_ACTIVE,
        Metric.MEMBERS,
        Metric.DISTINCT_VALUES,
    )


def property_value(props: ir.JSONValue, path: str) -> Value:
    return from_json(json_path(props, path.split(".")))


def prop_column(path: str) -> str:
    """The stream column holding the pre-extracted property ``path`` (``extract_props``)."""
    return "pp_" + hashlib.sha1(path.encode()).hexdigest()[:10]


def _prop(t: ir.Table, path: str) -> Value:
    name = prop_column(path)
    if name in t.columns:
        return from_json(t[name])
    return property_value(t.props, path)


def extract_props(stream: ir.Table, features: Sequence[Feature]) -> ir.Table:
    """Each property path the features read, extracted from the JSON once per row (and
    only on the rows of the events that read it), replacing ``props``: the features then
    read a small JSON value instead of parsing the whole properties per aggregate."""
    readers: dict[str, set[str]] = {}
    for f in features:
        if f.kind is not FeatureKind.EVENT or f.event is None:
            continue
        paths = [w.property for w in f.where]
        if f.property is not None:
            paths.append(f.property)
        for path in paths:
            readers.setdefault(path, set()).add(f.event)
    cols: dict[str, ir.Value] = {}
    for path, events in sorted(readers.items()):
        extracted = json_path(stream.props, path.split("."))
        cols[prop_column(path)] = stream.event.isin(sorted(events)).ifelse(
            extracted, ibis.null(extracted.type())
        )
    return stream.mutate(**cols).drop("props")


def _naive(dt: datetime) -> datetime:
    return dt.replace(tzinfo=None)


def activity(
    events: ir.Table, snap: Uploaded, ctx: Ctx, names: set[str] | None, props: bool = True
) -> ir.Table:
    """Visible activity with its stitched user: user, cgid, event, ts (and props if asked:
    carrying the JSON through the joins costs time when no feature reads it)."""
    ev = events.filter(
        events.ts <= ctx.ts_before(timedelta(0)), events.type.isin(sorted(ACTIVITY_TYPES))
    )
    if names is not None:
        ev = ev.filter(ev.event.isin(sorted(names)))
    extra = {"props": ev.properties} if props else {}
    # the raw id is named "who", not "raw": an incremental step copies the events columns
    # whose quoted names the compiled SQL holds (prepared.columns_read), and "raw" is also
    # the stored message, the widest column (10M events, a step after 1% of the accounts
    # acted: the copy of the touched users' 90k events took 0.30 s with it, 0.28 s without)
    ev = ev.select(
        who=ev.user_id.coalesce(ev.anonymous_id),
        cgid=ev.context_group_id,
        event=ev.event,
        ts=ev.ts,
        **extra,
    )
    rest = [c for c in ev.columns if c != "who"]
    if not snap.stitched:  # every raw id is its own user
        return ev.select(user=ev.who, **{c: ev[c] for c in rest})
    m = snap.map
    joined = ev.left_join(m, ev.who == m.raw_id)
    return joined.select(user=joined.map_user.coalesce(joined.who), **{c: joined[c] for c in rest})


def attributed(stream: ir.Table, snap: Uploaded) -> ir.Table:
    """The stream toward accounts: account, user, member, event, ts, props (a guest's cgid
    counts toward its account; ``member``: the user is a member of it at ``as_of``, which
    the counts of users (distinct_users, active_users, windowed distinct_values) need).

    One left join, no union: a row with ``cgid`` joins on NULL, matches no membership and
    keeps its cgid; any other row meets every account of its user (a member, then). A
    second left join, which only rows with ``cgid`` can match, says whether their user is
    a member of that account.
    """
    mem = snap.members
    keyed = stream.mutate(via_user=stream.cgid.isnull().ifelse(stream.user, ibis.null("string")))
    joined = keyed.left_join(mem, keyed.via_user == mem.m_user)
    out = joined.select(
        account=joined.cgid.coalesce(joined.m_account),
        tagged=joined.cgid,
        **{c: joined[c] for c in stream.columns if c != "cgid"},
    )
    out = out.filter(out.account.notnull())
    m2 = mem.view()
    j2 = out.left_join(m2, (out.tagged == m2.m_account) & (out.user == m2.m_user))
    return j2.select(
        member=j2.tagged.isnull() | j2.m_account.notnull(),
        **{c: j2[c] for c in out.columns if c != "tagged"},
    )


def _filters(t: ir.Table, feature: Feature, ctx: Ctx) -> ir.BooleanValue:
    """The event name, the window and every ``where`` of an event feature, ANDed.

    The ``where`` comparisons sit under ``CASE WHEN event = ...``, so the JSON of a row is
    parsed only when the row is that event (a bare AND is evaluated for every row)."""
    is_event: ir.BooleanValue = t.event == feature.event
    out = is_event
    window = _window(t.ts, feature, ctx)
    if window is not None:
        out = out & window
    if feature.where:
        where: ir.BooleanValue = ibis.literal(True)
        for f in feature.where:
            where = where & compare(_prop(t, f.property), f.cmp, ctx)
        out = out & is_event.ifelse(where, False)
    return out


def _window(ts: ir.TimestampValue, feature: Feature, ctx: Ctx) -> ir.BooleanValue | None:
    """``as_of - within < ts`` (``ts <= as_of`` holds for the whole stream), or None."""
    if feature.within is None:
        return None
    return ts > ctx.ts_before(feature.within)


def event_aggregate(t: ir.Table, feature: Feature, ctx: Ctx) -> ir.Value:
    """One filtered aggregate over the stream ``t`` (user, ts, event, props)."""
    cond = _filters(t, feature, ctx)
    agg = feature.aggregate
    if agg is Aggregate.COUNT:
        return t.ts.count(where=cond)
    if agg is Aggregate.DISTINCT_USERS:
        return t.user.nunique(where=cond)
    if agg is Aggregate.DAYS_ACTIVE:
        return t.ts.date().nunique(where=cond)
    if agg is Aggregate.FIRST_SEEN:
        return t.ts.min(where=cond)
    if agg is Aggregate.LAST_SEEN:
        return t.ts.max(where=cond)
    assert feature.property is not None
    parsed = _prop(t, feature.property).num
    assert parsed is not None
    num = (t.event == feature.event).ifelse(parsed, ibis.null("float64"))
    cond = cond & num.notnull()
    if agg is Aggregate.SUM:  # rounded as every engine rounds (model.DECIMAL_DIGITS)
        return num.sum(where=cond).round(DECIMAL_DIGITS)
    if agg is Aggregate.AVG:
        return num.mean(where=cond).round(DECIMAL_DIGITS)
    if agg is Aggregate.MIN:
        return num.min(where=cond)
    return num.max(where=cond)


def distinct_key(v: Value) -> ir.StringValue:
    """Typed identity of a trait value for distinct counting (1 == 1.0; 1, "1", true apart)."""
    assert v.flag is not None and v.num is not None and v.text is not None and v.raw is not None
    return ibis.cases(
        (v.flag.notnull(), "b:" + v.flag.cast("string")),
        (v.num.notnull(), "n:" + v.num.cast("string")),
        (v.text.notnull(), "s:" + v.text),
        (v.present, "j:" + v.raw.cast("string")),
        else_=ibis.null("string"),
    )


@dataclass(frozen=True)
class LevelFeatures:
    """A table ``key`` + one column per feature id, or None when there is nothing to do."""

    table: ir.Table | None
    features: tuple[Feature, ...]


def is_stream_metric(feature: Feature) -> bool:
    if feature.kind is not FeatureKind.METRIC:
        return False
    if feature.metric in (Metric.ACTIVE_USERS, Metric.DAYS_ACTIVE):
        return True
    return feature.metric is Metric.DISTINCT_VALUES and feature.within is not None


def needed_names(features: tuple[Feature, ...]) -> set[str] | None:
    """Event names the pass must read, or None when a metric needs every activity."""
    if any(is_stream_metric(f) for f in features):
        return None
    return {f.event for f in features if f.kind is FeatureKind.EVENT and f.event is not None}


def _per_user(f: Feature) -> bool:
    """Counted as distinct users (or their trait values): pre-aggregated per (key, user)."""
    if f.kind is FeatureKind.EVENT:
        return f.aggregate is Aggregate.DISTINCT_USERS
    return f.metric in (Metric.ACTIVE_USERS, Metric.DISTINCT_VALUES)


def _per_day(f: Feature) -> bool:
    """Counted as distinct UTC days: pre-aggregated per (key, day)."""
    if f.kind is FeatureKind.EVENT:
        return f.aggregate is Aggregate.DAYS_ACTIVE
    return f.metric is Metric.DAYS_ACTIVE


def _flags(t: ir.Table, features: list[Feature], ctx: Ctx) -> dict[str, ir.Value]:
    """Per group: did any row pass the feature's filters (its window, for a metric)?"""
    out: dict[str, ir.Value] = {}
    for f in features:
        cond = _filters(t, f, ctx) if f.kind is FeatureKind.EVENT else _window(t.ts, f, ctx)
        out[f"g_{f.id}"] = (t.ts.notnull() if cond is None else cond).any()
    return out


def _dv_keys(snap: Uploaded, dvs: list[Feature]) -> ir.Table:
    """The typed distinct key of each user's trait (computed once per user: small)."""
    u = snap.users
    traits = u.u_traits.cast("json")
    return u.select(
        dv_user=u.user_id,
        **{f"dv_{f.id}": distinct_key(from_json(json_path(traits, f.of or ()))) for f in dvs},
    )


def _with_dv_keys(per: ir.Table, snap: Uploaded, features: Sequence[Feature]) -> ir.Table:
    """``per`` (rows per (key, user)) with each distinct_values feature's ``dv_<id>``: the
    user's typed trait key, joined from the uploaded users."""
    dvs = [f for f in features if f.metric is Metric.DISTINCT_VALUES]
    if not dvs:
        return per
    keys = _dv_keys(snap, dvs)
    j = per.left_join(keys, per.user == keys.dv_user)
    return j.select(*per.columns, *(f"dv_{f.id}" for f in dvs))


# Plain aggregates that give the same value when computed per (key, user) first and then
# combined per key (exactly: counts add up, min/max of mins/maxes; float sums and averages
# would round differently, so they stay in their own pass).
_FOLDABLE = frozenset(
    {Aggregate.COUNT, Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN, Aggregate.MIN, Aggregate.MAX}
)


def _counted(per: ir.Table, f: Feature) -> ir.BooleanValue:
    """A (key, user) row that counts for the distinct-user feature ``f``: its flag held,
    and at the account level the user is a member (a guest's tagged activity counts
    toward the account's events and days, not toward its users)."""
    flag = per[f"g_{f.id}"]
    return flag & per.member if "member" in per.columns else flag


def _foldable(f: Feature) -> bool:
    return f.kind is FeatureKind.EVENT and f.aggregate in _FOLDABLE


def _combine(per: ir.Table, f: Feature) -> ir.Value:
    col = per[f"q_{f.id}"]
    if f.aggregate is Aggregate.COUNT:
        return col.sum().cast("int64")
    if f.aggregate in (Aggregate.MIN, Aggregate.FIRST_SEEN):
        return col.min()
    return col.max()


def _prefilter(t: ir.Table, features: list[Feature], ctx: Ctx) -> ir.BooleanValue | None:
    """A superset of the rows any of ``features`` reads (its event and window), or None.

    Every aggregate of a part is filtered by its own condition, so dropping the rows that
    no feature of the part can read changes nothing but the work (a distinct-days pass
    over one event in a 30-day window reads a fraction of the stream)."""
    widest: dict[str | None, timedelta | None] = {}
    for f in features:
        event = f.event if f.kind is FeatureKind.EVENT else None
        if event in widest and widest[event] is None:
            continue
        if f.within is None:
            widest[event] = None
        else:
            prev = widest.get(event, timedelta(0))
            widest[event] = max(prev, f.within) if prev is not None else None
    if widest.get(None, timedelta(0)) is None:
        return None  # a metric over every activity, at any time
    out: ir.BooleanValue | None = None
    for event, within in sorted(widest.items(), key=lambda kv: kv[0] or ""):
        term: ir.BooleanValue | None = None if event is None else t.event == event
        if within is not None:
            w = t.ts > ctx.ts_before(within)
            term = w if term is None else term & w
        assert term is not None
        out = term if out is None else out | term
    return out


def _filtered(t: ir.Table, features: list[Feature], ctx: Ctx) -> ir.Table:
    pre = _prefilter(t, features, ctx)
    return t if pre is None else t.filter(pre)


def compute(
    level: Level, features: tuple[Feature, ...], events: ir.Table, snap: Uploaded, ctx: Ctx
) -> ir.Table | None:
    """The stream features of ``level``: ``key`` + one column per feature.

    Plain aggregates (count, sum, ..., first/last seen) are one grouped pass over the
    stream. Distinct counts are not ``count(DISTINCT ...) FILTER`` over the stream (DuckDB
    fans the stream out once per distinct aggregate: most of the time at 10M events):
    the stream is first grouped by (key, user) and by (key, day) with one "any row passed"
    flag per feature, and the flags are counted per key. When there is a (key, user) pass,
    the exact plain aggregates (counts, min/max, first/last seen) ride along in it and are
    combined per key, so the stream is grouped once less. Each pass reads only the rows
    its features can read (``_prefilter``). The parts are full-outer-joined on key (a
    part may lack keys whose rows it filtered out: NULL, then 0 where that is the value).
    """
    mine = stream_features(features)
    if not mine:
        return None
    reads_props = any(f.where or f.property for f in mine)
    stream = activity(events, snap, ctx, needed_names(mine), reads_props)
    if reads_props:
        stream = extract_props(stream, mine)
    if level is Level.ACCOUNT:
        stream = attributed(stream, snap)
        stream = stream.mutate(key=stream.account)
    else:
        stream = stream.mutate(key=stream.user)
    users = [f for f in mine if _per_user(f)]
    days = [f for f in mine if _per_day(f)]
    plain = [f for f in mine if not _per_user(f) and not _per_day(f)]
    folded = [f for f in plain if _foldable(f)] if users else []
    plain = [f for f in plain if f not in folded]
    parts: list[ir.Table] = []
    if plain:
        t = _filtered(stream, plain, ctx)
        aggs = {f.id: event_aggregate(t, f, ctx) for f in plain}
        parts.append(t.group_by("key").aggregate(**aggs))
    if users:
        t = _filtered(stream, users + folded, ctx)
        per_aggs = _flags(t, users, ctx)
        per_aggs.update({f"q_{f.id}": event_aggregate(t, f, ctx) for f in folded})
        if "member" in t.columns:  # the account level: only members are counted
            per_aggs["member"] = t.member.any()
        per = _with_dv_keys(t.group_by("key", "user").aggregate(**per_aggs), snap, users)
        counts: dict[str, ir.Value] = {
            f.id: (
                per[f"dv_{f.id}"].nunique(where=_counted(per, f))
                if f.metric is Metric.DISTINCT_VALUES
                else per.user.count(where=_counted(per, f))
            )
            for f in users
        }
        counts.update({f.id: _combine(per, f) for f in folded})
        parts.append(per.group_by("key").aggregate(**counts))
    if days:
        t = _filtered(stream, days, ctx)
        by_day = t.mutate(day=t.ts.date())
        per = by_day.group_by("key", "day").aggregate(**_flags(by_day, days, ctx))
        counts = {f.id: per.day.count(where=per[f"g_{f.id}"]) for f in days}
        parts.append(per.group_by("key").aggregate(**counts))
    out = parts[0]
    for part in parts[1:]:
        # the part's key renamed first: both sides derive from the same stream, and Ibis
        # must not resolve ``key`` of one to the other
        other = part.rename(part_key="key")
        j = out.outer_join(other, out.key == other.part_key)
        rest = [c for c in out.columns if c != "key"]
        out = j.select(
            *(j[c] for c in rest),
            *(j[c] for c in part.columns if c != "key"),
            key=j.key.coalesce(j.part_key),
        ).view()  # a computed key: the next join must not merge into this join chain
    return out


# --------------------------------------------------------------------------- pair partials
#
# The account level's stream features folded per (account, user) of the attributed stream
# (``engine/pairs.py`` keeps them between incremental steps). Each feature is one partial
# column of a pair row; an account's features are combined from its pairs only, equal to
# ``compute``'s: counts add up, min of mins / max of maxes (first/last seen, min, max), a
# distinct-user count counts the pairs whose flag holds, a windowed distinct_values counts
# the distinct keys of the flagged pairs (the key is the user's, carried in the pair), and
# a distinct-days count is the length of the union of the pairs' day lists.


def pair_foldable(f: Feature) -> bool:
    """Can ``f`` (an account stream feature) be combined exactly from pair partials?"""
    if f.kind is FeatureKind.EVENT:
        return f.aggregate is not None and (f.aggregate in _FOLDABLE or _per_user(f) or _per_day(f))
    return is_stream_metric(f)


def stream_features(features: Sequence[Feature]) -> tuple[Feature, ...]:
    """The features ``compute`` measures on the stream (the rest are member metrics)."""
    return tuple(f for f in features if f.kind is FeatureKind.EVENT or is_stream_metric(f))


def pair_partials(
    features: Sequence[Feature], events: ir.Table, snap: Uploaded, ctx: Ctx
) -> ir.Table:
    """One row per (account, user) of the attributed stream: ``account``, ``user`` and
    each feature's partial (``q_<id>`` value, ``g_<id>`` any-row flag and ``dv_<id>``
    the user's distinct key, ``d_<id>`` the distinct UTC days that passed)."""
    mine = stream_features(features)
    assert all(pair_foldable(f) for f in mine)
    reads_props = any(f.where or f.property for f in mine)
    stream = activity(events, snap, ctx, needed_names(mine), reads_props)
    if reads_props:
        stream = extract_props(stream, mine)
    t = attributed(stream, snap)
    aggs: dict[str, ir.Value] = {}
    for f in mine:
        if _per_user(f):
            aggs.update(_flags(t, [f], ctx))
        elif _per_day(f):
            cond = _filters(t, f, ctx) if f.kind is FeatureKind.EVENT else _window(t.ts, f, ctx)
            aggs[f"d_{f.id}"] = t.ts.date().collect(where=cond, distinct=True)
        else:
            aggs[f"q_{f.id}"] = event_aggregate(t, f, ctx)
    aggs["member"] = t.member.any()  # constant per pair; every pair has one
    return _with_dv_keys(t.group_by("account", "user").aggregate(**aggs), snap, mine)


def pair_features(features: Sequence[Feature], pairs: ir.Table) -> ir.Table | None:
    """``key`` (the account) + one column per stream feature, combined from ``pairs``
    (``pair_partials``' rows), or None when there is no stream feature."""
    mine = stream_features(features)
    if not mine:
        return None
    aggs: dict[str, ir.Value] = {}
    for f in mine:
        if f.metric is Metric.DISTINCT_VALUES:
            aggs[f.id] = pairs[f"dv_{f.id}"].nunique(where=_counted(pairs, f))
        elif _per_user(f):
            aggs[f.id] = pairs.user.count(where=_counted(pairs, f))
        elif _per_day(f):
            aggs[f.id] = pairs[f"d_{f.id}"].collect().flatten().unique().length()
        else:
            aggs[f.id] = _combine(pairs, f)
    return pairs.group_by(key=pairs.account).aggregate(**aggs)
