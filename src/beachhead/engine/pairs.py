"""Account features kept as per-(account, user) partials between incremental steps.

An account's stream features (``engine/features.py``) read the activity of all its
members and guests. An incremental step that re-evaluates an account would have to read
all of that again; instead, ``IncrementalEvaluator`` keeps one partial row per (account,
user) of the attributed stream (``features.pair_partials``: counts, min/max, first/last
seen, an "any row passed" flag per distinct-user feature with the user's distinct key,
the distinct UTC days that passed per distinct-days feature) as an Arrow table. A step
recomputes the rows of the touched users only (from their own events), replaces them,
and builds the affected accounts' level table from their pairs (``features.pair_features``
combines them exactly as ``compute`` aggregates the stream), then runs the full plan's
fetch queries on it (``engine/prepared.py``: same level table columns).

Which definitions take this path (``pairs_supported``): every account stream feature is
foldable: ``count``, ``first_seen``, ``last_seen``, ``min``, ``max``, ``distinct_users``,
``days_active`` event aggregates and the ``active_users``, ``days_active`` and windowed
``distinct_values`` metrics (member metrics read the identity, not the pairs). An
account-level ``sum`` or ``avg`` (float sums round differently per grouping) takes the
subset path (``engine/incremental_subset.py``), as does PostgreSQL (the day lists are
DuckDB SQL).

Both templates are compiled once by Ibis per (definitions, backend, stitched, events
schema) with ``as_of`` and the table names as placeholders, like the plan.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import ibis.expr.schema as sch
import pyarrow as pa
import pyarrow.compute as pc

from beachhead.engine.evaluate import account_level
from beachhead.engine.features import pair_features, pair_foldable, pair_partials, stream_features
from beachhead.engine.jsonpath import dialect
from beachhead.engine.prepared import (
    ACTIVITY_SQL,
    RAW_ID,
    T_EVENTS,
    PreparedEvaluation,
    _execute,
    _quote,
    _templated,
    _unbound_snapshot,
    columns_read,
    config_fingerprint,
    drop,
    sentinel_ctx,
    snapshot_names,
    sql_string,
    ts_sql,
    upload_shaped,
)
from beachhead.engine.snapshot import Uploaded, duckdb_arrow
from beachhead.ingest.identity import Snapshot
from beachhead.rules.memo import Bounded
from beachhead.rules.model import Aggregate, Config, Level
from beachhead.rules.plan import Feature, FeatureKind, plan

T_PAIRS = "bhq__pairs"
_STR = pa.string()


def pairs_supported(config: Config, backend: str) -> bool:
    """Can this config's account level be kept as pair partials on ``backend``?"""
    if backend != "duckdb":
        return False
    feats = stream_features(plan(config).features_of(Level.ACCOUNT))
    return all(pair_foldable(f) for f in feats)


@dataclass(frozen=True)
class PairPlan:
    """The compiled pair templates of one config (see the module docstring)."""

    pairs_sql: str  # T_EVENTS + identity -> pair rows
    level_sql: str  # T_PAIRS + identity -> the account level table (the plan's columns)
    schema: pa.Schema  # of the pair rows


def compile_pairs(
    config: Config,
    backend: str,
    *,
    stitched: bool,
    events_schema: sch.Schema,
    array_lambdas: bool = True,
) -> PairPlan:
    """``_compile_pairs`` with its JSON steps written for ``backend`` (``engine/jsonpath.py``)."""
    with dialect(backend):
        return _compile_pairs(
            config,
            backend,
            stitched=stitched,
            events_schema=events_schema,
            array_lambdas=array_lambdas,
        )


def _compile_pairs(
    config: Config,
    backend: str,
    *,
    stitched: bool,
    events_schema: sch.Schema,
    array_lambdas: bool = True,
) -> PairPlan:
    p = plan(config)
    ctx = sentinel_ctx(backend, array_lambdas)
    snap = _unbound_snapshot(stitched)
    events = ibis.table(events_schema, name=T_EVENTS)
    features = p.features_of(Level.ACCOUNT)
    per = pair_partials(features, events, snap, ctx)
    pairs_t = ibis.table(per.schema(), name=T_PAIRS)
    level = account_level(pair_features(features, pairs_t), snap, config, p, ctx)
    return PairPlan(
        pairs_sql=_templated(per, backend),
        level_sql=_templated(level, backend),
        schema=per.schema().to_pyarrow(),
    )


_CACHE: Bounded[PairPlan] = Bounded(32)


def prepare_pairs(
    config: Config, backend: str, stitched: bool, events_schema: sch.Schema, lambdas: bool
) -> PairPlan:
    """The compiled pair templates, from the per-process cache."""
    key = (config_fingerprint(config), backend, stitched, lambdas, tuple(events_schema.items()))
    return _CACHE.get_or_make(
        key,
        lambda: compile_pairs(
            config, backend, stitched=stitched, events_schema=events_schema, array_lambdas=lambdas
        ),
    )


