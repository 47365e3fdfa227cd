"""Orchestration of the qualification lifecycle: evaluate -> record -> route -> alerts.

The edges (CLI, JSON API, web app, scheduler) call these functions; the decisions are in
``qualify/`` (pure) and the SQL in ``store/qualifications.py``.

- ``run_evaluation(runtime, config, as_of, dry_run)``: one evaluation. Recorded: the
  Evaluation is computed first (``services.compute_evaluation``), then inside one locked
  transaction the recorded state is read, the lifecycle decides, and decisions, stage
  history and alert outbox rows are written together (the outbox is durable because it
  commits with the change it announces). Dry run: the same decisions on state that is
  never written; a dry run before the latest recorded evaluation starts from empty state
  (what would have qualified then, as a backtest sees it).
- ``run_replay(runtime, config, start, end, step, dry_run)``: evaluations at ``start``,
  ``start + step``, ... up to ``end`` (and ``end`` itself), for the demo and backtests.
- Rep actions: ``claim``, ``start_working``, ``mark_won``, ``disqualify``, ``reassign``.
  Each validates the transition, records history with the actor, and drains team queues
  when it frees room.
- Services ``evaluate`` and ``qualifications`` (``runtime.call_service``), so the CLI works
  beside a running ``serve`` on the same data folder.
"""

from __future__ import annotations

import importlib
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from beachhead.ingest.freemail import load_free_mail
from beachhead.ingest.identity import DOMAIN_PREFIX, Snapshot, accounts_by_domain, resolve
from beachhead.qualify import lifecycle as lc
from beachhead.qualify.routing import RouteFacts
from beachhead.rules.durations import parse_iso_time, to_utc
from beachhead.rules.load import ConfigError, load_config, unreadable
from beachhead.rules.model import Config, EventCond, Level, MetricCond, iter_leaves
from beachhead.rules.result import Evaluation, Match
from beachhead.runtime import Runtime, ServiceError, service
from beachhead.store.app_users import AppUserStore
from beachhead.store.qualifications import QualificationStore

if TYPE_CHECKING:
    from beachhead.rules.model import Leaf
    from beachhead.store.state import StateStore


def iso(t: datetime) -> str:
    return to_utc(t).isoformat().replace("+00:00", "Z")


def parse_time(text: str, what: str = "--as-of") -> datetime:
    """An ISO-8601 time (a time without a zone is UTC), or a one-line ServiceError."""
    t = parse_iso_time(text)
    if t is None:
        raise ServiceError(f"{what}: expected an ISO-8601 time such as 2026-03-01, got {text!r}")
    return t


def now_utc() -> datetime:
    """The default ``as_of``: now, to the microsecond. Cut to the second it missed rows
    stored earlier in that second (an import's rows take its time with microseconds)."""
    return datetime.now(UTC)


def routing_config(state: StateStore, config: Config) -> Config:
    """``config`` with the reps' away state kept in the app (so routing skips them).

    Every path that routes (recorded and dry-run evaluations, replays, rep actions that
    drain queues) goes through here, so a rep marked away in the app gets no new work
    whichever edge started the evaluation.
    """
    return AppUserStore(state).config_with_away(config)


def read_config(path: str | Path) -> Config:
    """The definitions, or a ServiceError naming the first problem."""
    problem = unreadable(path)  # a folder or a missing file: the line every command says
    if problem is not None:
        raise ServiceError(problem)
    try:
        return load_config(path)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 1} more; see beachhead check)" if len(lines) > 1 else ""
        raise ServiceError(f"{lines[0]}{more}") from exc
    except OSError as exc:
        raise ServiceError(f"cannot read the definitions {path}: {exc.strerror or exc}") from exc


