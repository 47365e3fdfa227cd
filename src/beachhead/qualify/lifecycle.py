"""The qualification lifecycle: what one evaluation (or one rep action) changes.

PURE: state comes in as plain records (``Prior``), decisions go out as records
(``StepResult``); ``store/qualifications.py`` loads and saves them, so a dry run or a
backtest runs this same code on state that is never written.

Statuses: ``new -> assigned -> working -> converted | disqualified | expired``. All clocks
run in ``as_of`` time. At one evaluation, in this order:

1. Going back before the latest recorded evaluation is an error (``GoingBack``).
2. Stage history: every account whose stage differs from its last recorded one gets a row
   (its first sighting is recorded too, marked ``initial``, without an alert).
3. Open qualifications: ``converted`` when their account reached a later journey stage
   than at qualification, or a plan above the one it had (``plans`` order); else
   ``expired`` when untouched (``new``/``assigned``) and ``as_of >= qualified_at +
   expires_after``. Capacity they held is released.
4. The team queues are drained (room may have opened).
5. New qualifications for matches with no open one for the PQL and entity and none closed
   within ``cooldown`` (nor at or after ``as_of``, which keeps a re-run at the same
   ``as_of`` idempotent), in inbox order (priority high first, then PQL key, then entity),
   each routed right away.

Choices where the spec is silent: a stage or plan that is unknown (``unstaged``, a missing
plan, a plan outside ``plans``) at qualification or now never converts; a qualification
whose PQL left the definitions keeps the default 30-day expiry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from beachhead.qualify.routing import ASSIGNED, NEW, RouteFacts, RoutingBook, TeamChoice, Waiting
from beachhead.qualify.routing import choose_team as _choose_team
from beachhead.rules.model import Config, Pql
from beachhead.rules.result import Evaluation, Match

WORKING = "working"
CONVERTED = "converted"
DISQUALIFIED = "disqualified"
EXPIRED = "expired"
OPEN_STATUSES = frozenset({NEW, ASSIGNED, WORKING})
CLOSED_STATUSES = frozenset({CONVERTED, DISQUALIFIED, EXPIRED})
STATUSES = (NEW, ASSIGNED, WORKING, CONVERTED, DISQUALIFIED, EXPIRED)
UNTOUCHED = frozenset({NEW, ASSIGNED})
SYSTEM = "system"
DEFAULT_SPAN = timedelta(days=30)


class LifecycleError(ValueError):
    """A decision that the lifecycle refuses, with a one-line reason."""


class GoingBack(LifecycleError):
    """A recorded evaluation before the latest recorded one."""


class BadTransition(LifecycleError):
    """A rep action that the qualification's status does not allow."""


@dataclass
class Qualification:
    """One PQL/PQA instance with its evidence and where it stands."""

    id: str
    pql: str
    level: str
    entity_id: str
    account_id: str | None
    priority: int
    status: str
    qualified_at: datetime
    touch: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    team: str | None = None
    rep: str | None = None
    closed_at: datetime | None = None
    plan_at_qualification: str | None = None
    stage_at_qualification: str | None = None
    owner: str | None = None
    updated_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def waiting(self) -> bool:
        """In a team queue waiting for a rep (high touch, nobody had room)."""
        return (
            self.is_open
            and self.status == NEW
            and self.team is not None
            and self.rep is None
            and self.touch == "high"
        )


@dataclass(frozen=True)
class Change:
    """One history row: a status change or an assignment, with who, why and which rule."""

    qualification_id: str
    at: datetime
    actor: str
    status_from: str | None
    status_to: str
    team: str | None
    rep: str | None
    reason: str = ""
    rule: str = ""


@dataclass(frozen=True)
class StageChange:
    account_id: str
    stage: str | None  # None = unstaged
    from_stage: str | None
    at: datetime
    initial: bool = False


@dataclass(frozen=True)
class AlertNote:
    """Something alerts may announce; the service turns it into an outbox event."""

    type: str  # qualified | assigned | converted | expired | stage_changed
    at: datetime
    qualification_id: str | None = None
    account_id: str | None = None
    stage_from: str | None = None
    stage_to: str | None = None


@dataclass(frozen=True)
class AccountNow:
    """An account at ``as_of``: its journey stage, plan and owner (from traits)."""

    stage: str | None = None
    plan: str | None = None
    owner: str | None = None


