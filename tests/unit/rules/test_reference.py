"""The oracle's output shape: what the case corpus does not pin (Match fields, entity evals)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beachhead.ingest.message import MembershipRow, Message, TraitRow
from beachhead.rules.load import load_text
from beachhead.rules.model import Duration, Metric
from beachhead.rules.reference import evaluate
from beachhead.rules.reference_features import Activity, metric_value
from beachhead.rules.reference_values import MISSING

AS_OF = datetime(2026, 3, 10, tzinfo=UTC)
T = datetime(2026, 3, 5, tzinfo=UTC)

CONFIG = load_text(
    """
version: 1
scores:
  fit:
    level: account
    rules:
      - {points: 50, when: {trait: account.employees, gte: 100}}
    bands: {high: 50, medium: 20}
  usage:
    level: user
    rules:
      - {points: 10, when: {event: Report Created}}
stages:
  - {key: free, name: Free, when: {trait: account.plan, eq: free}}
pqls:
  - {key: pql, name: P, level: user, priority: 7, when: {event: Report Created}}
  - key: pqa
    name: A
    level: account
    priority: 3
    when: {metric: members, gte: 1}
    touch: [{level: low}]
""",
    "test.yml",
)


def msg(n: int, mtype: str, ts: datetime, **kw: object) -> Message:
    return Message(message_id=f"m{n}", type=mtype, ts=ts, received_at=ts, seq=n, **kw)  # type: ignore[arg-type]


MESSAGES = [
    msg(1, "group", T, user_id="u1", group_id="acme", traits={"plan": "free"}),
    msg(2, "track", T, user_id="u1", event="Report Created"),
    msg(3, "track", T, user_id="u2", event="Report Created"),
    msg(4, "track", AS_OF + timedelta(days=1), user_id="u3", event="Report Created"),
]
IMPORTS = [TraitRow("account", "acme", T, {"employees": 120}, "import", seq=10)]


def test_matches_carry_level_account_priority_touch() -> None:
    ev = evaluate(CONFIG, MESSAGES, IMPORTS, [], as_of=AS_OF)
    got = [(m.pql, m.level, m.entity_id, m.account_id, m.priority, m.touch) for m in ev.matches]
    assert got == [
        ("pqa", "account", "acme", "acme", 3, "low"),
        ("pql", "user", "u1", "acme", 7, "high"),
        ("pql", "user", "u2", None, 7, "high"),
    ]
    assert all(e.sentence for m in ev.matches for e in m.evidence)


def test_entity_evals_scores_and_stage() -> None:
    ev = evaluate(CONFIG, MESSAGES, IMPORTS, [], as_of=AS_OF)
    assert sorted(ev.users) == ["u1", "u2"]  # u3 only appears after as_of
    assert ev.users["u1"].scores["usage"].points == 10
    assert ev.users["u1"].scores["usage"].band is None
    assert "fit" not in ev.users["u1"].scores  # account scores live on accounts
    assert ev.accounts["acme"].scores["fit"].points == 50
    assert ev.accounts["acme"].scores["fit"].band == "high"
    assert ev.accounts["acme"].stage == "free"
    assert ev.users["u1"].stage is None
    assert ev.as_of == AS_OF


def test_import_membership_rows_are_inputs() -> None:
    members = [MembershipRow("u2", "acme", T, "import", seq=11)]
    ev = evaluate(CONFIG, MESSAGES, IMPORTS, members, as_of=AS_OF)
    by_entity = {m.entity_id: m.account_id for m in ev.matches if m.pql == "pql"}
    assert by_entity == {"u1": "acme", "u2": "acme"}


def test_unstaged_is_none() -> None:
    later = [msg(9, "group", T, user_id="u1", group_id="acme", traits={"plan": "team"})]
    ev = evaluate(CONFIG, MESSAGES + later, IMPORTS, [], as_of=AS_OF)
    assert ev.accounts["acme"].stage is None


def test_seats_used_pct_rounds_half_up_on_exact_value() -> None:
    def pct(members: int, seats: object) -> object:
        return metric_value(
            Metric.SEATS_USED_PCT, None, None, {"seats": seats},
            {f"u{i}" for i in range(members)}, [], {}, AS_OF,
        )  # fmt: skip

    assert pct(1, 800) == 0.13  # exactly 0.125: half up (round() would give 0.12)
    assert pct(5, 800) == 0.63  # exactly 0.625
    assert pct(1, 8000) == 0.01  # 0.0125
    assert pct(1, 3) == 33.33
    assert pct(2, 3) == 66.67
    assert pct(1, True) is MISSING
    assert pct(1, 0.0) is MISSING


def test_active_users_window_and_attribution() -> None:
    acts = [
        Activity("u1", AS_OF - timedelta(days=7), "X", {}, frozenset({"a"})),
        Activity("u2", AS_OF - timedelta(days=6), None, {}, frozenset({"a"})),
        Activity("u2", AS_OF - timedelta(days=1), "Y", {}, frozenset({"a"})),
    ]
    d7 = Duration(text="7d", delta=timedelta(days=7))
    value = metric_value(Metric.ACTIVE_USERS, None, d7, {}, {"u1", "u2"}, acts, {}, AS_OF)
    assert value == 1
    days = metric_value(Metric.DAYS_ACTIVE, None, None, {}, set(), acts, {}, AS_OF)
    assert days == 3