def qualification_json(q: lc.Qualification, is_new: bool = False) -> dict[str, Any]:
    """A qualification in the shape of ``evaluate --format json`` (interfaces.md)."""
    return {
        "id": q.id,
        "pql": q.pql,
        "level": q.level,
        "entity_id": q.entity_id,
        "account_id": q.account_id,
        "priority": q.priority,
        "status": q.status,
        "is_new": is_new,
        "qualified_at": iso(q.qualified_at),
        "touch": q.touch,
        "team": q.team,
        "rep": q.rep,
        "evidence": [
            {k: e.get(k) for k in ("path", "held", "value", "sentence")} for e in q.evidence
        ],
    }


def sort_key(q: lc.Qualification) -> tuple[str, str, datetime]:
    return (q.pql, q.entity_id, q.qualified_at)


# --------------------------------------------------------------------------- facts


def _utc_ts(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


class Identity:
    """Identity at the times of one evaluation or replay, from rows read once.

    The trait rows, links, memberships and each raw id's first message (userId, else
    anonymousId) are read from the events store up to ``until``; ``at(t)`` resolves identity
    at any ``t <= until`` with ``ingest.identity.resolve``, exactly as the engine would from
    the tables (``engine.snapshot.resolve_from_tables``), and returns the previous snapshot
    when no row became visible since. The engine and the lifecycle share that snapshot, so
    identity is resolved once per evaluation, not once in each.

    A message stored while a replay runs (the store's count changed) makes the next ``at``
    read the rows again; rows imported from CSV meanwhile are seen by the next replay.
    """

    def __init__(self, runtime: Runtime, until: datetime) -> None:
        self._events = runtime.events
        self._until = to_utc(until)
        self.free_mail = load_free_mail(runtime.settings.free_mail_file)
        self._last: tuple[tuple[int, ...], Snapshot] | None = None
        self.reads = 0  # how many times the rows were read (tests)
        self.resolves = 0  # how many snapshots were resolved (tests)
        self._read()

    def _read(self) -> None:
        events = self._events
        self._count = events.count()
        self.trait_rows = events.trait_rows(self._until)
        self.links = events.links(self._until)
        self.memberships = events.memberships(self._until)
        firsts = sorted((_utc_ts(ts), raw) for raw, ts in _first_seen(events, self._until))
        self._named_ts = [ts for ts, _ in firsts]
        self._named = [raw for _, raw in firsts]
        self._trait_ts = sorted(_utc_ts(r.ts) for r in self.trait_rows)
        self._link_ts = sorted(_utc_ts(lk.ts) for lk in self.links)
        self._member_ts = sorted(_utc_ts(m.ts) for m in self.memberships)
        self._last = None
        self.reads += 1

    def at(self, as_of: datetime) -> Snapshot:
        t = to_utc(as_of)
        if t > self._until:
            raise ValueError(f"identity was read up to {iso(self._until)}, asked at {iso(t)}")
        if self._events.count() != self._count:
            self._read()
        seen = (
            bisect_right(self._trait_ts, t),
            bisect_right(self._link_ts, t),
            bisect_right(self._member_ts, t),
            bisect_right(self._named_ts, t),
        )
        if self._last is not None and self._last[0] == seen:
            return self._last[1]
        snap = resolve(
            self.trait_rows,
            self.links,
            self.memberships,
            t,
            self.free_mail,
            sorted(self._named[: seen[3]]),
        )
        self._last = (seen, snap)
        self.resolves += 1
        return snap


def _first_seen(events: Any, until: datetime) -> list[tuple[str, datetime]]:
    """Each raw id (userId, else anonymousId) of a message at or before ``until``, and when
    it was first seen (one grouped query)."""
    import ibis

    ev = events.ibis().table("events")
    cutoff = ibis.literal(to_utc(until).replace(tzinfo=None), type="timestamp")
    expr = (
        ev.filter(ev.ts <= cutoff)
        .select(raw=ev.user_id.coalesce(ev.anonymous_id), ts=ev.ts)
        .filter(lambda t: t.raw.notnull())
        .group_by("raw")
        .aggregate(first=lambda t: t.ts.min())
    )
    data = expr.to_pyarrow()
    return list(zip(data.column("raw").to_pylist(), data.column("first").to_pylist(), strict=True))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def account_facts(evaluation: Evaluation, snap: Snapshot) -> dict[str, lc.AccountNow]:
    """Stage (from the evaluation), plan and owner (account traits) of every account."""
    out: dict[str, lc.AccountNow] = {}
    for account_id in set(evaluation.accounts) | set(snap.accounts):
        traits = snap.accounts.get(account_id, {})
        ev = evaluation.accounts.get(account_id)
        out[account_id] = lc.AccountNow(
            stage=ev.stage if ev is not None else None,
            plan=_text(traits.get("plan")),
            owner=_text(traits.get("owner")),
        )
    return out


def entity_now(evaluation: Evaluation, snap: Snapshot) -> lc.EntityNow:
    """Where an open qualification's entity went when the evaluation has it no more
    (``lifecycle._merge``): a raw id linked into a user since (an anonymous visitor who
    signed up, an alias) is that user; an implicit ``domain:<d>`` account is the account
    that has domain ``d`` now (users of ``d`` join it instead)."""
    by_domain: dict[str, str] = {}

    def now(level: str, entity_id: str) -> tuple[str, str | None] | None:
        if level == "user":
            user = snap.user(entity_id)
            if entity_id in evaluation.users or user == entity_id or user not in evaluation.users:
                return None
            return user, snap.primary.get(user)
        if entity_id in evaluation.accounts or not entity_id.startswith(DOMAIN_PREFIX):
            return None
        if not by_domain:
            by_domain.update(accounts_by_domain(snap.accounts))  # first seen, as for joins
        found = by_domain.get(entity_id.removeprefix(DOMAIN_PREFIX))
        return (found, found) if found is not None and found in evaluation.accounts else None

    return now


def _routing_leaves(config: Config) -> list[Leaf]:
    return [
        leaf
        for rule in config.routing
        for leaf in iter_leaves(rule.when)
        if isinstance(leaf, EventCond | MetricCond)
    ]


def _activity_truths(
    runtime: Runtime, config: Config, as_of: datetime
) -> Callable[[Match], dict[Leaf, tuple[bool, Any]]]:
    """Event and metric leaves of routing rules (held, value), read by the oracle.

    Only computed when a routing rule has such a leaf: the oracle walks every message.
    """
    leaves = _routing_leaves(config)
    if not leaves:
        return lambda _m: {}
    from beachhead.rules import reference
    from beachhead.rules.reference_values import MISSING, compare
    from beachhead.services import DERIVED_SOURCES

    events = runtime.events
    world = reference.build_world(
        config,
        list(events.messages(as_of)),
        [r for r in events.trait_rows(as_of) if r.source not in DERIVED_SOURCES],
        [m for m in events.memberships(as_of) if m.source not in DERIVED_SOURCES],
        as_of,
        load_free_mail(runtime.settings.free_mail_file),
    )

    def truths(m: Match) -> dict[Leaf, tuple[bool, Any]]:
        subject = reference._subject(world, Level(m.level), m.entity_id)
        out: dict[Leaf, tuple[bool, Any]] = {}
        for leaf in leaves:
            value = reference.leaf_value(world, leaf, subject)
            held = compare(value, leaf.cmp, world.as_of)
            out[leaf] = (held, None if value is MISSING else value)
        return out

    return truths


def facts_builder(
    evaluation: Evaluation,
    snap: Snapshot,
    truths: Callable[[Match], Mapping[Leaf, tuple[bool, Any]]] = lambda _m: {},
) -> Callable[[Match], RouteFacts]:
    """What routing conditions read about a match's entity."""

    def facts(m: Match) -> RouteFacts:
        level = Level(m.level)
        user = snap.users.get(m.entity_id) if level is Level.USER else None
        account = snap.accounts.get(m.account_id) if m.account_id is not None else None
        user_ev = evaluation.users.get(m.entity_id) if level is Level.USER else None
        acct_ev = evaluation.accounts.get(m.account_id) if m.account_id is not None else None
        seen = truths(m)
        return RouteFacts(
            level=level,
            as_of=evaluation.as_of,
            user_traits=user,
            account_traits=account,
            user_scores=dict(user_ev.scores) if user_ev else {},
            account_scores=dict(acct_ev.scores) if acct_ev else {},
            leaf_truth={leaf: held for leaf, (held, _v) in seen.items()},
            leaf_values={leaf: value for leaf, (_h, value) in seen.items()},
        )

    return facts


# --------------------------------------------------------------------------- alerts


def _alert_api() -> tuple[Any, Any] | None:
    """``(enqueue, AlertEvent)`` from alerts/, or None while that module does not exist."""
    try:
        outbox = importlib.import_module("beachhead.alerts.outbox")
        events = importlib.import_module("beachhead.alerts.events")
    except ModuleNotFoundError:
        return None
    return outbox.enqueue, events.AlertEvent


def enqueue_alerts(
    s: Session,
    config: Config,
    notes: Sequence[lc.AlertNote],
    quals: Mapping[str, lc.Qualification],
) -> int:
    """Put the alert events in the outbox in the caller's transaction; how many rows."""
    api = _alert_api()
    if api is None or not config.alerts or not notes:
        return 0
    enqueue, alert_event = api
    rows = 0
    for note in notes:
        q = quals.get(note.qualification_id) if note.qualification_id else None
        rows += int(
            enqueue(
                s,
                config,
                alert_event(
                    type=note.type,
                    occurred_at=note.at,
                    # is_new as evaluate says it: a `qualified` event's was just created
                    qualification=(
                        qualification_json(q, is_new=note.type == "qualified")
                        if q is not None
                        else None
                    ),
                    pql=q.pql if q is not None else None,
                    touch=q.touch if q is not None else None,
                    account_id=note.account_id,
                    stage_from=note.stage_from,
                    stage_to=note.stage_to,
                ),
            )
            or 0
        )
    return rows


# --------------------------------------------------------------------------- evaluate


@dataclass
class Outcome:
    """One evaluation: the open qualifications after it, and which it created."""

    as_of: datetime
    open: list[lc.Qualification]
    new_ids: set[str] = field(default_factory=set)
    recorded: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": iso(self.as_of),
            "qualifications": [
                qualification_json(q, q.id in self.new_ids) for q in sorted(self.open, key=sort_key)
            ],
        }


