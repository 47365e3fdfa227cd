"""Loading valid files: values, defaults, YAML 1.2 scalars, leaf paths, the template."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from beachhead.rules.load import ConfigError, load_config, load_text
from beachhead.rules.model import (
    DEFAULT_PLANS,
    Aggregate,
    AllCond,
    AnyCond,
    Assign,
    EventCond,
    Level,
    Metric,
    MetricCond,
    Motion,
    NoneCond,
    Op,
    ScoreCond,
    TimeRef,
    Touch,
    TraitCond,
    iter_leaves,
)

TEMPLATE = resources.files("beachhead.rules").joinpath("templates/beachhead.yml").read_text()

FULL = """
version: 1
plans: [free, pro, enterprise]
scores:
  fit:
    level: account
    rules:
      - {points: 30, when: {trait: account.employees, gte: 200}}
      - {points: -10, when: {trait: account.country, eq: NO}}
    bands: {high: 70, medium: 40}
  usage:
    level: user
    rules:
      - {points: 5, when: {score: fit, gte: 30}}
pqls:
  - key: ftp
    name: Free to paid
    motion: free_to_paid
    level: user
    priority: 10
    when:
      all:
        - {trait: account.plan, in: [free]}
        - any:
            - {event: Report Created, within: 14d, count: {gte: 5}}
            - {event: Pricing, where: [{property: path, starts_with: /pricing}]}
        - none:
            - {trait: user.created_at, before: 2026-01-01}
        - {event: Logged In, last_seen: {after: 2d ago}}
        - {metric: distinct_values, of: user.department, within: 30d, gte: 2}
        - {score: fit, band: {in: [high, medium]}}
    touch:
      - {level: high, when: {score: fit, band: {in: [high]}}}
      - {level: none}
    expires_after: 2w
    cooldown: 12h
stages:
  - {key: free, when: {trait: account.plan, eq: free}}
teams:
  - key: mm
    assign: least_loaded
    capacity: 3
    reps:
      - {email: ana@example.com, slack: U1}
      - {email: bo@example.com, weight: 2, away: true}
routing:
  - {when: {trait: user.department, in: [revops]}, team: mm}
  - {team: mm}
alerts:
  - on: qualified
    pqls: [ftp]
    touch: [high, low]
    slack: {webhook_url: "${SLACK_WEBHOOK_URL}"}
    bundle: 15m
  - {on: expired, webhook: {url: "http://127.0.0.1:9/h", secret: "${SECRET}"}}
