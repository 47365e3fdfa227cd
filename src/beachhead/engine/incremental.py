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
  the partials of the users with new data, an identity move or activity that left an
  account feature's window, from their own events (only the activity inside the widest
  account window for a user whose activity only left such a window, who is not
  re-evaluated), combines the affected accounts from their pairs, and evaluates the
  re-evaluated users with the plan on their own events: their whole history, or, when
  the only unwindowed user features are ``first_seen`` / ``last_seen``, their activity
  after the kept ``History``'s cut and its first and last older rows per event.
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.schema as sch
import pyarrow as pa

from beachhead.engine.checkpoint import Checkpoint, Mark, Pairs, merge_fresh
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
    history_reach,
    identity_of,
    member_traits,
    of_accounts,
    pair_window,
    pairs_supported,
    prepare_pairs,
    read_columns,
    read_history,
    replace_users,
)
from beachhead.engine.prepared import (
    ACTIVITY_SQL,
    RAW_ID,
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
from beachhead.engine.statements import StepStatements
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot
from beachhead.rules.clock import Exit, Exits, account_reads, clock_of, exits_of
from beachhead.rules.durations import to_utc
from beachhead.rules.model import Config, Level
from beachhead.rules.redate import reworded_at
from beachhead.rules.result import Evaluation, Match

TABLES = ("events", "trait_rows", "links", "memberships")
# Above this share of changed entities a full evaluation is as cheap and simpler.
FULL_SHARE = 0.5


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
    paired: int = 0  # users whose pair partials the step recomputed (path pairs)
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
    of a user feature or of an account feature; and the ``context.groupId``\\ s of the
    rows that became visible or left an account feature's window."""

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
    cols = f"{RAW_ID} AS r, context_group_id AS g"
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
            # both ends: a window (``ts > as_of - w``) loses a row at ``as_of = ts + w``,
            # while a ``before: w ago`` (``ts < as_of - w``) gains it only after that
            parts.append(
                f"SELECT {cols}, FALSE AS n, {u} AS u, {a} AS a FROM events"
                f" WHERE ts >= {ts_sql(last.as_of - w)} AND ts <= {ts_sql(as_of - w)}"
                f" AND type IN ({ACTIVITY_SQL})"
            )
    rows = query_tuples(
        con,
        "SELECT r, g, bool_or(n), bool_or(u), bool_or(a) FROM ("
        + " UNION ALL ".join(parts)
        + ") AS x WHERE n OR u OR a GROUP BY r, g",
    )
    out = Touched(set(), set(), set(), set())
    for r, g, n, ux, ax in rows:
        if g is not None and (n or ax):  # a user window's exit leaves the account be
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
        f" AND ts <= {ts_sql(as_of)} AND type IN ({ACTIVITY_SQL})"
        f" AND {RAW_ID} IN ({ids})",
    )
    return {str(g) for (g,) in rows}


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
        prepared_steps: bool = True,
    ) -> None:
        self.free_mail = free_mail
        self.full_share = full_share
        self.pairs = pairs  # keep the account level's pair partials (DuckDB, foldable)
        self.last: Checkpoint | None = None
        self.prepared_steps = prepared_steps  # the pairs steps' queries as prepared statements
        self.kept: StepStatements | None = None  # engine/statements.py

    def reset(self) -> None:
        self.last = None
        self._drop_statements()

    def _drop_statements(self) -> None:
        if self.kept is not None:
            self.kept.close()
            self.kept = None

    def _statements(
        self,
        con: Any,
        prepared: PreparedEvaluation,
        pp: PairPlan,
        columns: list[str],
        windowed: bool,
    ) -> StepStatements | None:
        """The prepared step statements for these plans on ``con`` (made afresh when
        they do not fit: other plans or connection, or ``RENEW`` steps old)."""
        if not self.prepared_steps:
            return None
        if self.kept is not None and self.kept.fits(con, prepared, pp, columns):
            return self.kept
        self._drop_statements()
        self.kept = StepStatements(con, prepared, pp, columns, windowed)
        return self.kept

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
        seq = marks["events"].seq
        pairs = self._build_pairs(con, config, as_of, snap, seq) if self.pairs else None
        dated = clock_of(config).dated_pqls
        until = {  # when each dated match's "... ago" can first read differently
            (m.pql, m.entity_id): reworded_at(m, config, as_of)
            for m in result.matches
            if m.pql in dated
        }
        self.last = Checkpoint(as_of, config, result, snap, marks, identity, pairs, None, until)
        # the matches' index now, with the checkpoint: steps carry it on, and the first
        # step after a full round no longer builds it (0.07 s at 10M events, 100k users)
        self.last.matches_by_pql()
        timings = {"identity": t1 - t0, "evaluate": t2 - t1}
        if pairs is not None:
            timings["pairs"] = time.perf_counter() - t2
        return StepInfo(
            result, snap, True, reason, len(result.users), len(result.accounts), timings=timings
        )

    def _build_pairs(
        self, con: Any, config: Config, as_of: datetime, snap: Snapshot, seq: int
    ) -> Pairs | None:
        """The pair partials of every (account, user) at ``as_of`` (one more pass), and
        the users' older rows (``History``) read at events ``seq``."""
        if not pairs_supported(config, con.name):
            return None
        lambdas = _prepare(con)
        schema = con.table("events").schema()
        prepared, pp = _plans(con, config, snap, schema, lambdas)
        table = build_pairs(con, prepared, pp, snap, as_of)
        columns = read_columns(prepared, pp, schema.names)
        history = read_history(con, config, as_of, columns, seq)
        # the steps' statements with the checkpoint, as the pairs: prepared once here,
        # with the members' traits the account level reads
        stmts = self._statements(con, prepared, pp, columns, pair_window(config) is not None)
        keys = member_traits(config)
        if stmts is not None and stmts.keeps_members(keys):
            # loaded afresh: the identity may have moved in ways no step's delta carried
            # (a step that fell back to this full round after advancing it)
            stmts.member_traits(snap, keys, set(), set(), reload=True)
        return Pairs(table, schema, columns, history)

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
            # (and the statements' tables may hold half a step)
            self.reset()
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
        merged, index, until = merge_fresh(last, fresh, snap, users, accounts, delta, as_of, clock)
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

        The paired users (of the raw ids that became visible or left an account
        feature's window, and whose identity moved: both old and new user of a moved raw
        id) get their pair rows recomputed from their own events; every other pair is
        unchanged (nothing of its user entered or left an account window, its raw ids and
        memberships are the same).
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
        # re-evaluated users: their whole history is read (user features need it; with a
        # History, its cut's later activity and the kept older rows stand for it)
        whole = closed(changed | {snap.user(r) for r in touched_raws.user_exit})
        # users whose pairs are recomputed: those with new data or an identity move, and
        # those whose activity left a window of an account feature (their pairs need the
        # window's activity only). A user whose activity left only a window of a *user*
        # feature keeps their pairs: nothing of theirs entered or left an account window.
        paired = closed(changed | {snap.user(r) for r in touched_raws.account_exit})
        # every user whose events the step copies
        touched = whole | paired
        window = pair_window(config)
        history = kept.history
        if history is not None and history.stale(con, as_of, history_reach(config)):
            history = read_history(con, config, as_of, kept.columns, marks["events"].seq)
        stmts = self._statements(con, prepared, pp, kept.columns, window is not None)
        run = Run(con)
        stats = 0
        try:
            # the copy goes into the statements' fixed table when they are kept
            since = None if window is None else cutoff - window
            pair_raws = raws_of_all(paired)
            into = stmts.begin(since, pair_raws) if stmts else None
            if window is None:
                ev_t = run.events_of(raws_of_all(touched), cutoff, kept.columns, into=into)
            else:
                ev_t = run.events_of(
                    raws_of_all(whole),
                    cutoff,
                    kept.columns,
                    recent=raws_of_all(touched - whole),
                    since=since,
                    history=history,
                    into=into,
                )
            stats += run.count(ev_t)
            cut = identity_of(snap, paired, raws_of, memberships=True)
            if stmts is not None:
                stmts.identity_of("p", cut)
                fresh_pairs = conform(stmts.run_pairs(cutoff), pp.schema)
            else:
                names = run.upload(cut, prepared.stitched)
                # a pair partial reads the paired users' rows in the widest account
                # window only: the whole-history users' older rows go to the users'
                # features, not here
                names[T_EVENTS] = run.after(ev_t, since, run.ids("paired", pair_raws))
                fresh_pairs = conform(
                    run.arrow(prepared.sql(pp.pairs_sql, cutoff, names)), pp.schema
                )
            table, gone = replace_users(kept.table, paired, fresh_pairs)
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
            members = {u for a in full_accounts for u in snap.members.get(a, ())} if keys else set()
            kept_members = stmts is not None and stmts.keeps_members(keys)
            if keys and not kept_members:  # member distinct_values read these traits
                level_snap.users = {
                    u: {k: t[k] for k in keys if k in t}
                    for u in members
                    if (t := snap.users.get(u)) is not None
                }
            if stmts is not None:
                if kept_members:  # every user's, kept in the statements' table
                    stmts.member_traits(snap, keys, members, delta.users)
                stmts.identity_of("l", level_snap, users=not kept_members)
                stmts.pairs_rows(of_accounts(table, full_accounts))
                level = stmts.run_level(cutoff)
            else:
                names_l = run.upload(level_snap, prepared.stitched)
                names_l[T_PAIRS] = run.register("pairs", of_accounts(table, full_accounts))
                level = run.materialize("level", prepared.sql(pp.level_sql, cutoff, names_l))
                names_l[T_LEVEL] = level
            fresh = Evaluation(as_of=cutoff)
            evidence = Evidence(config, snap, cutoff)
            if accounts:
                if stmts is not None:
                    acc = conform(stmts.run_accounts(cutoff), prepared.accounts_schema)
                else:
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
                if stmts is not None and events == stmts.events:  # the step's own copy
                    stmts.identity_of("u", cut)
                    usr = conform(stmts.run_users(cutoff), prepared.users_schema)
                else:
                    names_u = run.upload(cut, prepared.stitched)
                    names_u[T_EVENTS] = events
                    names_u[T_LEVEL] = level
                    usr = fetch(
                        con,
                        prepared.sql(prepared.users_fetch, cutoff, names_u),
                        prepared.users_schema,
                    )
                got, found = _level_matches(usr, prepared, Level.USER, snap, evidence, who)
                fresh.users.update(got)
                fresh.matches.extend(found)

            def events_of(who: set[str]) -> str:
                nonlocal stats
                if who <= whole:  # the cut holds their whole history
                    return ev_t
                name = run.events_of(raws_of_all(who), cutoff, kept.columns, history=history)
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
            if stmts is not None:
                stmts.end()
        t4 = time.perf_counter()
        merged, index, until = merge_fresh(last, fresh, snap, users, accounts, delta, as_of, clock)
        pairs = Pairs(table, kept.schema, kept.columns, history)
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
            paired=len(paired),
            path="pairs",
        )
