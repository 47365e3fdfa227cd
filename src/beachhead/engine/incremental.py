"""Incremental evaluation: re-evaluate only the entities whose result can have changed.

A full evaluation (``engine.evaluate.evaluate``) aggregates every visible event. Between
two evaluations only a few entities usually change, so ``IncrementalEvaluator.step`` keeps
the last full ``Evaluation`` and, at the next ``as_of``, recomputes only:

- **new data:** the users named by events that became visible since the last step (stored
  after it, or stored earlier with a time after the last ``as_of``), and the accounts
  they count toward (``context.groupId`` or every account of the user);
- **identity changes:** every user and account whose entry in the identity snapshot
  changed (traits, membership, primary account, an alias or identify that moved a raw id
  to another user: both the old and the new user);
- **windows that moved:** the entities of every activity that left a window between the
  two ``as_of``\\ s (``within``, ``first_seen``/``last_seen`` windows and ``N ago``
  bounds on them);
- the accounts of those users, then the users whose primary account's traits or read
  scores changed (all users of those accounts when users read account metrics).

The kept matches of a PQL whose evidence says "21 days ago" (first_seen/last_seen) get
that sentence re-worded for the new ``as_of`` (``redate``); nothing else in them moves.

Everything else keeps its previous result, which cannot have changed. Results are
identical to a full evaluation (``tests/backends/test_incremental.py`` checks it step by
step against ``evaluate``). It falls back to a full evaluation when it cannot bound the
change: the first step, other definitions, an ``as_of`` before the last one, rows that
appeared below the last seen ``seq`` (a late commit on PostgreSQL), a definition that
compares a trait or property with a relative time (``30d ago``, ``within``) while the
clock moved, or when most entities changed anyway.

Two ways to compute the affected entities (``StepInfo.path``):

- **pairs** (DuckDB, every account stream feature foldable: ``engine/pairs.py``): the
  evaluator keeps the account level as per-(account, user) partials. A step recomputes
  the partials of the touched users from their own events (only the activity inside the
  widest account window for a user whose activity only left such a window, who is not
  re-evaluated), combines the affected accounts from their pairs, and evaluates the
  re-evaluated users with the plan on their own events (their whole history).
  Account-level ``count``, ``first_seen``, ``last_seen``, ``min``, ``max``,
  ``distinct_users``, ``days_active``, and the ``active_users``, ``days_active`` and
  windowed ``distinct_values`` metrics take this path.
- **subset** (PostgreSQL; an account-level ``sum`` or ``avg``):
  ``engine/incremental_subset.py`` runs the full evaluation's compiled plan
  (``engine/prepared.py``) on a filtered copy of the events of the affected entities,
  with an identity snapshot cut down to them plus what their rows read: the members of
  their accounts and the users of guest activity (``context.groupId``) toward them.

Identity moves with the rows that became visible (``engine/identity_incremental.py``).
A step that fails drops the checkpoint: the next one is full.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, KeysView
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.schema as sch
import pyarrow as pa

from beachhead.engine.evaluate import (
    _backend_of,
    _prepare,
    evaluate,
)
from beachhead.engine.gcpause import paused_gc
from beachhead.engine.identity_incremental import Delta, IdentityState, NeedFull, read_rows
from beachhead.engine.incremental_subset import evaluate_subset
from beachhead.engine.pairs import (
    T_PAIRS,
    PairPlan,
    Run,
    build_pairs,
    conform,
    identity_of,
    member_traits,
    of_accounts,
    pair_window,
    pairs_supported,
    prepare_pairs,
    read_columns,
    replace_users,
)
from beachhead.engine.prepared import (
    T_EVENTS,
    T_LEVEL,
    Evidence,
    PreparedEvaluation,
    entities,
    fetch,
    matches,
    prepare,
    sql_string,
    ts_sql,
)
from beachhead.engine.snapshot import query_tuples
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot
from beachhead.ingest.message import ACTIVITY_TYPES
from beachhead.rules.durations import to_utc
from beachhead.rules.explain import _ago, sentence
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
from beachhead.rules.result import Evaluation, Match

TABLES = ("events", "trait_rows", "links", "memberships")
_TYPES = ", ".join("'" + t + "'" for t in sorted(ACTIVITY_TYPES))
# Above this share of changed entities a full evaluation is as cheap and simpler.
FULL_SHARE = 0.5


# --------------------------------------------------------------------------- definitions


def _conditions(config: Config) -> list[Condition]:
    """Every condition an Evaluation reads: scores, stages, PQL ``when`` and touch."""
    out: list[Condition] = [r.when for s in config.scores.values() for r in s.rules]
    out += [s.when for s in config.stages]
    for p in config.pqls:
        out.append(p.when)
        out += [t.when for t in p.touch if t.when is not None]
    return out


def _leaves(config: Config) -> list[Leaf]:
    return [leaf for cond in _conditions(config) for leaf in iter_leaves(cond)]


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


# --------------------------------------------------------------------------- identity diff


def _changed_users(old: Snapshot, new: Snapshot) -> set[str]:
    out: set[str] = set()
    for raw in old.user_of.keys() | new.user_of.keys():
        a, b = old.user_of.get(raw), new.user_of.get(raw)
        if a != b:
            out.update(x for x in (a, b) if x is not None)
    for u in old.users.keys() | new.users.keys():
        if (
            old.users.get(u) != new.users.get(u)
            or old.primary.get(u) != new.primary.get(u)
            or old.accounts_of.get(u) != new.accounts_of.get(u)
            or (u in old.users) != (u in new.users)
        ):
            out.add(u)
    return out


def _changed_accounts(old: Snapshot, new: Snapshot) -> set[str]:
    return {
        a
        for a in old.accounts.keys() | new.accounts.keys()
        if old.accounts.get(a) != new.accounts.get(a)
        or old.members.get(a) != new.members.get(a)
        or (a in old.accounts) != (a in new.accounts)
    }


# --------------------------------------------------------------------------- steps


@dataclass
class Mark:
    """Where a table stood at the last step: its largest ``seq`` and its row count."""

    seq: int
    count: int
    above: int = 0  # rows with a seq above the previous step's mark


@dataclass
class Pairs:
    """The account level's pair partials at the checkpoint's ``as_of`` (``engine/pairs.py``)."""

    table: pa.Table
    schema: sch.Schema  # of the events table they were computed from
    columns: list[str]  # the events columns the plan and the pair SQL read


@dataclass
class Checkpoint:
    as_of: datetime
    config: Config
    evaluation: Evaluation
    snapshot: Snapshot
    marks: dict[str, Mark]
    identity: IdentityState
    pairs: Pairs | None = None
    # the evaluation's matches by PQL and entity, in its order (built on first use)
    index: dict[str, dict[str, Match]] | None = None
    # per dated match, the first as_of at which its sentences can read differently
    until: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def matches_by_pql(self) -> dict[str, dict[str, Match]]:
        if self.index is None:
            index: dict[str, dict[str, Match]] = {}
            for m in self.evaluation.matches:  # sorted by (pql, entity_id)
                index.setdefault(m.pql, {})[m.entity_id] = m
            self.index = index
        return self.index


def _seqs(marks: dict[str, Mark]) -> dict[str, int]:
    return {name: m.seq for name, m in marks.items()}


@dataclass
class StepInfo:
    """What one step did (for logs, tests and the benchmark)."""

    evaluation: Evaluation
    snapshot: Snapshot
    full: bool
    reason: str
    users: int = 0  # entities re-evaluated (all of them when full)
    accounts: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    events: int = 0  # events the step copied and read (incremental steps)
    path: str = "full"  # "full", "pairs" (account features from pair partials) or "subset"


def _marks(con: ibis.BaseBackend, before: dict[str, Mark] | None) -> dict[str, Mark]:
    """Each table's largest seq and row count, and how many rows are above ``before``
    (one query for the four tables)."""
    parts = []
    for name in TABLES:
        prev = before[name].seq if before is not None else -1
        parts.append(
            f"SELECT '{name}' AS t, count(*) AS n, COALESCE(max(seq), 0) AS s,"
            f" count(*) FILTER (WHERE seq > {int(prev)}) AS k FROM {name}"
        )
    rows = query_tuples(con, " UNION ALL ".join(parts))
    return {str(t): Mark(int(s or 0), int(n or 0), int(k or 0)) for t, n, s, k in rows}


def _late_rows(before: dict[str, Mark], now: dict[str, Mark]) -> bool:
    """Did rows appear with a ``seq`` at or below the last seen one (a late commit)?"""
    return any(now[n].count - now[n].above != before[n].count for n in TABLES)


def _touched(
    con: ibis.BaseBackend,
    last: Checkpoint,
    as_of: datetime,
    windows: Iterable[timedelta],
) -> tuple[set[str], set[str]]:
    """Raw ids and ``context.groupId``\\ s of events that became visible or left a window."""
    every = frozenset((None, w) for w in windows)
    got = _touched_by_level(con, last, as_of, Exits(every, every))
    return got.raws(), got.groups


@dataclass
class Touched:
    """The raw ids of a step: with data that became visible, whose activity left a window
    of a user feature or of an account feature; and the ``context.groupId``\\ s of those
    rows."""

    new: set[str]
    user_exit: set[str]
    account_exit: set[str]
    groups: set[str]

    def raws(self) -> set[str]:
        return self.new | self.user_exit | self.account_exit


def _exit_flag(exits: Iterable[Exit], w: timedelta) -> str:
    """SQL: does a row (in the range window ``w`` left) leave one of ``exits``?"""
    events = set()
    for event, window in exits:
        if window != w:
            continue
        if event is None:
            return "TRUE"
        events.add(event)
    if not events:
        return "FALSE"
    return "event IN (" + ", ".join(sql_string(e) for e in sorted(events)) + ")"


def _touched_by_level(
    con: ibis.BaseBackend, last: Checkpoint, as_of: datetime, exits: Exits
) -> Touched:
    """The raw ids (and ``context.groupId``\\ s) of events that became visible or left a
    window, with the reason per raw id: one query, a UNION ALL of one select per reason
    and window, each a plain range on ``seq`` or ``ts`` (the storage's min/max per
    block skips most of the table; one select with the ORs read all of it, 20x slower)."""
    seq_mark = int(last.marks["events"].seq)
    cols = "COALESCE(user_id, anonymous_id) AS r, context_group_id AS g"
    upto = f"ts <= {ts_sql(as_of)}"
    parts = [
        f"SELECT {cols}, TRUE AS n, FALSE AS u, FALSE AS a FROM events"
        f" WHERE seq > {seq_mark} AND {upto}",
        f"SELECT {cols}, TRUE AS n, FALSE AS u, FALSE AS a FROM events"
        f" WHERE ts > {ts_sql(last.as_of)} AND {upto}",
    ]
    if as_of > last.as_of:
        for w in sorted({w for _e, w in exits.user | exits.account}):
            u, a = _exit_flag(exits.user, w), _exit_flag(exits.account, w)
            parts.append(
                f"SELECT {cols}, FALSE AS n, {u} AS u, {a} AS a FROM events"
                f" WHERE ts > {ts_sql(last.as_of - w)} AND ts <= {ts_sql(as_of - w)}"
                f" AND type IN ({_TYPES})"
            )
    rows = query_tuples(
        con,
        "SELECT r, g, bool_or(n), bool_or(u), bool_or(a) FROM ("
        + " UNION ALL ".join(parts)
        + ") AS x WHERE n OR u OR a GROUP BY r, g",
    )
    out = Touched(set(), set(), set(), set())
    for r, g, n, ux, ax in rows:
        if g is not None:
            out.groups.add(g)
        if r is None:
            continue
        if n:
            out.new.add(r)
        if ux:
            out.user_exit.add(r)
        if ax:
            out.account_exit.add(r)
    return out


def _guest_groups(con: ibis.BaseBackend, raws: set[str], as_of: datetime) -> set[str]:
    """The ``context.groupId``\\ s of the visible activity of ``raws``."""
    ids = ", ".join(sql_string(r) for r in sorted(raws))
    rows = query_tuples(
        con,
        "SELECT DISTINCT context_group_id FROM events WHERE context_group_id IS NOT NULL"
        f" AND ts <= {ts_sql(as_of)} AND type IN ({_TYPES})"
        f" AND COALESCE(user_id, anonymous_id) IN ({ids})",
    )
    return {str(g) for (g,) in rows}


def _updated(
    last: dict[str, Any], fresh: dict[str, Any], ids: KeysView[str], changed: set[str]
) -> dict[str, Any]:
    """Every entity of ``ids`` by sorted id: ``fresh`` for ``changed``, else ``last``."""
    if last.keys() == ids:  # the same entities: keep the (sorted) order, swap values
        out = dict(last)
        for k in changed:
            out[k] = fresh[k]
        return out
    return {k: fresh[k] if k in changed else last[k] for k in sorted(ids)}


def _kept(
    index: dict[str, dict[str, Match]],
    fresh: list[Match],
    level_of: dict[str, str],
    users: set[str],
    accounts: set[str],
) -> dict[str, dict[str, Match]]:
    """The matches by PQL with those of ``users``/``accounts`` (re-evaluated or gone)
    replaced by ``fresh``; each PQL's entities stay sorted. Untouched PQLs are shared."""
    by_pql: dict[str, list[Match]] = {}
    for m in fresh:
        by_pql.setdefault(m.pql, []).append(m)
    out: dict[str, dict[str, Match]] = {}
    for pql in sorted(index.keys() | by_pql.keys()):
        d = index.get(pql, {})
        drop = accounts if level_of[pql] == Level.ACCOUNT.value else users
        gone = [e for e in drop if e in d] if len(drop) < len(d) else [e for e in d if e in drop]
        adds = by_pql.get(pql, [])
        if gone or adds:
            d = dict(d)
            for e in gone:
                del d[e]
            new_keys = any(m.entity_id not in d for m in adds)
            for m in adds:
                d[m.entity_id] = m
            if new_keys:  # keys are distinct strings: the Match is never compared
                d = dict(sorted(d.items()))
        if d:
            out[pql] = d
    return out