"""


def test_full_file() -> None:
    cfg = load_text(FULL, "full.yml")
    assert cfg.plans == ("free", "pro", "enterprise")
    assert list(cfg.scores) == ["fit", "usage"]
    fit = cfg.score("fit")
    assert fit.level is Level.ACCOUNT and fit.bands is not None and fit.bands.high == 70
    assert fit.rules[1].points == -10
    no = fit.rules[1].when
    assert isinstance(no, TraitCond) and no.cmp.value == "NO"  # YAML 1.2: NO is a string
    p = cfg.pql("ftp")
    assert p.motion is Motion.FREE_TO_PAID and p.priority == 10 and p.level is Level.USER
    assert p.expires_after.delta == timedelta(weeks=2) and p.expires_after.text == "2w"
    assert p.cooldown.delta == timedelta(hours=12)
    assert [t.level for t in p.touch] == [Touch.HIGH, Touch.NONE]
    assert isinstance(p.when, AllCond)
    assert isinstance(p.when.items[1], AnyCond) and isinstance(p.when.items[2], NoneCond)
    leaves = iter_leaves(p.when)
    assert [leaf.path for leaf in leaves] == [
        "when.all[0]",
        "when.all[1].any[0]",
        "when.all[1].any[1]",
        "when.all[2].none[0]",
        "when.all[3]",
        "when.all[4]",
        "when.all[5]",
    ]
    before = leaves[3]
    assert isinstance(before, TraitCond) and isinstance(before.cmp.value, TimeRef)
    assert before.cmp.value.at == datetime(2026, 1, 1, tzinfo=UTC)  # unquoted date: a string
    seen = leaves[4]
    assert isinstance(seen, EventCond) and seen.aggregate is Aggregate.LAST_SEEN
    assert isinstance(seen.cmp.value, TimeRef) and seen.cmp.value.ago == timedelta(days=2)
    where = leaves[2]
    assert isinstance(where, EventCond) and where.where[0].cmp.op is Op.STARTS_WITH
    dv = leaves[5]
    assert isinstance(dv, MetricCond) and dv.metric is Metric.DISTINCT_VALUES
    assert dv.of is not None and dv.of.keys == ("department",)
    band = leaves[6]
    assert isinstance(band, ScoreCond) and band.on_band and band.cmp.value == ("high", "medium")
    assert p.touch[0].when is not None and p.touch[0].when.path == "touch[0].when"
    team = cfg.team("mm")
    assert team.assign is Assign.LEAST_LOADED and team.capacity == 3
    assert team.reps[1].weight == 2 and team.reps[1].away and team.reps[0].slack == "U1"
    assert cfg.routing[1].when is None and cfg.routing[1].team == "mm"
    a0, a1 = cfg.alerts
    assert a0.slack is not None and a0.slack.webhook_url == "${SLACK_WEBHOOK_URL}"  # unresolved
    assert a0.bundle is not None and a0.bundle.delta == timedelta(minutes=15)
    assert a0.touch == (Touch.HIGH, Touch.LOW) and a0.pqls == ("ftp",)
    assert a1.webhook is not None and a1.webhook.secret == "${SECRET}" and a1.pqls is None


def test_defaults() -> None:
    cfg = load_text("pqls:\n  - {key: a, level: account, when: {event: Signed Up}}\n")
    p = cfg.pqls[0]
    assert p.name == "a" and p.motion is Motion.CUSTOM and p.priority == 0 and p.touch == ()
    assert p.expires_after.delta == timedelta(days=30) and p.cooldown.delta == timedelta(days=30)
    assert isinstance(p.when, EventCond) and p.when.cmp.op is Op.GTE and p.when.cmp.value == 1
    assert cfg.plans == DEFAULT_PLANS and cfg.teams == () and cfg.routing == ()


def test_empty_file_is_an_empty_config() -> None:
    assert load_text("", "empty.yml").pqls == ()
    assert load_text("# only a comment\n").scores == {}


def test_typed_scalars() -> None:
    cfg = load_text(
        "pqls:\n"
        "  - key: a\n"
        "    level: user\n"
        "    when: {any: [{trait: user.beta, eq: true}, {trait: user.n, eq: '5'},"
        " {trait: user.m, in: [1, 2.5, 'x', false]}, {trait: user.on, eq: on}]}\n"
    )
    vals = [leaf.cmp.value for leaf in iter_leaves(cfg.pqls[0].when)]
    assert vals == [True, "5", (1, 2.5, "x", False), "on"]
    assert isinstance(vals[0], bool) and isinstance(vals[1], str)


def test_scores_may_refer_to_later_scores() -> None:
    cfg = load_text(
        "scores:\n"
        "  a: {level: user, rules: [{points: 1, when: {score: b, band: {eq: high}}}]}\n"
        "  b: {level: account, rules: [], bands: {high: 1}}\n"
    )
    assert set(cfg.scores) == {"a", "b"}


def test_every_error_is_reported_sorted() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("zz: 1\npqls:\n  - {key: A, level: x, when: {trait: nope, eq: 1}}\n", "f.yml")
    lines = [str(d) for d in info.value.diagnostics]
    assert len(lines) == 4
    assert lines[0] == (
        "f.yml:1:1: zz: unknown key 'zz'; expected one of: version, scores, pqls, stages, "
        "teams, routing, alerts, plans"
    )
    assert [(d.line, d.column) for d in info.value.diagnostics] == sorted(
        (d.line, d.column) for d in info.value.diagnostics
    )
    assert str(info.value) == "\n".join(lines)


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    f = tmp_path / "beachhead.yml"
    f.write_text("pqls:\n  - {key: a, level: user, when: {event: X, within: 3x}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert str(info.value.diagnostics[0]).startswith(f"{f}:2:52: pqls[0].when.within: ")
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.yml")


def test_template_loads_cleanly() -> None:
    cfg = load_text(TEMPLATE, "beachhead.yml")
    assert [p.motion for p in cfg.pqls] == [
        Motion.FREE_TO_PAID,
        Motion.SEAT_EXPANSION,
        Motion.ENTERPRISE_CONVERSION,
        Motion.ENTERPRISE_EXPANSION,
    ]
    assert [p.priority for p in cfg.pqls] == sorted(p.priority for p in cfg.pqls)
    assert {"fit", "usage"} <= set(cfg.scores)
    assert cfg.stages[0].key == "free" and cfg.stages[-1].key == "enterprise"


def test_template_examples_load_when_uncommented() -> None:
    """The commented teams/routing/alerts block is valid once its '# ' is removed."""
    start = TEMPLATE.index("# teams:")
    block = "\n".join(re.sub(r"^# ?", "", line) for line in TEMPLATE[start:].splitlines())
    cfg = load_text(TEMPLATE[:start] + block, "beachhead.yml")
    assert [t.key for t in cfg.teams] == ["self_serve", "mid_market", "enterprise"]
    assert cfg.routing[-1].team == "self_serve" and cfg.routing[-1].when is None
    assert len(cfg.alerts) == 2


def test_empty_sections_mean_none() -> None:
    cfg = load_text("version: 1\nteams:\n# - {key: t}\nrouting:\nalerts:\npqls:\n")
    assert cfg.teams == () and cfg.routing == () and cfg.alerts == () and cfg.pqls == ()


def test_anchors_merge_keys_and_x_keys() -> None:
    cfg = load_text(
        "x-user: &user {level: user, motion: free_to_paid}\n"
        "x-window: &hot {event: Pricing, within: 7d}\n"
        "pqls:\n"
        "  - {<<: *user, key: a, when: *hot}\n"
        "  - <<: *user\n"
        "    key: b\n"
        "    when: {all: [*hot, {trait: user.role, eq: admin}]}\n"
    )
    a, b = cfg.pqls
    assert a.level is Level.USER and b.motion is Motion.FREE_TO_PAID
    assert a.when == iter_leaves(b.when)[0]
    with pytest.raises(ConfigError, match=re.escape("pqls[0].bogus: unknown key 'bogus'")):
        load_text("x-u: &u {level: user}\npqls:\n  - {<<: *u, key: a, when: *u, bogus: 1}\n")


# YAML 1.2 core schema: the 1.1 number forms are strings; the core ones are numbers
CORE_SCALARS = [
    ("1_000", "1_000"),
    ("0b11", "0b11"),
    ("0x_1F", "0x_1F"),
    ("1_0.5", "1_0.5"),
    ("010", 10),
    ("0x1F", 31),
    ("0o17", 15),
    ("-2", -2),
    ("1.5", 1.5),
    ("1e3", 1000.0),
    ("NO", "NO"),
    ("2026-03-05", "2026-03-05"),
]


@pytest.mark.parametrize(("text", "value"), CORE_SCALARS)
def test_scalars_are_read_as_yaml_1_2(text: str, value: object) -> None:
    cfg = load_text(f"pqls:\n  - {{key: p, level: user, when: {{trait: user.x, eq: {text}}}}}\n")
    leaf = cfg.pql("p").when
    assert isinstance(leaf, TraitCond)
    assert leaf.cmp.value == value and type(leaf.cmp.value) is type(value)
