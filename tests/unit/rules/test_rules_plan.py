"""The feature plan: one feature per distinct measure, shared by every leaf that reads it."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

from beachhead.rules.load import load_text
from beachhead.rules.model import (
    LEAF_TYPES,
    Aggregate,
    AllCond,
    Condition,
    EventCond,
    Leaf,
    Level,
    Metric,
    ScoreCond,
    TraitCond,
)
from beachhead.rules.plan import FeatureKind, plan

DOC = """
scores:
  usage:
    level: user
    rules:
      - {points: 10, when: {event: Report Created, within: 14d, count: {gte: 5}}}
      - {points: 5, when: {score: engagement, gte: 10}}
  engagement:
    level: account
    rules:
      - {points: 10, when: {metric: active_users, within: 7d, gte: 3}}
      - {points: 10, when: {event: Report Created, within: 14d, count: {gte: 20}}}
  total:
    level: user
    rules:
      - {points: 1, when: {score: usage, gte: 1}}
pqls:
  - key: a
    level: user
    when:
      all:
        - {event: Report Created, within: 2w, count: {gte: 9}}
        - {event: Report Created, within: 14d, days_active: {gte: 2}}
        - {event: Pricing, where: [{property: a, eq: 1}, {property: b, eq: 2}]}
        - {event: Pricing, where: [{property: b, eq: 2}, {property: a, eq: 1}], count: {gte: 3}}
        - {event: Pricing, where: [{property: a, eq: true}]}
        - {metric: active_users, within: 7d, gte: 5}
        - {trait: account.plan, eq: free}
    touch:
      - {level: high, when: {event: Report Created, within: 14d, count: {gte: 50}}}
stages:
  - {key: s, when: {metric: active_users, within: 7d, gte: 1}}
routing:
  - {when: {event: Upgrade Clicked, within: 1d}, team: t}
  - {team: t}
teams:
  - {key: t, reps: [{email: a@example.com}]}
"""


def test_features_are_deduplicated() -> None:
    cfg = load_text(DOC)
    p = plan(cfg)
    user = p.features_of(Level.USER)
    account = p.features_of(Level.ACCOUNT)
    # user: Report Created count 14d; days_active 14d; Pricing where a=1,b=2; Pricing a=true;
    # Upgrade Clicked (routing); account: active_users 7d; Report Created count 14d;
    # Upgrade Clicked (routing on an account qualification).
    assert len(user) == 5, user
    assert len(account) == 3, account
    assert [f.id for f in p.features] == [f"f{i}" for i in range(len(p.features))]
    counts = [f for f in user if f.event == "Report Created" and f.aggregate is Aggregate.COUNT]
    assert len(counts) == 1 and counts[0].within == timedelta(days=14)
    au = [f for f in account if f.metric is Metric.ACTIVE_USERS]
    assert len(au) == 1 and au[0].kind is FeatureKind.METRIC


def leaf(cond: Condition | None) -> Leaf:
    assert isinstance(cond, LEAF_TYPES)
    return cond


def test_every_leaf_maps_to_its_feature() -> None:
    cfg = load_text(DOC)
    p = plan(cfg)
    when = cfg.pql("a").when
    assert isinstance(when, AllCond)
    leaves = [leaf(c) for c in when.items]
    f0 = p.feature_for(leaves[0], Level.USER)
    assert f0 is not None and f0 == p.feature_for(leaf(cfg.pql("a").touch[0].when), Level.USER)
    score_leaf = cfg.score("usage").rules[0].when
    assert isinstance(score_leaf, EventCond)
    assert p.feature_for(score_leaf, Level.USER) is f0
    assert p.feature_for(leaves[2], Level.USER) is p.feature_for(leaves[3], Level.USER)
    assert p.feature_for(leaves[2], Level.USER) is not p.feature_for(leaves[4], Level.USER)
    # the same metric in a user PQL, an account score and a stage is one account feature
    assert p.feature_for(leaves[5], Level.USER) is p.feature_for(
        leaf(cfg.score("engagement").rules[0].when),
        Level.ACCOUNT,
    )
    assert isinstance(leaves[6], TraitCond) and p.feature_for(leaves[6], Level.USER) is None
    uses = [u for u in p.uses if u.owner == "pql:a"]
    assert [u.path for u in uses] == [f"when.all[{i}]" for i in range(7)] + ["touch[0].when"]
    routing = [u for u in p.uses if u.owner == "routing[0]"]
    assert {u.level for u in routing} == {Level.USER, Level.ACCOUNT}
    assert p.traits(Level.ACCOUNT) == frozenset({("plan",)})


def test_score_order_puts_dependencies_first() -> None:
    p = plan(load_text(DOC))
    order = list(p.score_order)
    assert sorted(order) == ["engagement", "total", "usage"]
    assert order.index("engagement") < order.index("usage") < order.index("total")


def test_template_plan() -> None:
    text = resources.files("beachhead.rules").joinpath("templates/beachhead.yml").read_text()
    cfg = load_text(text)
    p = plan(cfg)
    signatures = [f for f in p.features]
    assert len(signatures) == len(set(signatures))  # no two features mean the same thing
    for use in p.uses:
        if isinstance(use.leaf, TraitCond | ScoreCond):
            assert use.feature is None
        else:
            assert use.feature is not None and use.feature in p.features


def test_plan_is_kept_per_config_object() -> None:
    text = resources.files("beachhead.rules").joinpath("templates/beachhead.yml").read_text()
    cfg = load_text(text)
    other = cfg.model_copy(deep=True)
    assert other is not cfg and other == cfg
    assert plan(cfg) is plan(cfg)  # the same object: computed once
    # an equal config object of its own gets its own plan, equal in content
    assert plan(other) is not plan(cfg)
    assert plan(other).features == plan(cfg).features
    assert plan(other).uses == plan(cfg).uses