@dataclass
class Prior:
    """The recorded state an evaluation starts from."""

    open: list[Qualification] = field(default_factory=list)
    last_closed: dict[tuple[str, str], datetime] = field(default_factory=dict)
    last_as_of: datetime | None = None
    stages: dict[str, str | None] = field(default_factory=dict)
    cursors: dict[str, int] = field(default_factory=dict)


@dataclass
class StepResult:
    as_of: datetime
    created: list[Qualification] = field(default_factory=list)
    updated: list[Qualification] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    stage_changes: list[StageChange] = field(default_factory=list)
    alerts: list[AlertNote] = field(default_factory=list)
    cursors: dict[str, int] = field(default_factory=dict)
    open_after: list[Qualification] = field(default_factory=list)
    # what was evaluated: the store refreshes open qualifications' scores from it
    evaluation: Evaluation | None = field(default=None, repr=False, compare=False)


def qualification_id(pql: str, entity_id: str, qualified_at: datetime) -> str:
    """Stable id: the same PQL, entity and time give the same id in every process."""
    digest = hashlib.sha256(f"{pql}\x00{entity_id}\x00{qualified_at.isoformat()}".encode())
    return "q_" + digest.hexdigest()[:20]


T = TypeVar("T")


def inbox_order(q: Qualification) -> tuple[Any, ...]:
    """Highest priority first, ties by PQL key, then entity."""
    return (-q.priority, q.pql, q.entity_id)


def _rank(order: Iterable[str], value: str | None) -> int | None:
    items = list(order)
    return items.index(value) if value is not None and value in items else None


def conversion_reason(config: Config, q: Qualification, now: AccountNow | None) -> str | None:
    """Why the account's progress converts ``q`` (a later stage or a higher plan), or None."""
    if now is None:
        return None
    stage_keys = [s.key for s in config.stages]
    was, is_ = _rank(stage_keys, q.stage_at_qualification), _rank(stage_keys, now.stage)
    if was is not None and is_ is not None and is_ > was:
        return f"account reached stage {now.stage} (was {q.stage_at_qualification})"
    was, is_ = _rank(config.plans, q.plan_at_qualification), _rank(config.plans, now.plan)
    if was is not None and is_ is not None and is_ > was:
        return f"account moved to plan {now.plan} (was {q.plan_at_qualification})"
    return None


def _pql(config: Config, key: str) -> Pql | None:
    try:
        return config.pql(key)
    except KeyError:
        return None


def expires_at(config: Config, q: Qualification) -> datetime:
    pql = _pql(config, q.pql)
    return q.qualified_at + (pql.expires_after.delta if pql is not None else DEFAULT_SPAN)


def in_cooldown(config: Config, pql_key: str, closed_at: datetime | None, as_of: datetime) -> bool:
    if closed_at is None:
        return False
    pql = _pql(config, pql_key)
    span = pql.cooldown.delta if pql is not None else DEFAULT_SPAN
    return closed_at >= as_of or as_of < closed_at + span


def make_book(
    config: Config, open_quals: Iterable[Qualification], cursors: Mapping[str, int]
) -> RoutingBook:
    """The routing view of open work: load per rep, cursors, waiting qualifications."""
    book = RoutingBook(config, cursors=dict(cursors))
    for q in open_quals:
        if q.rep is not None:
            book.add_load(q.rep)
        elif q.waiting and q.team is not None:
            book.waiting.append(
                Waiting(q.id, q.team, q.owner, (-q.priority, q.qualified_at, q.pql, q.entity_id))
            )
    return book


def _close(q: Qualification, status: str, at: datetime, actor: str, reason: str) -> Change:
    before = q.status
    q.status, q.closed_at, q.updated_at = status, at, at
    return Change(q.id, at, actor, before, status, q.team, q.rep, reason=reason)


def apply_drain(
    book: RoutingBook, by_id: Mapping[str, Qualification], at: datetime, actor: str = SYSTEM
) -> tuple[list[Qualification], list[Change], list[AlertNote]]:
    """Give waiting qualifications to reps with room; what changed."""
    touched: list[Qualification] = []
    changes: list[Change] = []
    alerts: list[AlertNote] = []
    for item, assignment in book.drain():
        q = by_id.get(item.id)
        if q is None:
            continue
        before = q.status
        q.status, q.team, q.rep, q.updated_at = (
            assignment.status,
            assignment.team,
            assignment.rep,
            at,
        )
        touched.append(q)
        changes.append(
            Change(
                q.id,
                at,
                actor,
                before,
                q.status,
                q.team,
                q.rep,
                "assigned from the queue",
                assignment.rule,
            )
        )
        alerts.append(AlertNote("assigned", at, q.id, q.account_id))
    return touched, changes, alerts