def _decide(
    runtime: Runtime, config: Config, as_of: datetime, prior: lc.Prior, identity: Identity
) -> lc.StepResult:
    snap = identity.at(as_of)
    evaluation = _evaluate(runtime, config, as_of, snap)
    facts = facts_builder(evaluation, snap, _activity_truths(runtime, config, evaluation.as_of))
    accounts = account_facts(evaluation, snap)
    return lc.evaluate_step(
        config, prior, evaluation, accounts, facts, entity_now(evaluation, snap)
    )


def _evaluate(runtime: Runtime, config: Config, as_of: datetime, snap: Snapshot) -> Evaluation:
    from beachhead.services import compute_evaluation

    return compute_evaluation(
        runtime.settings, runtime.events, config, to_utc(as_of), snapshot=snap
    )


def record_step(store: QualificationStore, s: Session, config: Config, step: lc.StepResult) -> None:
    store.save_step(s, step)
    quals = {q.id: q for q in [*step.updated, *step.created]}
    enqueue_alerts(s, config, step.alerts, quals)


def run_evaluation(
    runtime: Runtime,
    config: Config,
    as_of: datetime,
    dry_run: bool = False,
    identity: Identity | None = None,
    routed: bool = False,
) -> Outcome:
    """Evaluate at ``as_of``; record, route and queue alerts unless ``dry_run``.

    ``identity``: rows already read (a replay reads them once); ``routed``: ``config``
    already went through ``routing_config``.
    """
    as_of = to_utc(as_of)
    if not routed:
        config = routing_config(runtime.state, config)
    store = QualificationStore(runtime.state)
    if dry_run:
        with runtime.state.session() as s:
            prior = store.load_prior(s)
        if prior.last_as_of is not None and as_of < prior.last_as_of:
            prior = lc.Prior()
        step = _decide(runtime, config, as_of, prior, identity or Identity(runtime, as_of))
        return Outcome(as_of, step.open_after, {q.id for q in step.created}, recorded=False)
    with runtime.state.session() as s:  # fail fast, before the (slow) evaluation
        latest = store.latest_as_of(s)
    if latest is not None and as_of < latest:
        raise ServiceError(_going_back(as_of, latest))
    snap = (identity or Identity(runtime, as_of)).at(as_of)
    evaluation = _evaluate(runtime, config, as_of, snap)
    facts = facts_builder(evaluation, snap, _activity_truths(runtime, config, evaluation.as_of))
    accounts = account_facts(evaluation, snap)
    with store.locked() as s:
        prior = store.load_prior(s)
        try:
            step = lc.evaluate_step(
                config, prior, evaluation, accounts, facts, entity_now(evaluation, snap)
            )
        except lc.LifecycleError as exc:
            raise ServiceError(str(exc)) from exc
        record_step(store, s, config, step)
    return Outcome(as_of, step.open_after, {q.id for q in step.created})


