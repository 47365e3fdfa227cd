"""The lifecycle, pure: hand-built Evaluations in, decisions out (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from beachhead.qualify import lifecycle as lc
from beachhead.qualify.routing import RouteFacts
from beachhead.rules.load import load_text
from beachhead.rules.model import Config, Level
from beachhead.rules.result import EntityEval, Evaluation, Match

CONFIG = """
pqls:
  - key: ftp
    name: Free to paid
    level: user
    priority: 10
    when: {event: Report Created, count: {gte: 2}}
    expires_after: 5d
    cooldown: 3d
  - key: big
    name: Big account
    level: account
    priority: 20
    when: {trait: account.employees, gte: 1000}
stages:
  - {key: free, name: Free, when: {trait: account.plan, in: [free]}}
  - {key: team, name: Team, when: {trait: account.plan, in: [team]}}
teams:
  - key: t
    reps: [{email: a@x.com}, {email: b@x.com}]
    capacity: 1
routing:
  - {team: t}
"""
D0 = datetime(2026, 3, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return D0 + timedelta(days=n)


@pytest.fixture
def config() -> Config:
    return load_text(CONFIG)


def evaluation(
    as_of: datetime, matches: list[tuple[str, str, str]], stages: dict[str, str | None]
) -> Evaluation:
    out = Evaluation(as_of=as_of, accounts={a: EntityEval(a, stage=s) for a, s in stages.items()})
    for pql, entity, account in matches:
        level = "account" if pql == "big" else "user"
        prio = 20 if pql == "big" else 10
        out.matches.append(Match(pql, level, entity, account, prio, "high", []))
    out.sort()
    return out


def facts(m: Match) -> RouteFacts:
    return RouteFacts(level=Level(m.level), as_of=D0)


def accounts(
    stages: dict[str, str | None], plans: dict[str, str] | None = None
) -> dict[str, lc.AccountNow]:
    plans = plans or {}
    return {a: lc.AccountNow(stage=s, plan=plans.get(a, s)) for a, s in stages.items()}


def step(
    config: Config,
    prior: lc.Prior,
    as_of: datetime,
    matches: list[tuple[str, str, str]],
    stages: dict[str, str | None],
    plans: dict[str, str] | None = None,
) -> tuple[lc.StepResult, lc.Prior]:
    result = lc.evaluate_step(
        config, prior, evaluation(as_of, matches, stages), accounts(stages, plans), facts
    )
    return result, lc.advance(prior, result)


def test_creates_with_evidence_routes_and_records_why(config: Config) -> None:
    result, _ = step(config, lc.Prior(), day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    [q] = result.created
    assert (q.status, q.team, q.rep, q.qualified_at) == ("assigned", "t", "a@x.com", day(0))
    assert (q.plan_at_qualification, q.stage_at_qualification) == ("free", "free")
    assert [c.status_to for c in result.changes] == ["new", "assigned"]
    assert "routing[0]" in result.changes[1].rule
    assert [a.type for a in result.alerts] == ["qualified", "assigned"]


def test_same_as_of_is_idempotent(config: Config) -> None:
    first, prior = step(config, lc.Prior(), day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    again, _ = step(config, prior, day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    assert len(first.created) == 1
    assert again.created == [] and again.changes == [] and again.alerts == []
    assert [q.id for q in again.open_after] == [first.created[0].id]


def test_going_back_is_an_error(config: Config) -> None:
    _, prior = step(config, lc.Prior(), day(3), [], {})
    with pytest.raises(lc.GoingBack, match="before the latest recorded evaluation"):
        step(config, prior, day(2), [], {})


def test_sticky_then_expiry_at_the_first_evaluation_past_expires_after(config: Config) -> None:
    _, prior = step(config, lc.Prior(), day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    r4, prior = step(config, prior, day(4), [], {"acme": "free"})  # no longer holds: sticky
    assert [q.status for q in r4.open_after] == ["assigned"]
    r6, prior = step(config, prior, day(6), [], {"acme": "free"})  # first evaluation >= day 5
    [q] = r6.updated
    assert (q.status, q.closed_at) == ("expired", day(6))
    assert [a.type for a in r6.alerts] == ["expired"]
    assert r6.open_after == []


def test_working_does_not_expire(config: Config) -> None:
    _, prior = step(config, lc.Prior(), day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    q = prior.open[0]
    lc.start_working(q, "a@x.com", day(1))
    r9, _ = step(config, prior, day(9), [], {"acme": "free"})
    assert [q.status for q in r9.open_after] == ["working"]


def test_cooldown_blocks_then_allows(config: Config) -> None:
    m = [("ftp", "u1", "acme")]
    _, prior = step(config, lc.Prior(), day(0), m, {"acme": "free"})
    r5, prior = step(config, prior, day(5), m, {"acme": "free"})  # expires at day 5
    assert [q.status for q in r5.updated] == ["expired"] and r5.created == []
    r7, prior = step(config, prior, day(7), m, {"acme": "free"})  # 7 < 5 + 3
    assert r7.created == []
    r8, _ = step(config, prior, day(8), m, {"acme": "free"})
    assert [q.qualified_at for q in r8.created] == [day(8)]


def test_the_queue_drains_the_highest_priority_first(config: Config) -> None:
    """Both reps full; a free user's PQL (priority 10) waits, then an account's (20);
    when one slot opens the account's goes first, though it waited less."""
    stages = {"acme": "free", "acme2": "free", "zeta": "free", "beta": "free"}
    m = [("ftp", "u1", "acme"), ("big", "zeta", "zeta")]
    _, prior = step(config, lc.Prior(), day(0), m, stages)
    m.append(("ftp", "u2", "acme2"))
    _, prior = step(config, prior, day(1), m, stages)
    m.append(("big", "beta", "beta"))
    r2, prior = step(config, prior, day(2), m, stages)
    waiting = sorted((q.entity_id, q.status, q.rep) for q in r2.open_after if q.rep is None)
    assert waiting == [("beta", "new", None), ("u2", "new", None)]
    r3, _ = step(config, prior, day(3), m, {**stages, "acme": "team"})  # u1 converts
    reps = {q.entity_id: q.rep for q in r3.open_after}
    assert reps["beta"] == "b@x.com" and reps["u2"] is None  # b held u1


