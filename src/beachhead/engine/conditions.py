"""Conditions -> Ibis boolean expressions over one level's wide entity table.

A ``Scope`` is what a condition can read for one entity of a level: the user's traits
(user level only), the account's traits (the account itself, or the user's primary
account, joined in with the ``a__`` prefix), the planned feature columns and the score
columns. Every leaf becomes ``values.compare(value, cmp)``, which is never NULL, so
``all``/``any``/``none`` are plain AND/OR/NOT (``all: []`` holds, ``any: []`` does not).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir

from beachhead.engine.features import json_path
from beachhead.engine.values import (
    FALSE,
    TRUE,
    Ctx,
    Value,
    compare,
    from_json,
    from_number,
    from_text,
    from_time,
)
from beachhead.rules.model import (
    AllCond,
    AnyCond,
    Condition,
    Config,
    EventCond,
    Leaf,
    Level,
    MetricCond,
    NoneCond,
    ScoreCond,
    TraitCond,
)
from beachhead.rules.plan import Plan

ACCOUNT_PREFIX = "a__"


def score_column(config: Config, key: str) -> str:
    return f"s{list(config.scores).index(key)}"


def band_column(config: Config, key: str) -> str:
    return f"b{list(config.scores).index(key)}"


@dataclass(frozen=True)
class Scope:
    """The columns of one level's wide table that conditions read."""

    level: Level
    table: ir.Table
    plan: Plan
    config: Config
    ctx: Ctx

    def _account_col(self, name: str) -> ir.Column:
        if self.level is Level.ACCOUNT:
            return self.table[name]
        return self.table[ACCOUNT_PREFIX + name]

    @property
    def has_account(self) -> ir.BooleanValue:
        return self._account_col("account_id").notnull()

    def trait(self, leaf: TraitCond) -> Value:
        if leaf.trait.scope is Level.USER:
            if self.level is not Level.USER:
                return Value(present=FALSE)
            traits = self.table["u_traits"].cast("json")
        else:
            traits = self._account_col("a_traits").cast("json")
        return from_json(json_path(traits, leaf.trait.keys))

    def feature(self, leaf: EventCond | MetricCond) -> Value:
        feat = self.plan.feature_for(leaf, self.level)
        if feat is None:
            raise LookupError(f"no planned feature for {leaf!r} at {self.level}")
        col = self.table[feat.id] if feat.level is self.level else self._account_col(feat.id)
        if feat.is_time:
            return from_time(col)
        return from_number(col)

    def score(self, leaf: ScoreCond) -> Value:
        score = self.config.score(leaf.score)
        if score.level is Level.USER and self.level is not Level.USER:
            return Value(present=FALSE)
        name = (
            band_column(self.config, leaf.score)
            if leaf.on_band
            else score_column(self.config, leaf.score)
        )
        if score.level is self.level:
            col = self.table[name]
            present: ir.BooleanValue = TRUE
        else:
            col = self._account_col(name)
            present = self.has_account
        if leaf.on_band:
            return from_text(col) if score.bands is not None else Value(present=FALSE)
        v = from_number(col)
        return Value(present=present & v.present, num=v.num)

    def value(self, leaf: Leaf) -> Value:
        if isinstance(leaf, TraitCond):
            return self.trait(leaf)
        if isinstance(leaf, EventCond | MetricCond):
            return self.feature(leaf)
        return self.score(leaf)

    def leaf(self, leaf: Leaf) -> ir.BooleanValue:
        return compare(self.value(leaf), leaf.cmp, self.ctx)

    def holds(self, cond: Condition) -> ir.BooleanValue:
        if isinstance(cond, AllCond):
            out: ir.BooleanValue = TRUE
            for c in cond.items:
                out = out & self.holds(c)
            return out
        if isinstance(cond, AnyCond | NoneCond):
            any_: ir.BooleanValue = FALSE
            for c in cond.items:
                any_ = any_ | self.holds(c)
            return ~any_ if isinstance(cond, NoneCond) else any_
        return self.leaf(cond)