# An entity that is another one now: (level, entity id) -> (the entity it is now, its
# primary account), or None. A raw id linked into a user by an alias or identify, or an
# implicit ``domain:`` account whose domain a real account took.
EntityNow = Callable[[str, str], tuple[str, str | None] | None]

# which of two open qualifications of one merged entity stays open: the one further along
_PROGRESS = {WORKING: 2, ASSIGNED: 1}


def _merge(
    open_now: list[Qualification], entity_now: EntityNow, as_of: datetime, out: StepResult
) -> tuple[dict[str, Qualification], list[Qualification]]:
    """Open qualifications of entities merged into another one follow it (a visitor who
    signs up, an implicit domain account a real account took over): their ``entity_id``
    (and account) become the merged entity's, so it is not qualified a second time. When
    the merged entity has its own open qualification for the same PQL, the one further
    along (working, then assigned, then the older) stays open and the other expires with
    the reason. Returns the moved ones by id and the ones closed."""
    moved: dict[str, Qualification] = {}
    closed: list[Qualification] = []
    by_key: dict[tuple[str, str], Qualification] = {
        (q.pql, q.entity_id): q for q in open_now if q.is_open
    }
    for q in open_now:
        now = entity_now(q.level, q.entity_id) if q.is_open else None
        if now is None:
            continue
        new_id, account_id = now
        old_id = q.entity_id
        del by_key[(q.pql, old_id)]
        q.entity_id, q.account_id, q.updated_at = new_id, account_id, as_of
        moved[q.id] = q
        why = f"{old_id} is {new_id} now (one {q.level}): the qualification follows it"
        out.changes.append(Change(q.id, as_of, SYSTEM, q.status, q.status, q.team, q.rep, why))
        other = by_key.get((q.pql, new_id))
        if other is None:
            by_key[(q.pql, new_id)] = q
            continue

        def rank(x: Qualification) -> tuple[int, datetime, str]:
            return (-_PROGRESS.get(x.status, 0), x.qualified_at, x.id)

        keep, drop = sorted([q, other], key=rank)
        by_key[(q.pql, new_id)] = keep
        reason = f"merged: {new_id} has {keep.id} open for {q.pql}"
        out.changes.append(_close(drop, EXPIRED, as_of, SYSTEM, reason))
        out.alerts.append(AlertNote("expired", as_of, drop.id, drop.account_id))
        moved[drop.id] = drop
        closed.append(drop)
    return moved, closed