def identity_of(
    snapshot: Snapshot,
    users: Iterable[str],
    raws_of: Mapping[str, set[str]],
    accounts: Iterable[str] = (),
    member_accounts: Iterable[str] = (),
    memberships: bool = False,
) -> Snapshot:
    """``snapshot`` cut down to ``users`` (their raw ids, traits, primary; with
    ``memberships`` their own memberships) and ``accounts`` (the members of
    ``member_accounts`` among them)."""
    us = set(users)
    acc = set(accounts)
    members: dict[str, set[str]] = {}
    for a in member_accounts:
        members[a] = set(snapshot.members.get(a, ()))
    if memberships:
        for u in us:
            for a in snapshot.accounts_of.get(u, ()):
                members.setdefault(a, set()).add(u)
    return Snapshot(
        user_of={r: u for u in us for r in raws_of.get(u, ()) if r in snapshot.user_of},
        users={u: snapshot.users[u] for u in us if u in snapshot.users},
        accounts={a: snapshot.accounts[a] for a in acc if a in snapshot.accounts},
        members=members,
        accounts_of={u: set(snapshot.accounts_of[u]) for u in us if u in snapshot.accounts_of},
        primary={u: snapshot.primary[u] for u in us if u in snapshot.primary},
    )


@dataclass
class Run:
    """The temporary tables and registered Arrow views of one step (``close`` drops them)."""

    con: ibis.BaseBackend
    temps: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)  # registered Arrow tables
    sql_views: list[str] = field(default_factory=list)  # CREATE TEMP VIEW
    uploads: list[Uploaded] = field(default_factory=list)

    def name(self, label: str) -> str:
        return f"bh_{uuid.uuid4().hex[:10]}_{label}"

    def register(self, label: str, data: pa.Table) -> str:
        name = self.name(label)
        self.con.con.register(name, data)
        self.views.append(name)
        return name

    def ids(self, label: str, ids: Iterable[str]) -> str:
        return self.register(label, pa.table({"id": pa.array(sorted(ids), _STR)}))

    def upload(self, snap: Snapshot, stitched: bool) -> dict[str, str]:
        up = upload_shaped(self.con, snap, stitched)
        self.uploads.append(up)
        return snapshot_names(up)

    def events_of(
        self,
        raws: Iterable[str],
        cutoff: datetime,
        columns: Iterable[str],
        recent: Iterable[str] = (),
        since: datetime | None = None,
        history: History | None = None,
        into: str | None = None,
    ) -> str:
        """A temporary copy of the visible activity of ``raws`` (``columns`` only), and of
        ``recent`` the activity after ``since`` only. With ``history`` (``since``, when
        given, after its cut), the activity of ``raws`` after ``history.cut`` and their
        kept rows before it (what the plan reads of it, ``History``). With ``into``, the
        rows go into that existing (empty) table of ``columns`` instead of a new one."""
        whole = set(raws)
        later = set(recent) - whole if since is not None else set()
        name = self.name("events")
        columns = list(columns)
        cols = ", ".join(_quote(c) for c in columns)
        visible = f"ts <= {ts_sql(cutoff)} AND type IN ({ACTIVITY_SQL})"
        if history is not None and whole:
            assert since is None or since >= history.cut
            # the table is in about ts order, so the range skips the older blocks
            visible += f" AND ts > {ts_sql(history.cut)}"
        if later:
            assert since is not None
            after = f"ts > {ts_sql(since)}"
        if whole and later:
            # both in ONE scan: each id with whether its whole history is wanted. The
            # full scan for ``whole`` is paid anyway; a second select for ``later``
            # scanned the window's blocks again (10M, 1% of the accounts acted: 0.27 s
            # -> 0.19 s for the same 90k rows)
            ids = pa.table(
                {
                    "id": pa.array(sorted(whole) + sorted(later), _STR),
                    "whole": pa.array([True] * len(whole) + [False] * len(later)),
                }
            )
            ids_t = _quote(self.register("ids", ids))
            sql = (
                f"SELECT {cols} FROM events JOIN {ids_t} ON {ids_t}.id = {RAW_ID}"
                f" WHERE {visible} AND ({ids_t}.whole OR {after})"
            )
        elif later:  # the ts range skips the blocks before the window
            sql = (
                f"SELECT {cols} FROM events WHERE {visible} AND {after}"
                f" AND {RAW_ID} IN (SELECT id FROM {_quote(self.ids('recent', later))})"
            )
        else:
            sql = (
                f"SELECT {cols} FROM events WHERE {visible}"
                f" AND {RAW_ID} IN (SELECT id FROM {_quote(self.ids('raws', whole))})"
            )
        if into is None:
            _execute(self.con, f"CREATE TEMP TABLE {_quote(name)} AS {sql}")
            self.temps.append(name)
        else:
            name = into
            _execute(self.con, f"INSERT INTO {_quote(name)} ({cols}) {sql}")
        if history is not None and whole:
            older = history.of(whole)
            if older.num_rows:
                view = self.register("older", older.select(columns))
                _execute(
                    self.con,
                    f"INSERT INTO {_quote(name)} ({cols}) SELECT {cols} FROM {_quote(view)}",
                )
        return name

    def count(self, table: str) -> int:
        rows = self.con.con.execute(f"SELECT count(*) FROM {_quote(table)}").fetchall()
        return int(rows[0][0]) if rows else 0

    def arrow(self, sql: str) -> pa.Table:
        return duckdb_arrow(self.con.con, sql)

    def materialize(self, label: str, sql: str) -> str:
        name = self.name(label)
        _execute(self.con, f"CREATE TEMP TABLE {_quote(name)} AS {sql}")
        self.temps.append(name)
        return name

    def after(self, table: str, since: datetime | None, ids: str) -> str:
        """A temporary view of ``table``'s rows after ``since`` (all of them without it)
        whose raw id is in the ``ids`` table (dropped by ``close``)."""
        name = self.name("after")
        where = f"{RAW_ID} IN (SELECT id FROM {_quote(ids)})"
        if since is not None:
            where = f"ts > {ts_sql(since)} AND {where}"
        select = f"SELECT * FROM {_quote(table)} WHERE {where}"
        _execute(self.con, f"CREATE TEMP VIEW {_quote(name)} AS {select}")
        self.sql_views.append(name)
        return name

    def close(self) -> None:
        for name in reversed(self.sql_views):
            with contextlib.suppress(Exception):  # best effort, as drop
                _execute(self.con, f"DROP VIEW IF EXISTS {_quote(name)}")
        for name in reversed(self.temps):
            drop(self.con, name)
        for name in self.views:
            with contextlib.suppress(Exception):  # best effort, as drop
                self.con.con.unregister(name)
        for up in self.uploads:
            up.drop()