def _merge(
    last: Checkpoint,
    fresh: Evaluation,
    snapshot: Snapshot,
    users: set[str],
    accounts: set[str],
    delta: Delta,
) -> tuple[Evaluation, dict[str, dict[str, Match]]]:
    """The last evaluation with ``fresh``'s entities swapped in (and the entities that
    left the snapshot out), and its matches by PQL."""
    ev = last.evaluation
    out = Evaluation(as_of=fresh.as_of)
    out.users = _updated(ev.users, fresh.users, snapshot.users.keys(), users)
    out.accounts = _updated(ev.accounts, fresh.accounts, snapshot.accounts.keys(), accounts)
    # an entity leaves the snapshot only through an identity change (the delta's)
    gone_users = users | {u for u in delta.users if u not in snapshot.users}
    gone_accounts = accounts | {a for a in delta.accounts if a not in snapshot.accounts}
    level_of = {p.key: p.level.value for p in last.config.pqls}
    index = _kept(last.matches_by_pql(), fresh.matches, level_of, gone_users, gone_accounts)
    return out, index


def redate(match: Match, config: Config, as_of: datetime, since: datetime | None = None) -> Match:
    """``match`` with its first_seen/last_seen sentences re-worded for ``as_of``.

    Those sentences say "21 days ago"; the value (an ISO time) and whether the leaf held
    are unchanged for an entity that nothing touched (a leaf that can flip with the clock
    is covered by the windows), so the sentence is the only part that moves. With
    ``since`` (the ``as_of`` the sentences were written at) a sentence whose "... ago"
    reads the same at both times is not rebuilt (the rest of it does not read the time).
    """
    leaves = iter_leaves(config.pql(match.pql).when)
    evidence = []
    moved = False
    for leaf, e in zip(leaves, match.evidence, strict=True):
        if isinstance(leaf, EventCond) and leaf.aggregate in (
            Aggregate.FIRST_SEEN,
            Aggregate.LAST_SEEN,
        ):
            said = datetime.fromisoformat(e.value) if isinstance(e.value, str) else e.value
            if since is None or _ago(said, since) != _ago(said, as_of):
                said_now = sentence(leaf, said, e.held, as_of)
                if said_now != e.sentence:
                    e = replace(e, sentence=said_now)
                    moved = True
        evidence.append(e)
    # most sentences read the same a minute later: the match itself is kept then
    return replace(match, evidence=evidence) if moved else match