def evaluate_step(
    config: Config,
    prior: Prior,
    evaluation: Evaluation,
    accounts: Mapping[str, AccountNow],
    facts_for: Callable[[Match], RouteFacts],
    entity_now: EntityNow | None = None,
) -> StepResult:
    """Everything one evaluation at ``evaluation.as_of`` changes (``prior`` is not modified).

    ``entity_now``: where an open qualification's entity went when it is not an entity of
    the evaluation any more (``_merge``)."""
    as_of = evaluation.as_of
    if prior.last_as_of is not None and as_of < prior.last_as_of:
        raise GoingBack(
            f"as_of {as_of.isoformat()} is before the latest recorded evaluation "
            f"({prior.last_as_of.isoformat()}); use --dry-run to look at the past"
        )
    out = StepResult(as_of, evaluation=evaluation)
    # 2. stage history
    for account_id in sorted(evaluation.accounts):
        stage = evaluation.accounts[account_id].stage
        if account_id not in prior.stages:
            out.stage_changes.append(StageChange(account_id, stage, None, as_of, initial=True))
        elif prior.stages[account_id] != stage:
            was = prior.stages[account_id]
            out.stage_changes.append(StageChange(account_id, stage, was, as_of))
            out.alerts.append(AlertNote("stage_changed", as_of, None, account_id, was, stage))
    # 3. close what converted or expired
    open_now = [
        replace(q) for q in sorted(prior.open, key=lambda q: (q.qualified_at, q.id)) if q.is_open
    ]
    by_id = {q.id: q for q in open_now}
    book = make_book(config, open_now, prior.cursors)
    changed: dict[str, Qualification] = {}
    closed_now: dict[tuple[str, str], datetime] = {}

    def release(q: Qualification) -> None:
        """``q`` closed in this step: its cooldown runs from now, its room and place in
        the queue are free."""
        closed_now[(q.pql, q.entity_id)] = as_of
        book.add_load(q.rep, -1)
        book.waiting = [w for w in book.waiting if w.id != q.id]

    if entity_now is not None:
        moved, merged_away = _merge(open_now, entity_now, as_of, out)
        changed.update(moved)
        for q in merged_away:
            release(q)
    for q in open_now:
        if not q.is_open:
            continue
        now = accounts.get(q.account_id) if q.account_id is not None else None
        if now is not None and now.owner != q.owner:
            q.owner = now.owner
            changed[q.id] = q
        reason = conversion_reason(config, q, now)
        if reason is not None:
            out.changes.append(_close(q, CONVERTED, as_of, SYSTEM, reason))
            out.alerts.append(AlertNote("converted", as_of, q.id, q.account_id))
        elif q.status in UNTOUCHED and as_of >= expires_at(config, q):
            out.changes.append(_close(q, EXPIRED, as_of, SYSTEM, "untouched until it expired"))
            out.alerts.append(AlertNote("expired", as_of, q.id, q.account_id))
        else:
            continue
        changed[q.id] = q
        release(q)
    # 4. drain the queues
    drained, changes, alerts = apply_drain(book, by_id, as_of)
    for q in drained:
        changed[q.id] = q
    out.changes += changes
    out.alerts += alerts
    # 5. create
    still_open = {(q.pql, q.entity_id) for q in open_now if q.is_open}
    created: list[Qualification] = []
    for m in sorted(evaluation.matches, key=lambda m: (-m.priority, m.pql, m.entity_id)):
        key = (m.pql, m.entity_id)
        if key in still_open:
            continue
        last = closed_now.get(key) or prior.last_closed.get(key)
        if in_cooldown(config, m.pql, last, as_of):
            continue
        acct = accounts.get(m.account_id) if m.account_id is not None else None
        q = Qualification(
            id=qualification_id(m.pql, m.entity_id, as_of),
            pql=m.pql,
            level=m.level,
            entity_id=m.entity_id,
            account_id=m.account_id,
            priority=m.priority,
            status=NEW,
            qualified_at=as_of,
            touch=m.touch,
            evidence=[
                {"path": e.path, "held": e.held, "value": e.value, "sentence": e.sentence}
                for e in m.evidence
            ],
            plan_at_qualification=acct.plan if acct else None,
            stage_at_qualification=acct.stage if acct else None,
            owner=acct.owner if acct else None,
            updated_at=as_of,
        )
        still_open.add(key)
        out.changes.append(Change(q.id, as_of, SYSTEM, None, NEW, None, None, f"{m.pql} held"))
        out.alerts.append(AlertNote("qualified", as_of, q.id, q.account_id))
        team_choice = (
            TeamChoice(None, "touch none")
            if m.touch == "none"
            else _choose_team(config, facts_for(m))
        )
        assignment = book.route(m.touch, team_choice, q.owner)
        q.status, q.team, q.rep = assignment.status, assignment.team, assignment.rep
        out.changes.append(
            Change(q.id, as_of, SYSTEM, NEW, q.status, q.team, q.rep, "routed", assignment.rule)
        )
        if q.status == ASSIGNED:
            out.alerts.append(AlertNote("assigned", as_of, q.id, q.account_id))
        created.append(q)
    out.created = created
    out.updated = [q for q in open_now if q.id in changed]
    out.cursors = {k: book.cursors[k] for k in book.moved_cursors}
    out.open_after = [q for q in open_now if q.is_open] + created
    return out


# --------------------------------------------------------------------------- rep actions


def _require_open(q: Qualification) -> None:
    if not q.is_open:
        raise BadTransition(f"qualification {q.id} is already {q.status}")


def claim(q: Qualification, actor: str, at: datetime, team: str | None = None) -> Change:
    """A rep takes an unassigned or queued qualification."""
    _require_open(q)
    if q.rep is not None:
        raise BadTransition(f"qualification {q.id} is already assigned to {q.rep}")
    before = q.status
    q.rep, q.team, q.updated_at = actor, team or q.team, at
    if q.status == NEW:
        q.status = ASSIGNED
    return Change(q.id, at, actor, before, q.status, q.team, q.rep, "claimed")


def start_working(q: Qualification, actor: str, at: datetime) -> Change:
    _require_open(q)
    if q.status == WORKING:
        raise BadTransition(f"qualification {q.id} is already being worked by {q.rep}")
    if q.rep is not None and q.rep.lower() != actor.lower():
        raise BadTransition(f"qualification {q.id} is assigned to {q.rep}; reassign it first")
    before = q.status
    q.status, q.rep, q.updated_at = WORKING, q.rep or actor, at
    return Change(q.id, at, actor, before, WORKING, q.team, q.rep, "started working")