def build_pairs(
    con: ibis.BaseBackend,
    prepared: PreparedEvaluation,
    pp: PairPlan,
    snapshot: Snapshot,
    as_of: datetime,
    events: str = "events",
) -> pa.Table:
    """Every pair row at ``as_of`` over ``events`` (the full step's extra pass)."""
    run = Run(con)
    try:
        names = run.upload(snapshot, prepared.stitched)
        names[T_EVENTS] = events
        return conform(run.arrow(prepared.sql(pp.pairs_sql, as_of, names)), pp.schema)
    finally:
        run.close()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return table if table.schema.equals(schema) else table.cast(schema)


def replace_users(
    pairs: pa.Table, users: Iterable[str], fresh: pa.Table
) -> tuple[pa.Table, set[str]]:
    """``pairs`` with the rows of ``users`` replaced by ``fresh``, and the accounts of
    the rows that went out."""
    ids = pa.array(sorted(set(users)), _STR)
    mine = pc.is_in(pairs.column("user"), value_set=ids)
    mine = pc.fill_null(mine, False)
    gone = pairs.filter(mine)
    kept = pairs.filter(pc.invert(mine))
    out = pa.concat_tables([kept, fresh]) if fresh.num_rows else kept
    if out.column("user").num_chunks > 64:
        out = out.combine_chunks()
    return out, {a for a in gone.column("account").to_pylist() if a is not None}


def of_accounts(pairs: pa.Table, accounts: Iterable[str]) -> pa.Table:
    ids = pa.array(sorted(set(accounts)), _STR)
    return pairs.filter(pc.fill_null(pc.is_in(pairs.column("account"), value_set=ids), False))


def pair_window(config: Config) -> timedelta | None:
    """The widest window of the account stream features when every one has a window (a
    pair partial reads only the activity inside it), else None (all history)."""
    feats = stream_features(plan(config).features_of(Level.ACCOUNT))
    if any(f.within is None for f in feats):
        return None
    return _widest(feats)


def _widest(feats: Iterable[Feature]) -> timedelta:
    """The widest window among ``feats`` (0 when none has one)."""
    return max((f.within for f in feats if f.within is not None), default=timedelta(0))


