"""Definitions -> the distinct features they need, deduplicated, and the score order.

A **feature** is one number (or time) per entity that only the events can give: an event
aggregate (count, sum, ..., first_seen, last_seen over one event name, window and ``where``
filter) or an account metric (active_users, members, ...). Traits and scores are not
features: traits come from the identity snapshot and scores are computed from leaves.

``plan(config) -> Plan``:

- ``Plan.features``: every distinct ``Feature``, ids ``f0, f1, ...`` in order of first use
  (scores, then pqls, stages, routing), so the ids are stable for a given file.
- ``Plan.features_of(level)``: the features of one level, which the engine computes in one
  pass over the events: ``user`` features are over a user's own activity; ``account``
  features over the activity attributed to the account (and metrics over its members).
- ``Plan.uses``: every leaf where it is used (``LeafUse(owner, level, path, leaf, feature)``;
  ``owner`` is ``score:fit``, ``pql:free_to_paid``, ``stage:team`` or ``routing[2]``).
  Routing rules are evaluated on the qualification's entity, so each routing leaf appears
  once per level.
- ``Plan.feature_for(leaf, level)``: the feature a leaf reads (None for trait/score leaves).
  Leaves that mean the same thing share one feature wherever they are written.
- ``Plan.score_order``: score keys, every score after the scores its rules refer to.

Feature values, over the events with ``as_of - within < ts <= as_of`` (all history up to
``as_of`` without ``within``) that pass every ``where``: count, distinct_users, days_active
and sum are 0 over no events; avg/min/max/first_seen/last_seen are missing (None).
Metrics: see definitions.md.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from beachhead.rules.memo import ByObject
from beachhead.rules.model import (
    Aggregate,
    Condition,
    Config,
    EventCond,
    Leaf,
    Level,
    Metric,
    MetricCond,
    PropertyFilter,
    TraitCond,
    iter_leaves,
)


class FeatureKind(StrEnum):
    EVENT = "event"
    METRIC = "metric"


@dataclass(frozen=True)
class Feature:
    """One computed column. ``id`` is not part of equality (``signature`` is)."""

    id: str = field(compare=False)
    level: Level
    kind: FeatureKind
    event: str | None = None
    within: timedelta | None = None
    where: tuple[PropertyFilter, ...] = ()
    aggregate: Aggregate | None = None
    property: str | None = None
    metric: Metric | None = None
    of: tuple[str, ...] | None = None  # user trait keys for distinct_values

    @builtins.property  # the ``property`` field shadows the builtin in this class body
    def is_time(self) -> bool:
        """first_seen/last_seen: the value is a datetime, not a number."""
        return self.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)


@dataclass(frozen=True)
class LeafUse:
    owner: str
    level: Level
    path: str
    leaf: Leaf
    feature: Feature | None


@dataclass(frozen=True)
class Plan:
    features: tuple[Feature, ...]
    uses: tuple[LeafUse, ...]
    score_order: tuple[str, ...]
    _by_leaf: dict[tuple[Leaf, Level], Feature] = field(repr=False, compare=False)

    def features_of(self, level: Level) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.level is level)

    def feature_for(self, leaf: Leaf, level: Level) -> Feature | None:
        """The feature ``leaf`` reads when evaluated in a ``level`` definition."""
        if isinstance(leaf, MetricCond):
            level = Level.ACCOUNT
        return self._by_leaf.get((leaf, level))

    def traits(self, scope: Level) -> frozenset[tuple[str, ...]]:
        """Every trait path of ``scope`` that some leaf reads (for loading only what's needed)."""
        return frozenset(
            u.leaf.trait.keys
            for u in self.uses
            if isinstance(u.leaf, TraitCond) and u.leaf.trait.scope is scope
        )


def _where_key(f: PropertyFilter) -> str:
    return repr(f._ident())


def feature_of_leaf(leaf: Leaf, level: Level) -> Feature | None:
    """The feature (with an empty id) a leaf needs in a ``level`` definition."""
    if isinstance(leaf, EventCond):
        return Feature(
            id="",
            level=level,
            kind=FeatureKind.EVENT,
            event=leaf.event,
            within=leaf.within.delta if leaf.within else None,
            where=tuple(sorted(leaf.where, key=_where_key)),
            aggregate=leaf.aggregate,
            property=leaf.property,
        )
    if isinstance(leaf, MetricCond):
        return Feature(
            id="",
            level=Level.ACCOUNT,
            kind=FeatureKind.METRIC,
            within=leaf.within.delta if leaf.within else None,
            metric=leaf.metric,
            of=leaf.of.keys if leaf.of else None,
        )
    return None


def _owners(config: Config) -> Iterable[tuple[str, Level, Condition]]:
    for key, score in config.scores.items():
        for rule in score.rules:
            yield f"score:{key}", score.level, rule.when
    for pql in config.pqls:
        yield f"pql:{pql.key}", pql.level, pql.when
        for t in pql.touch:
            if t.when is not None:
                yield f"pql:{pql.key}", pql.level, t.when
    for stage in config.stages:
        yield f"stage:{stage.key}", Level.ACCOUNT, stage.when
    for i, route in enumerate(config.routing):
        if route.when is not None:
            yield f"routing[{i}]", Level.USER, route.when
            yield f"routing[{i}]", Level.ACCOUNT, route.when


def score_order(config: Config) -> tuple[str, ...]:
    """Scores in dependency order; ties keep the file's order (the loader rejects cycles)."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(key: str, stack: frozenset[str]) -> None:
        if key in seen or key in stack or key not in config.scores:
            return
        for dep in sorted(config.scores[key].score_refs(), key=list(config.scores).index):
            visit(dep, stack | {key})
        seen.add(key)
        done.append(key)

    for key in config.scores:
        visit(key, frozenset())
    return tuple(done)


_PLANS: ByObject[Plan] = ByObject(16)


def plan(config: Config) -> Plan:
    """The distinct features of ``config`` and where each leaf reads them.

    Kept per ``Config`` object (``rules/memo.py``; models are frozen, so a plan never goes
    stale): an incremental step asks for the plan of the same definitions from half a
    dozen places, ~1.4 ms each time."""
    return _PLANS.get_or_make(config, lambda: _plan(config))


def _plan(config: Config) -> Plan:
    features: dict[Feature, Feature] = {}  # signature -> feature with its id
    by_leaf: dict[tuple[Leaf, Level], Feature] = {}
    uses: list[LeafUse] = []
    for owner, level, cond in _owners(config):
        for leaf in iter_leaves(cond):
            proto = feature_of_leaf(leaf, level)
            feat = None
            if proto is not None:
                feat = features.get(proto)
                if feat is None:
                    feat = Feature(**{**proto.__dict__, "id": f"f{len(features)}"})
                    features[proto] = feat
                by_leaf[(leaf, proto.level)] = feat
                if isinstance(leaf, EventCond):
                    by_leaf[(leaf, level)] = feat
            uses.append(LeafUse(owner=owner, level=level, path=leaf.path, leaf=leaf, feature=feat))
    return Plan(
        features=tuple(features.values()),
        uses=tuple(uses),
        score_order=score_order(config),
        _by_leaf=by_leaf,
    )