def mark_won(q: Qualification, actor: str, at: datetime, reason: str = "") -> Change:
    _require_open(q)
    return _close(q, CONVERTED, at, actor, reason or "marked won")


def disqualify(q: Qualification, actor: str, at: datetime, reason: str) -> Change:
    _require_open(q)
    if not reason.strip():
        raise BadTransition("disqualifying needs a reason")
    return _close(q, DISQUALIFIED, at, actor, reason.strip())


def reassign_to_rep(
    q: Qualification, actor: str, at: datetime, rep: str, team: str | None
) -> Change:
    _require_open(q)
    if q.rep is not None and q.rep.lower() == rep.lower():
        raise BadTransition(f"qualification {q.id} is already assigned to {rep}")
    before = q.status
    q.rep, q.team, q.status, q.updated_at = rep, team or q.team, ASSIGNED, at
    return Change(
        q.id, at, actor, before, ASSIGNED, q.team, q.rep, f"reassigned to {rep} by {actor}"
    )


def reassign_to_team(
    q: Qualification, actor: str, at: datetime, team: str, book: RoutingBook
) -> Change:
    """Hand ``q`` to another team: its strategy picks a rep (high touch) or its queue takes it."""
    _require_open(q)
    try:
        book.config.team(team)
    except KeyError:
        raise BadTransition(f"no team {team!r} in the definitions") from None
    before = q.status
    book.add_load(q.rep, -1)
    touch = "low" if q.touch == "none" else q.touch
    # the team is chosen by hand: the rule holds only how the team placed it (rep or queue)
    assignment = book.route(touch, TeamChoice(team, ""), q.owner)
    if assignment.team == q.team and _same_rep(assignment.rep, q.rep):
        # the same team and the same rep (or the same queue): nothing would change, so no
        # history row (the book's load and cursors are the caller's to drop)
        where = f"assigned to {q.rep} in {team}" if q.rep else f"in {team}'s queue"
        raise BadTransition(f"qualification {q.id} is already {where}")
    q.status, q.team, q.rep, q.updated_at = assignment.status, assignment.team, assignment.rep, at
    reason = f"reassigned to {team} by {actor}"
    return Change(
        q.id, at, actor, before, q.status, q.team, q.rep, reason, assignment.rule.lstrip("; ")
    )


def _same_rep(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


def advance(prior: Prior, step: StepResult) -> Prior:
    """The state after ``step`` as the next evaluation sees it (for dry runs and backtests)."""
    last_closed = dict(prior.last_closed)
    for q in step.updated:
        if q.closed_at is not None:
            last_closed[(q.pql, q.entity_id)] = q.closed_at
    stages = dict(prior.stages)
    for sc in step.stage_changes:
        stages[sc.account_id] = sc.stage
    return Prior(
        open=[replace(q) for q in step.open_after],
        last_closed=last_closed,
        last_as_of=step.as_of,
        stages=stages,
        cursors={**prior.cursors, **step.cursors},
    )


@dataclass(frozen=True)
class InboxItem:
    """One entity in the inbox: its highest-priority qualification, the others beside it."""

    primary: Qualification
    others: tuple[Qualification, ...] = ()


def inbox_groups(
    items: Iterable[T],
    entity: Callable[[T], tuple[str, str]],
    order: Callable[[T], tuple[Any, ...]],
) -> list[list[T]]:
    """``items`` grouped per entity (``entity``: level + id), each group and the groups
    (by their first) in ``order``: the inbox's arrangement, for qualifications and for
    their JSON rows alike (``cli/evaluate_cmds.py``)."""
    groups: dict[tuple[str, str], list[T]] = {}
    for item in items:
        groups.setdefault(entity(item), []).append(item)
    out = [sorted(group, key=order) for group in groups.values()]
    out.sort(key=lambda group: order(group[0]))
    return out


def inbox(quals: Iterable[Qualification]) -> list[InboxItem]:
    """Open qualifications grouped per entity (level + id), highest priority first.

    Inside an entity, and between entities, the order is priority (high first), then PQL
    key, then entity id.
    """
    groups = inbox_groups(
        (q for q in quals if q.is_open), lambda q: (q.level, q.entity_id), inbox_order
    )
    return [InboxItem(group[0], tuple(group[1:])) for group in groups]