def history_events(config: Config) -> frozenset[str] | None:
    """The events whose unwindowed ``first_seen`` / ``last_seen`` the user level reads,
    when those are its only stream features without a window and every account stream
    feature has one; else None (a re-evaluated user's whole history is read).

    Those two read only the first and the last row of their event, so a step can copy a
    user's activity inside the windows and, of the older rows, the first and the last of
    each such event per raw id (``History``): every windowed feature reads the same rows,
    and the minimum and maximum over the history are the same."""
    if pair_window(config) is None:
        return None
    names: set[str] = set()
    for f in stream_features(plan(config).features_of(Level.USER)):
        if f.within is not None:
            continue
        timed = f.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)
        if f.kind is not FeatureKind.EVENT or not timed or f.where or f.event is None:
            return None
        names.add(f.event)
    return frozenset(names)


def history_reach(config: Config) -> timedelta:
    """The widest window of any stream feature, of either level."""
    p = plan(config)
    return _widest(stream_features(p.features_of(Level.USER) + p.features_of(Level.ACCOUNT)))


# How far before the windows' reach a history's cut is put, and how much further the
# clock may move before a step reads the history again (the activity after the cut is
# copied; a cut kept for weeks would copy weeks of it).
HISTORY_MARGIN = timedelta(days=1)
HISTORY_SLACK = timedelta(days=2)


@dataclass(frozen=True)
class History:
    """Per raw id and event of ``history_events``, its first and its last visible row
    with ``ts <= cut`` (the events columns a step copies), read at events ``seq``.

    ``cut`` is before every window's start at every later ``as_of`` (it is set a margin
    before the widest window at the ``as_of`` it was read), so no windowed feature reads
    these rows; they stand for all of the raw id's older activity in the unwindowed
    ``first_seen`` / ``last_seen``. A row stored later with a ``ts`` at or before the cut
    (late data) makes the step read the history again (``stale``)."""

    cut: datetime
    seq: int
    table: pa.Table

    def of(self, raws: Iterable[str]) -> pa.Table:
        t = self.table
        raw = pc.coalesce(t.column("user_id"), t.column("anonymous_id"))
        ids = pa.array(sorted(set(raws)), _STR)
        return t.filter(pc.fill_null(pc.is_in(raw, value_set=ids), False))

    def stale(self, con: ibis.BaseBackend, as_of: datetime, reach: timedelta) -> bool:
        """Has the clock moved too far, or did a row at or before the cut arrive?"""
        if as_of - reach - self.cut > HISTORY_MARGIN + HISTORY_SLACK:
            return True
        rows = con.con.execute(
            f"SELECT count(*) FROM events WHERE seq > {int(self.seq)}"
            f" AND ts <= {ts_sql(self.cut)} AND type IN ({ACTIVITY_SQL})"
        ).fetchall()
        return bool(rows and rows[0][0])


def read_history(
    con: ibis.BaseBackend,
    config: Config,
    as_of: datetime,
    columns: Iterable[str],
    seq: int,
) -> History | None:
    """The ``History`` at ``as_of`` (None when the definitions need whole histories)."""
    names = history_events(config)
    if names is None:
        return None
    cut = as_of - history_reach(config) - HISTORY_MARGIN
    cols = ", ".join(_quote(c) for c in columns)
    if names:
        which = ", ".join(sql_string(n) for n in sorted(names))
        # the seqs of each (raw id, event)'s first and last row, then those rows (10M
        # events: 0.23 s; row_number() windows over the same rows took 1.06 s). Of rows
        # with the same ts any one will do: first and last seen read only the ts
        ends = (
            f"SELECT unnest([arg_min(seq, ts), arg_max(seq, ts)]) FROM events"
            f" WHERE ts <= {ts_sql(cut)} AND seq <= {int(seq)} AND type IN ({ACTIVITY_SQL})"
            f" AND event IN ({which}) AND {RAW_ID} IS NOT NULL GROUP BY {RAW_ID}, event"
        )
        table = duckdb_arrow(con.con, f"SELECT {cols} FROM events WHERE seq IN ({ends})")
    else:
        table = duckdb_arrow(con.con, f"SELECT {cols} FROM events WHERE FALSE")
    return History(cut, seq, table)


def member_traits(config: Config) -> frozenset[str]:
    """The top-level user traits the account level reads of its members (distinct_values
    without a window), or none."""
    from beachhead.engine.features import is_stream_metric
    from beachhead.rules.model import Metric
    from beachhead.rules.plan import FeatureKind

    return frozenset(
        f.of[0]
        for f in plan(config).features_of(Level.ACCOUNT)
        if f.kind is FeatureKind.METRIC
        and f.metric is Metric.DISTINCT_VALUES
        and not is_stream_metric(f)
        and f.of
    )


def read_columns(prepared: PreparedEvaluation, pp: PairPlan, columns: Iterable[str]) -> list[str]:
    """The events columns the plan's and the pair SQL can read."""
    return columns_read(prepared.accounts_sql + prepared.users_fetch + pp.pairs_sql, columns)