def _going_back(as_of: datetime, latest: datetime) -> str:
    return (
        f"{iso(as_of)} is before the latest recorded evaluation ({iso(latest)}): recorded "
        "evaluations go forward in time (--as-of, default now); use --dry-run to look at "
        "the past"
    )


def replay_times(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """``start``, ``start + step``, ... while <= ``end``, and ``end`` itself."""
    if step <= timedelta(0):
        raise ServiceError("--step must be a positive duration such as 1d")
    if start > end:
        raise ServiceError(f"--replay-from {iso(start)} is after --as-of {iso(end)}")
    times: list[datetime] = []
    t = start
    while t <= end:
        times.append(t)
        t += step
    if times[-1] != end:
        times.append(end)
    return times


def run_replay(
    runtime: Runtime,
    config: Config,
    start: datetime,
    end: datetime,
    step: timedelta,
    dry_run: bool = False,
    progress: Callable[[int, int, datetime], None] | None = None,
) -> tuple[Outcome, list[dict[str, Any]]]:
    """Evaluate at each time from ``start`` to ``end``; the last outcome and a row per step.

    ``is_new`` in the outcome marks what the whole replay created. A dry run chains the
    steps in memory from the recorded state (or empty state when ``start`` is before it).
    """
    times = replay_times(to_utc(start), to_utc(end), step)
    store = QualificationStore(runtime.state)
    steps: list[dict[str, Any]] = []
    created: set[str] = set()
    outcome: Outcome | None = None
    prior: lc.Prior | None = None
    if not dry_run:  # fail fast, before reading anything
        with runtime.state.session() as s:
            latest = store.latest_as_of(s)
        if latest is not None and times[0] < latest:
            raise ServiceError(_going_back(times[0], latest))
    # Done once, not per step: the reps' away state (nothing else changes it during the
    # replay) and identity's rows (each step resolves only when a row became visible).
    config = routing_config(runtime.state, config)
    identity = Identity(runtime, times[-1])
    if dry_run:
        with runtime.state.session() as s:
            prior = store.load_prior(s)
        if prior.last_as_of is not None and times[0] < prior.last_as_of:
            prior = lc.Prior()
    for i, t in enumerate(times):
        if progress is not None:
            progress(i, len(times), t)
        if prior is not None:
            result = _decide(runtime, config, t, prior, identity)
            prior = lc.advance(prior, result)
            outcome = Outcome(t, result.open_after, {q.id for q in result.created}, False)
        else:
            outcome = run_evaluation(runtime, config, t, identity=identity, routed=True)
        created |= outcome.new_ids
        steps.append({"as_of": iso(t), "created": len(outcome.new_ids), "open": len(outcome.open)})
    assert outcome is not None
    open_ids = {q.id for q in outcome.open}
    outcome.new_ids = created & open_ids
    return outcome, steps


# --------------------------------------------------------------------------- rep actions


def _team_of(config: Config, rep: str) -> str | None:
    found = config.rep(rep)
    return None if found is None else found[0].key


def _rep_of(config: Config, rep: str, team: str | None) -> tuple[str, str]:
    """The rep's email as the definitions spell it and their team (``Config.rep``), or
    a LifecycleError, so work is never handed to an address no rep's inbox shows."""
    if team is not None and all(t.key != team for t in config.teams):
        raise lc.LifecycleError(f"no team {team!r} in the definitions")
    found = config.rep(rep, team)
    if found is None:
        where = f"team {team!r}" if team is not None else "any team of the definitions"
        raise lc.LifecycleError(f"{rep!r} is not a rep of {where}")
    return found[1].email, found[0].key


def _when(at: datetime | None) -> datetime:
    return to_utc(at) if at is not None else now_utc()


def _took_it(was_rep: str | None, q: lc.Qualification, actor: str) -> bool:
    """A rep who takes unassigned or queued work themselves (claiming it, or starting to
    work on it) is not alerted that it was assigned to them."""
    return was_rep is None and q.rep is not None and q.rep.lower() == actor.lower()


def _act(
    state: StateStore,
    config: Config,
    qualification_id: str,
    action: Callable[[lc.Qualification, lc.RoutingBook], lc.Change],
    when: datetime,
) -> lc.Qualification:
    """Apply one rep action under the lifecycle lock, drain queues, record, queue alerts."""
    config = routing_config(state, config)
    store = QualificationStore(state)
    with store.locked() as s:
        q = store.get(s, qualification_id)
        if q is None:
            raise lc.LifecycleError(f"no qualification {qualification_id!r}")
        was_rep, was_team = q.rep, q.team
        others = [o for o in store.open_qualifications(s) if o.id != q.id]
        book = lc.make_book(config, [*others, q], store.cursors(s))
        change = action(q, book)
        changes, touched, notes = [change], [q], []
        if q.status == lc.CONVERTED:  # alerts know converted, not disqualified
            notes.append(lc.AlertNote(lc.CONVERTED, when, q.id, q.account_id))
        elif (q.rep, q.team) != (was_rep, was_team) and not _took_it(was_rep, q, change.actor):
            notes.append(lc.AlertNote("assigned", when, q.id, q.account_id))
        # the work as it stands after the action (load, waiting), cursors as routing left them
        moved = set(book.moved_cursors)
        book = lc.make_book(config, [o for o in [*others, q] if o.is_open], book.cursors)
        book.moved_cursors = moved
        by_id = {o.id: o for o in [*others, q]}
        drained, drain_changes, drain_notes = lc.apply_drain(book, by_id, when, change.actor)
        touched += [d for d in drained if d.id != q.id]
        changes += drain_changes
        notes += drain_notes
        store.save_qualifications(s, touched)
        store.add_changes(s, changes)
        store.save_cursors(s, {k: book.cursors[k] for k in book.moved_cursors})
        enqueue_alerts(s, config, notes, {t.id: t for t in touched})
    return q


def claim(
    state: StateStore, config: Config, qualification_id: str, actor: str, at: datetime | None = None
) -> lc.Qualification:
    """A rep takes an unassigned or queued qualification."""
    when = _when(at)
    return _act(
        state,
        config,
        qualification_id,
        lambda q, _b: lc.claim(q, actor, when, q.team or _team_of(config, actor)),
        when,
    )


def start_working(
    state: StateStore, config: Config, qualification_id: str, actor: str, at: datetime | None = None
) -> lc.Qualification:
    when = _when(at)
    return _act(
        state,
        config,
        qualification_id,
        lambda q, _b: lc.start_working(q, actor, when),
        when,
    )


def mark_won(
    state: StateStore, config: Config, qualification_id: str, actor: str, at: datetime | None = None
) -> lc.Qualification:
    when = _when(at)
    return _act(state, config, qualification_id, lambda q, _b: lc.mark_won(q, actor, when), when)


def disqualify(
    state: StateStore,
    config: Config,
    qualification_id: str,
    actor: str,
    reason: str,
    at: datetime | None = None,
) -> lc.Qualification:
    when = _when(at)
    return _act(
        state,
        config,
        qualification_id,
        lambda q, _b: lc.disqualify(q, actor, when, reason),
        when,
    )


def reassign(
    state: StateStore,
    config: Config,
    qualification_id: str,
    actor: str,
    rep: str | None = None,
    team: str | None = None,
    at: datetime | None = None,
) -> lc.Qualification:
    """To another rep (their team unless ``team`` says otherwise) or to another team."""
    if rep is None and team is None:
        raise lc.LifecycleError("reassign needs a rep or a team")
    when = _when(at)

    def action(q: lc.Qualification, book: lc.RoutingBook) -> lc.Change:
        if rep is not None:
            email, team_key = _rep_of(config, rep, team)
            return lc.reassign_to_rep(q, actor, when, email, team_key)
        assert team is not None
        return lc.reassign_to_team(q, actor, when, team, book)

    return _act(state, config, qualification_id, action, when)


# --------------------------------------------------------------------------- services


def _config_of(runtime: Runtime, payload: Mapping[str, Any]) -> Config:
    """The definitions a service call names, with the app's away state applied."""
    return routing_config(
        runtime.state, read_config(payload.get("config") or runtime.settings.config)
    )


@service("evaluate")
def evaluate_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """``{as_of?, dry_run?, replay_from?, step_seconds?, config?}`` -> evaluate's JSON."""
    config = _config_of(runtime, payload)
    as_of = parse_time(payload["as_of"]) if payload.get("as_of") else now_utc()
    dry_run = bool(payload.get("dry_run"))
    if payload.get("replay_from"):
        start = parse_time(payload["replay_from"], "--replay-from")
        step = timedelta(seconds=float(payload.get("step_seconds") or 86400))
        outcome, steps = run_replay(runtime, config, start, as_of, step, dry_run)
        return {**outcome.to_json(), "steps": steps}
    return run_evaluation(runtime, config, as_of, dry_run).to_json()


def list_qualifications(
    state: StateStore, status: str | None = None, pql: str | None = None
) -> list[lc.Qualification]:
    if status is not None and status != "open" and status not in lc.STATUSES:
        raise ServiceError(
            f"--status: expected open or one of {', '.join(lc.STATUSES)}, got {status!r}"
        )
    return QualificationStore(state).find(status, pql)


@service("qualifications")
def qualifications_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """``{status?, pql?}`` -> ``{"qualifications": [...]}`` (is_new false)."""
    quals = list_qualifications(runtime.state, payload.get("status"), payload.get("pql"))
    return {"qualifications": [qualification_json(q) for q in quals]}


def change_json(c: lc.Change) -> dict[str, Any]:
    """One history row as JSON (for the API and the web app)."""
    return {
        "at": iso(c.at),
        "actor": c.actor,
        "status_from": c.status_from,
        "status_to": c.status_to,
        "team": c.team,
        "rep": c.rep,
        "reason": c.reason,
        "rule": c.rule,
    }


def qualification_detail(state: StateStore, qualification_id: str) -> dict[str, Any]:
    """A qualification in evaluate's shape plus its history, closed_at and what it held."""
    store = QualificationStore(state)
    with state.session() as s:
        q = store.get(s, qualification_id)
    if q is None:
        raise lc.LifecycleError(f"no qualification {qualification_id!r}")
    return {
        **qualification_json(q),
        "closed_at": iso(q.closed_at) if q.closed_at is not None else None,
        "plan_at_qualification": q.plan_at_qualification,
        "stage_at_qualification": q.stage_at_qualification,
        "history": [change_json(c) for c in store.history(q.id)],
    }