def test_zero_cooldown_allows_the_next_evaluation_only(config: Config) -> None:
    zero = load_text(CONFIG.replace("cooldown: 3d", "cooldown: 0d"))
    m = [("ftp", "u1", "acme")]
    _, prior = step(zero, lc.Prior(), day(0), m, {"acme": "free"})
    r5, prior = step(zero, prior, day(5), m, {"acme": "free"})  # expires at day 5
    assert [q.status for q in r5.updated] == ["expired"] and r5.created == []
    r6, _ = step(zero, prior, day(6), m, {"acme": "free"})
    assert [q.qualified_at for q in r6.created] == [day(6)]


def test_zero_expiry_is_refused() -> None:
    with pytest.raises(Exception, match="expires_after: expected a positive duration"):
        load_text(CONFIG.replace("expires_after: 5d", "expires_after: 0d"))


@pytest.mark.parametrize(
    ("stage_now", "plan_now", "status", "why"),
    [
        ("team", "team", "converted", "account reached stage team (was free)"),
        ("free", "business", "converted", "account moved to plan business (was free)"),
        ("free", "free", "assigned", None),
        (None, "mystery", "assigned", None),  # unknown stage and plan: no conversion
    ],
)
def test_conversion_by_stage_or_plan(
    config: Config, stage_now: str | None, plan_now: str, status: str, why: str | None
) -> None:
    _, prior = step(config, lc.Prior(), day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    r1, _ = step(config, prior, day(1), [], {"acme": stage_now}, {"acme": plan_now})
    got = r1.updated[0].status if r1.updated else r1.open_after[0].status
    assert got == status
    if why is not None:
        assert r1.changes[0].reason == why
        assert "converted" in [a.type for a in r1.alerts]


def test_stage_history_initial_then_changes(config: Config) -> None:
    r0, prior = step(config, lc.Prior(), day(0), [], {"acme": "free", "beta": None})
    assert [(s.account_id, s.stage, s.initial) for s in r0.stage_changes] == [
        ("acme", "free", True),
        ("beta", None, True),
    ]
    assert r0.alerts == []
    r1, _ = step(config, prior, day(1), [], {"acme": "team", "beta": None})
    assert [(s.account_id, s.from_stage, s.stage, s.at) for s in r1.stage_changes] == [
        ("acme", "free", "team", day(1))
    ]
    assert [(a.type, a.stage_from, a.stage_to) for a in r1.alerts] == [
        ("stage_changed", "free", "team")
    ]


def test_priority_routes_first_and_capacity_queue_drains(config: Config) -> None:
    # capacity 1, two reps, three matches: the PQA (priority 20) routes first
    m = [("ftp", "u1", "acme"), ("ftp", "u2", "acme"), ("big", "acme", "acme")]
    r0, prior = step(config, lc.Prior(), day(0), m, {"acme": "free"})
    got = {(q.pql, q.entity_id): (q.status, q.rep) for q in r0.created}
    assert got == {
        ("big", "acme"): ("assigned", "a@x.com"),
        ("ftp", "u1"): ("assigned", "b@x.com"),
        ("ftp", "u2"): ("new", None),
    }
    waiting = next(q for q in prior.open if q.entity_id == "u2")
    assert waiting.waiting
    # a rep marks the PQA won: room opens, the next evaluation drains the queue
    big = next(q for q in prior.open if q.pql == "big")
    lc.mark_won(big, "a@x.com", day(1))
    prior.last_closed[("big", "acme")] = day(1)  # as the store reports a closed one
    r2, _ = step(config, prior, day(2), m, {"acme": "free"})
    drained = next(q for q in r2.updated if q.entity_id == "u2")
    assert (drained.status, drained.rep) == ("assigned", "a@x.com")
    assert "queue drained" in r2.changes[0].rule


def test_several_pqls_on_one_entity_sort_by_priority_then_key() -> None:
    qs = [
        lc.Qualification("1", "b_low", "user", "u", None, 1, "new", D0, "high"),
        lc.Qualification("2", "z_high", "user", "u", None, 9, "new", D0, "high"),
        lc.Qualification("3", "a_low", "user", "u", None, 1, "new", D0, "high"),
    ]
    assert [q.pql for q in sorted(qs, key=lc.inbox_order)] == ["z_high", "a_low", "b_low"]


def _q(status: str, rep: str | None = None, closed: bool = False) -> lc.Qualification:
    q = lc.Qualification("q", "ftp", "user", "u1", "acme", 10, status, D0, "high", rep=rep)
    return replace(q, closed_at=D0 if closed else None)


# (status, rep, action, actor, expected status or error text)
TRANSITIONS = [
    ("new", None, "claim", "a@x.com", "assigned"),
    ("assigned", None, "claim", "a@x.com", "assigned"),  # from the team queue
    ("assigned", "b@x.com", "claim", "a@x.com", "error: already assigned to b@x.com"),
    ("new", None, "start", "a@x.com", "working"),
    ("assigned", "a@x.com", "start", "a@x.com", "working"),
    ("assigned", "b@x.com", "start", "a@x.com", "error: reassign it first"),
    ("working", "a@x.com", "start", "a@x.com", "error: already being worked"),
    ("working", "a@x.com", "won", "a@x.com", "converted"),
    ("assigned", "a@x.com", "won", "a@x.com", "converted"),
    ("working", "a@x.com", "disqualify", "a@x.com", "disqualified"),
    ("new", None, "disqualify_no_reason", "a@x.com", "error: needs a reason"),
    ("working", "a@x.com", "reassign", "lead@x.com", "assigned"),
    ("assigned", "a@x.com", "reassign_same", "lead@x.com", "error: already assigned to a@x.com"),
    ("converted", "a@x.com", "won", "a@x.com", "error: already converted"),
    ("expired", None, "claim", "a@x.com", "error: already expired"),
    ("disqualified", "a@x.com", "reassign", "lead@x.com", "error: already disqualified"),
]


def _do(q: lc.Qualification, action: str, actor: str) -> lc.Change:
    at = day(1)
    if action == "claim":
        return lc.claim(q, actor, at)
    if action == "start":
        return lc.start_working(q, actor, at)
    if action == "won":
        return lc.mark_won(q, actor, at)
    if action == "disqualify":
        return lc.disqualify(q, actor, at, "no budget")
    if action == "disqualify_no_reason":
        return lc.disqualify(q, actor, at, "  ")
    if action == "reassign":
        return lc.reassign_to_rep(q, actor, at, "b@x.com", "t")
    if action == "reassign_same":
        return lc.reassign_to_rep(q, actor, at, "a@x.com", "t")
    raise AssertionError(action)


@pytest.mark.parametrize(("status", "rep", "action", "actor", "expected"), TRANSITIONS)
def test_rep_action_transitions(
    status: str, rep: str | None, action: str, actor: str, expected: str
) -> None:
    q = _q(status, rep, closed=status in lc.CLOSED_STATUSES)
    if expected.startswith("error: "):
        with pytest.raises(lc.BadTransition, match=expected.removeprefix("error: ")):
            _do(q, action, actor)
        assert q.status == status
        return
    change = _do(q, action, actor)
    assert q.status == expected == change.status_to
    assert (change.actor, change.status_from, change.at) == (actor, status, day(1))
    assert q.is_open is (expected in lc.OPEN_STATUSES)


def test_inbox_groups_per_entity_highest_priority_first() -> None:
    def q(pql: str, entity: str, prio: int, level: str = "user") -> lc.Qualification:
        return lc.Qualification(
            f"{pql}:{entity}", pql, level, entity, "acme", prio, "new", D0, "high"
        )

    closed = replace(q("old", "u1", 99), closed_at=D0, status="expired")
    items = lc.inbox(
        [q("b", "u1", 5), q("a", "u1", 5), q("big", "acme", 20, "account"), q("z", "u2", 1), closed]
    )
    assert [(i.primary.id, [o.id for o in i.others]) for i in items] == [
        ("big:acme", []),
        ("a:u1", ["b:u1"]),
        ("z:u2", []),
    ]


def test_owner_from_account_traits_gets_it_and_follows_owner_changes(config: Config) -> None:
    ev = evaluation(day(0), [("ftp", "u1", "acme")], {"acme": "free"})
    owned = {"acme": lc.AccountNow(stage="free", plan="free", owner="b@x.com")}
    r0 = lc.evaluate_step(config, lc.Prior(), ev, owned, facts)
    [q] = r0.created
    assert (q.rep, q.owner) == ("b@x.com", "b@x.com")
    assert "owner b@x.com is in the team" in r0.changes[1].rule
    prior = lc.advance(lc.Prior(), r0)
    moved = {"acme": lc.AccountNow(stage="free", plan="free", owner="a@x.com")}
    r1 = lc.evaluate_step(config, prior, evaluation(day(1), [], {"acme": "free"}), moved, facts)
    assert [(u.owner, u.rep) for u in r1.updated] == [("a@x.com", "b@x.com")]  # kept its rep


def test_a_waiting_qualification_expires_out_of_the_queue(config: Config) -> None:
    m = [("ftp", "u1", "acme"), ("ftp", "u2", "acme"), ("ftp", "u3", "acme")]
    r0, prior = step(config, lc.Prior(), day(0), m, {"acme": "free"})
    assert [q.entity_id for q in r0.created if q.waiting] == ["u3"]
    lc.start_working(prior.open[0], "a@x.com", day(1))  # u1 is worked: it never expires
    r5, _ = step(config, prior, day(5), [], {"acme": "free"})
    got = {q.entity_id: q.status for q in r5.updated}
    # u2 (assigned) and u3 (waiting) expire; b's freed slot is not given to an expired one
    assert got == {"u2": "expired", "u3": "expired"}
    assert [q.entity_id for q in r5.open_after] == ["u1"]
    assert not [c for c in r5.changes if c.reason == "assigned from the queue"]