_NEVER = datetime.max.replace(tzinfo=UTC)


def _ago_changes(t: datetime, as_of: datetime) -> datetime:
    """The first time after ``as_of`` at which "... ago" of ``t`` reads differently
    (``rules.explain``'s buckets: just now, minutes, hours, days)."""
    delta = as_of - t
    if delta < timedelta(minutes=1):
        return t + timedelta(minutes=1)
    if delta.days >= 1:
        return t + timedelta(days=delta.days + 1)
    hours = int(delta.total_seconds() // 3600)
    if hours >= 1:
        return t + timedelta(hours=hours + 1)
    return t + timedelta(minutes=int(delta.total_seconds() // 60) + 1)


def _reworded_at(match: Match, config: Config, as_of: datetime) -> datetime:
    """When a first_seen/last_seen sentence of ``match`` (written at ``as_of``) can move."""
    out = _NEVER
    for leaf, e in zip(iter_leaves(config.pql(match.pql).when), match.evidence, strict=True):
        if (
            isinstance(leaf, EventCond)
            and leaf.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)
            and e.value is not None
        ):
            said = datetime.fromisoformat(e.value) if isinstance(e.value, str) else e.value
            out = min(out, _ago_changes(to_utc(said), as_of))
    return out


def _merged(
    last: Checkpoint,
    fresh: Evaluation,
    snap: Snapshot,
    users: set[str],
    accounts: set[str],
    delta: Delta,
    as_of: datetime,
    clock: Clock,
) -> tuple[Evaluation, dict[str, dict[str, Match]], dict[tuple[str, str], datetime]]:
    """The last evaluation with ``fresh``'s entities swapped in, kept dated matches
    re-worded for ``as_of`` (only those whose "... ago" can read differently by now);
    its matches by PQL, and when each dated match can move next."""
    merged, index = _merge(last, fresh, snap, users, accounts, delta)
    until = last.until
    if clock.dated_pqls:
        until = dict(until)
        recomputed = {(m.pql, m.entity_id) for m in fresh.matches}
        for key in recomputed:
            until.pop(key, None)  # written at as_of: known again at its next re-wording
        if as_of != last.as_of:
            for pql in clock.dated_pqls & index.keys():
                d = index[pql]
                out: dict[str, Match] | None = None
                for e, m in d.items():
                    key = (pql, e)
                    if key in recomputed or as_of < until.get(key, as_of):
                        continue
                    again = redate(m, last.config, as_of, last.as_of)
                    until[key] = _reworded_at(again, last.config, as_of)
                    if again is not m:
                        if out is None:
                            out = dict(d)
                        out[e] = again
                if out is not None:
                    index[pql] = out
        if len(until) > 2 * sum(len(index.get(q, ())) for q in clock.dated_pqls) + 1000:
            until = {k: v for k, v in until.items() if k[1] in index.get(k[0], ())}
    for d in index.values():
        merged.matches.extend(d.values())
    return merged, index, until


def _is_stitched(snap: Snapshot) -> bool:
    """Does any raw id stand for another user (the plan joins the map then)?"""
    return any(r != u for r, u in snap.user_of.items())


def _plans(
    con: Any, config: Config, snap: Snapshot, schema: sch.Schema, lambdas: bool
) -> tuple[PreparedEvaluation, PairPlan]:
    stitched = _is_stitched(snap)
    prepared = prepare(con, config, stitched=stitched, array_lambdas=lambdas)
    return prepared, prepare_pairs(config, con.name, stitched, schema, lambdas)


def _level_matches(
    table: pa.Table,
    prepared: PreparedEvaluation,
    level: Level,
    snap: Snapshot,
    ev: Evidence,
    wanted: set[str],
) -> tuple[dict[str, Any], list[Match]]:
    cols = prepared.accounts if level is Level.ACCOUNT else prepared.users
    got = entities(table, cols, prepared.config)
    out: list[Match] = []
    for j, pql in cols.pqls:
        out += [m for m in matches(table, cols, j, pql, snap, ev) if m.entity_id in wanted]
    return {k: v for k, v in got.items() if k in wanted}, out


def _scores(ev: Evaluation, account: str, keys: frozenset[str]) -> Any:
    e = ev.accounts.get(account)
    return None if e is None else {k: e.scores.get(k) for k in keys}


class IncrementalEvaluator:
    """Evaluations at increasing ``as_of`` over one events store, each re-using the last.

    Not thread-safe: one caller at a time (the scheduler holds the store's lock).
    """

    def __init__(
        self,
        free_mail: frozenset[str] | None = None,
        full_share: float = FULL_SHARE,
        pairs: bool = True,
    ) -> None:
        self.free_mail = free_mail
        self.full_share = full_share
        self.pairs = pairs  # keep the account level's pair partials (DuckDB, foldable)
        self.last: Checkpoint | None = None

    def reset(self) -> None:
        self.last = None

    def _mail(self) -> frozenset[str]:
        return frozenset(builtin_free_mail()) if self.free_mail is None else self.free_mail

    def _full(
        self,
        con: Any,
        config: Config,
        as_of: datetime,
        marks: dict[str, Mark],
        reason: str,
        identity: IdentityState | None = None,
    ) -> StepInfo:
        t0 = time.perf_counter()
        if identity is None:
            identity = IdentityState.load(con, as_of, self._mail(), _seqs(marks))
        snap = identity.snap
        t1 = time.perf_counter()
        result = evaluate(con, config, as_of, snap, free_mail=self.free_mail)
        t2 = time.perf_counter()
        pairs = self._build_pairs(con, config, as_of, snap) if self.pairs else None
        dated = clock_of(config).dated_pqls
        until = {  # when each dated match's "... ago" can first read differently
            (m.pql, m.entity_id): _reworded_at(m, config, as_of)
            for m in result.matches
            if m.pql in dated
        }
        self.last = Checkpoint(as_of, config, result, snap, marks, identity, pairs, None, until)
        timings = {"identity": t1 - t0, "evaluate": t2 - t1}
        if pairs is not None:
            timings["pairs"] = time.perf_counter() - t2
        return StepInfo(
            result, snap, True, reason, len(result.users), len(result.accounts), timings=timings
        )

    def _build_pairs(
        self, con: Any, config: Config, as_of: datetime, snap: Snapshot
    ) -> Pairs | None:
        """The pair partials of every (account, user) at ``as_of`` (one more pass)."""
        if not pairs_supported(config, con.name):
            return None
        lambdas = _prepare(con)
        schema = con.table("events").schema()
        prepared, pp = _plans(con, config, snap, schema, lambdas)
        table = build_pairs(con, prepared, pp, snap, as_of)
        return Pairs(table, schema, read_columns(prepared, pp, schema.names))

    def step(self, store_or_backend: Any, config: Config, as_of: datetime) -> StepInfo:
        """The Evaluation at ``as_of`` (identical to ``evaluate``), as cheaply as it can."""
        started = time.perf_counter()
        con, _store = _backend_of(store_or_backend)
        as_of = to_utc(as_of)
        marks = _marks(con, self.last.marks if self.last is not None else None)
        try:
            with paused_gc():  # engine/gcpause.py, as evaluate() does
                info = self._step(con, config, as_of, marks)
        except BaseException:
            # the kept identity may have moved already: the next step starts afresh
            self.last = None
            raise
        info.seconds = time.perf_counter() - started
        return info

    def _step(self, con: Any, config: Config, as_of: datetime, marks: dict[str, Mark]) -> StepInfo:
        last = self.last
        if last is None:
            return self._full(con, config, as_of, marks, "first evaluation")
        if last.config != config:
            return self._full(con, config, as_of, marks, "the definitions changed")
        if as_of < last.as_of:
            return self._full(con, config, as_of, marks, "as_of went back")
        if _late_rows(last.marks, marks):
            return self._full(con, config, as_of, marks, "rows committed out of seq order")
        clock = clock_of(config)
        if clock.unbounded and as_of != last.as_of:
            return self._full(con, config, as_of, marks, "a relative time on a trait/property")
        t0 = time.perf_counter()
        by_level: Touched | None = None
        if last.pairs is not None and pairs_supported(config, con.name):
            by_level = _touched_by_level(con, last, as_of, exits_of(config))
            raws, groups = by_level.raws(), by_level.groups
        else:
            raws, groups = _touched(con, last, as_of, clock.windows)
        t1 = time.perf_counter()
        identity = last.identity
        try:
            rows = read_rows(con, as_of, _seqs(marks), (last.as_of, _seqs(last.marks)), False)
            # every raw id of an event that became visible (the others were named already)
            rows.named = raws
            snap, delta = identity.advance(rows, as_of, _seqs(marks))
        except NeedFull:
            return self._full(con, config, as_of, marks, "identity needs a full resolve")
        t2 = time.perf_counter()
        if by_level is not None:
            return self._pairs_step(con, config, as_of, marks, snap, delta, by_level, (t0, t1, t2))
        old = last.snapshot
        users = {snap.user(r) for r in raws} | delta.users
        accounts = {g for g in groups if g in snap.accounts} | delta.accounts
        for u in list(users):
            accounts |= snap.accounts_of.get(u, set()) | old.accounts_of.get(u, set())
        # a raw id that moved to another user takes its guest activity along: the
        # accounts it went toward count other users now
        raws_of = identity.raws_of
        moved = {
            r
            for u in delta.users
            for r in raws_of.get(u, set()) | {u}
            if old.user(r) != snap.user(r)
        }
        if moved:
            accounts |= _guest_groups(con, moved, as_of)
        accounts &= snap.accounts.keys()
        users &= snap.users.keys()
        reads = account_reads(config)
        if reads.features:  # every user of these accounts reads them: re-evaluate all
            users |= {u for u, a in snap.primary.items() if a in accounts}
        total = len(snap.users) + len(snap.accounts)
        if total and (len(users) + len(accounts)) > self.full_share * total:
            return self._full(con, config, as_of, marks, "most entities changed", identity)
        t3 = time.perf_counter()
        light = not reads.features and reads.scores_from_traits
        stats: dict[str, int] = {}
        fresh = evaluate_subset(
            con, config, as_of, snap, users, accounts, light, identity.raws_of, stats
        )
        if not reads.features:
            # Users read their primary account's traits and some of its scores only: the
            # users of an account whose traits or read scores changed are re-evaluated too.
            moved = {
                a
                for a in accounts
                if old.accounts.get(a) != snap.accounts.get(a)
                or _scores(last.evaluation, a, reads.scores) != _scores(fresh, a, reads.scores)
            }
            second = {u for u, a in snap.primary.items() if a in moved} - users
            if second:
                more = evaluate_subset(
                    con, config, as_of, snap, second, set(), light, identity.raws_of, stats
                )
                fresh.users.update(more.users)
                fresh.matches.extend(more.matches)
                fresh.sort()
                users |= second
        t4 = time.perf_counter()
        merged, index, until = _merged(last, fresh, snap, users, accounts, delta, as_of, clock)
        self.last = Checkpoint(as_of, config, merged, snap, marks, identity, None, index, until)
        return StepInfo(
            merged,
            snap,
            False,
            "incremental",
            len(users),
            len(accounts),
            timings={
                "changes": t1 - t0,
                "identity": t2 - t1,
                "affected": t3 - t2,
                "evaluate": t4 - t3,
                "merge": time.perf_counter() - t4,
            },
            events=stats.get("events", 0),
            path="subset",
        )

    def _pairs_step(
        self,
        con: Any,
        config: Config,
        as_of: datetime,
        marks: dict[str, Mark],
        snap: Snapshot,
        delta: Delta,
        touched_raws: Touched,
        times: tuple[float, float, float],
    ) -> StepInfo:
        """A step whose accounts are combined from the kept pair partials.

        The touched users (of the raw ids that became visible or left a window, and
        whose identity moved: both old and new user of a moved raw id) get their pair
        rows recomputed from their own events; every other pair is unchanged (nothing of
        its user entered or left a window, its raw ids and memberships are the same).
        The affected accounts are those of the replaced and the new rows, of the
        touched users' memberships (before and after), of guest activity and of the
        identity delta; they are combined from their pairs, the users from their own
        events, both with the full plan's fetch queries."""
        last = self.last
        assert last is not None and last.pairs is not None
        t0, t1, t2 = times
        cutoff = as_of
        old = last.snapshot
        raws_of = last.identity.raws_of
        clock = clock_of(config)
        reads = account_reads(config)
        lambdas = _prepare(con)
        kept = last.pairs
        prepared, pp = _plans(con, config, snap, kept.schema, lambdas)
        groups = touched_raws.groups

        def closed(who: set[str]) -> set[str]:
            # with the users of every raw id of theirs (a moved id's old and new user)
            return who | {snap.user(r) for u in who for r in raws_of.get(u, ())}

        def raws_of_all(who: set[str]) -> set[str]:
            return {r for u in who for r in raws_of.get(u, ())} | who

        # new data and identity moves: all of the user may differ
        changed = closed({snap.user(r) for r in touched_raws.new} | delta.users)
        # re-evaluated users: their whole history is read (user features need it)
        whole = closed(changed | {snap.user(r) for r in touched_raws.user_exit})
        # users whose pairs are recomputed: those, and those whose activity left a
        # window of an account feature (their pairs need the window's activity only)
        touched = closed(whole | {snap.user(r) for r in touched_raws.account_exit})
        window = pair_window(config)
        run = Run(con)
        stats = 0
        try:
            if window is None:
                ev_t = run.events_of(raws_of_all(touched), cutoff, kept.columns)
            else:
                ev_t = run.events_of(
                    raws_of_all(whole),
                    cutoff,
                    kept.columns,
                    recent=raws_of_all(touched - whole),
                    since=cutoff - window,
                )
            stats += run.count(ev_t)
            cut = identity_of(snap, touched, raws_of, memberships=True)
            names = run.upload(cut, prepared.stitched)
            names[T_EVENTS] = ev_t
            fresh_pairs = conform(run.arrow(prepared.sql(pp.pairs_sql, cutoff, names)), pp.schema)
            table, gone = replace_users(kept.table, touched, fresh_pairs)
            accounts = gone | set(fresh_pairs.column("account").to_pylist()) | groups
            accounts |= delta.accounts
            for u in changed:  # a member's traits or memberships moved
                accounts |= snap.accounts_of.get(u, set()) | old.accounts_of.get(u, set())
            accounts &= snap.accounts.keys()
            users = whole & snap.users.keys()
            if reads.features:
                users |= {u for u, a in snap.primary.items() if a in accounts}
            total = len(snap.users) + len(snap.accounts)
            if total and (len(users) + len(accounts)) > self.full_share * total:
                return self._full(con, config, as_of, marks, "most entities changed", last.identity)
            t3 = time.perf_counter()
            light = not reads.features and reads.scores_from_traits
            acc_ids = accounts | {snap.primary[u] for u in users if u in snap.primary}
            acc_ids &= snap.accounts.keys()
            full_accounts = accounts if light else acc_ids
            level_snap = identity_of(snap, (), {}, accounts=acc_ids, member_accounts=full_accounts)
            keys = member_traits(config)
            if keys:  # member distinct_values read these traits of every member
                members = {u for a in full_accounts for u in snap.members.get(a, ())}
                level_snap.users = {
                    u: {k: t[k] for k in keys if k in t}
                    for u in members
                    if (t := snap.users.get(u)) is not None
                }
            names_l = run.upload(level_snap, prepared.stitched)
            names_l[T_PAIRS] = run.register("pairs", of_accounts(table, full_accounts))
            level = run.materialize("level", prepared.sql(pp.level_sql, cutoff, names_l))
            names_l[T_LEVEL] = level
            fresh = Evaluation(as_of=cutoff)
            evidence = Evidence(config, snap, cutoff)
            if accounts:
                acc = fetch(
                    con,
                    prepared.sql(prepared.accounts_fetch, cutoff, names_l),
                    prepared.accounts_schema,
                )
                fresh.accounts, found = _level_matches(
                    acc, prepared, Level.ACCOUNT, snap, evidence, accounts
                )
                fresh.matches += found

            def evaluate_users(who: set[str], events: str) -> None:
                cut = identity_of(snap, who, raws_of, accounts=acc_ids)
                names_u = run.upload(cut, prepared.stitched)
                names_u[T_EVENTS] = events
                names_u[T_LEVEL] = level
                usr = fetch(
                    con, prepared.sql(prepared.users_fetch, cutoff, names_u), prepared.users_schema
                )
                got, found = _level_matches(usr, prepared, Level.USER, snap, evidence, who)
                fresh.users.update(got)
                fresh.matches.extend(found)

            def events_of(who: set[str]) -> str:
                nonlocal stats
                if who <= whole:  # the cut holds their whole history
                    return ev_t
                name = run.events_of(raws_of_all(who), cutoff, kept.columns)
                stats += run.count(name)
                return name

            if users:
                evaluate_users(users, events_of(users))
            if not reads.features:
                moved = {
                    a
                    for a in accounts
                    if old.accounts.get(a) != snap.accounts.get(a)
                    or _scores(last.evaluation, a, reads.scores) != _scores(fresh, a, reads.scores)
                }
                # a user's primary account is one of its memberships
                second = {
                    u for a in moved for u in snap.members.get(a, ()) if snap.primary.get(u) == a
                }
                second -= users
                if second:
                    evaluate_users(second, events_of(second))
                    users |= second
            fresh.sort()
        finally:
            run.close()
        t4 = time.perf_counter()
        merged, index, until = _merged(last, fresh, snap, users, accounts, delta, as_of, clock)
        pairs = Pairs(table, kept.schema, kept.columns)
        self.last = Checkpoint(
            as_of, config, merged, snap, marks, last.identity, pairs, index, until
        )
        return StepInfo(
            merged,
            snap,
            False,
            "incremental",
            len(users),
            len(accounts),
            timings={
                "changes": t1 - t0,
                "identity": t2 - t1,
                "pairs": t3 - t2,
                "evaluate": t4 - t3,
                "merge": time.perf_counter() - t4,
            },
            events=stats,
            path="pairs",
        )
