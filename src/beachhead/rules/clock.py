"""How a set of definitions depends on the clock and on accounts (pure: no I/O).

An incremental evaluation (``engine/incremental.py``) re-evaluates only what can have
changed since the last ``as_of``. Besides new data, that is decided by the definitions:

- ``clock_of``: the windows an activity can leave as the clock moves (``within``, and
  ``N ago`` bounds of first_seen/last_seen), whether a trait or property is compared with
  a relative time (then anyone can change with the clock), and which PQLs' evidence
  sentences read the clock ("21 days ago");
- ``exits_of``: per level, which (event, window) exits can change a feature of it;
- ``account_reads``: what user-level conditions read of the primary account besides its
  traits (account scores, account features).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from beachhead.rules.model import (
    Aggregate,
    Condition,
    Config,
    Duration,
    EventCond,
    Leaf,
    Level,
    MetricCond,
    Op,
    ScoreCond,
    TimeRef,
    TraitCond,
    iter_leaves,
)
from beachhead.rules.plan import FeatureKind, plan


def conditions(config: Config) -> list[Condition]:
    """Every condition an Evaluation reads: scores, stages, PQL ``when`` and touch."""
    out: list[Condition] = [r.when for s in config.scores.values() for r in s.rules]
    out += [s.when for s in config.stages]
    for p in config.pqls:
        out.append(p.when)
        out += [t.when for t in p.touch if t.when is not None]
    return out


def _leaves(config: Config) -> list[Leaf]:
    return [leaf for cond in conditions(config) for leaf in iter_leaves(cond)]


def _is_clocked(op: Op, value: Any) -> bool:
    return op is Op.WITHIN or (isinstance(value, TimeRef) and value.ago is not None)


def _span(value: Any) -> timedelta | None:
    if isinstance(value, Duration):
        return value.delta
    if isinstance(value, TimeRef) and value.ago is not None:
        return value.ago
    return None


@dataclass(frozen=True)
class Clock:
    """How the definitions depend on the clock alone (no new data)."""

    windows: frozenset[timedelta]  # an activity leaving ``as_of - w`` can change a result
    unbounded: bool  # a trait/property compared with a relative time: anyone can change
    dated_pqls: frozenset[str]  # PQLs whose evidence sentences read ``as_of``


def clock_of(config: Config) -> Clock:
    windows: set[timedelta] = set()
    unbounded = False
    for leaf in _leaves(config):
        if isinstance(leaf, TraitCond):
            unbounded |= _is_clocked(leaf.cmp.op, leaf.cmp.value)
        elif isinstance(leaf, MetricCond):
            if leaf.within is not None:
                windows.add(leaf.within.delta)
        elif isinstance(leaf, EventCond):
            if leaf.within is not None:
                windows.add(leaf.within.delta)
            for f in leaf.where:
                unbounded |= _is_clocked(f.cmp.op, f.cmp.value)
            span = _span(leaf.cmp.value)
            if span is not None:
                if leaf.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN):
                    windows.add(span)
                else:  # pragma: no cover - the loader only allows times on first/last_seen
                    unbounded = True
    dated = frozenset(
        p.key
        for p in config.pqls
        if any(
            isinstance(leaf, EventCond)
            and leaf.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)
            for leaf in iter_leaves(p.when)
        )
    )
    return Clock(frozenset(windows), unbounded, dated)


Exit = tuple[str | None, timedelta]  # (event, or None for any activity; window)


@dataclass(frozen=True)
class Exits:
    """Per level, the (event, window) pairs whose activity leaving ``as_of - window`` can
    change a feature of that level (windows of features, ``N ago`` bounds of
    first_seen/last_seen leaves on them)."""

    user: frozenset[Exit]
    account: frozenset[Exit]


def exits_of(config: Config) -> Exits:
    p = plan(config)
    out: dict[Level, set[Exit]] = {Level.USER: set(), Level.ACCOUNT: set()}
    for f in p.features:
        if f.within is not None:
            out[f.level].add((f.event if f.kind is FeatureKind.EVENT else None, f.within))
    for use in p.uses:
        leaf, feat = use.leaf, use.feature
        if (
            isinstance(leaf, EventCond)
            and leaf.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)
            and feat is not None
        ):
            span = _span(leaf.cmp.value)
            if span is not None:
                out[feat.level].add((feat.event, span))
    exits = Exits(frozenset(out[Level.USER]), frozenset(out[Level.ACCOUNT]))
    if {w for _e, w in exits.user | exits.account} != set(clock_of(config).windows):
        # not the windows the clock knows (a shape this split does not know): any
        # activity leaving any window counts for both levels
        every = frozenset((None, w) for w in clock_of(config).windows)
        return Exits(every, every)
    return exits


@dataclass(frozen=True)
class AccountReads:
    """What user-level conditions read of the primary account besides its traits."""

    scores: frozenset[str]  # account scores
    features: bool  # account features (metrics, account event aggregates)
    scores_from_traits: bool  # every score in ``scores`` reads account traits only


def account_reads(config: Config) -> AccountReads:
    p = plan(config)
    conds: list[Condition] = [
        r.when for s in config.scores.values() if s.level is Level.USER for r in s.rules
    ]
    for q in config.pqls:
        if q.level is Level.USER:
            conds.append(q.when)
            conds += [t.when for t in q.touch if t.when is not None]
    scores: set[str] = set()
    features = False
    for leaf in (leaf for c in conds for leaf in iter_leaves(c)):
        if isinstance(leaf, ScoreCond):
            if config.score(leaf.score).level is Level.ACCOUNT:
                scores.add(leaf.score)
        elif isinstance(leaf, EventCond | MetricCond):
            feat = p.feature_for(leaf, Level.USER)
            features |= feat is None or feat.level is Level.ACCOUNT
    return AccountReads(
        frozenset(scores), features, all(_from_traits(config, k, set()) for k in scores)
    )


def _from_traits(config: Config, key: str, seen: set[str]) -> bool:
    """Does score ``key`` read traits (and such scores) only, no event or metric?"""
    if key in seen:  # pragma: no cover - the loader refuses score cycles
        return False
    seen.add(key)
    for rule in config.score(key).rules:
        for leaf in iter_leaves(rule.when):
            if isinstance(leaf, ScoreCond):
                if not _from_traits(config, leaf.score, seen):
                    return False
            elif not isinstance(leaf, TraitCond):
                return False
    return True
