"""A pairs step's four big queries as DuckDB prepared statements over fixed temp tables.

A step of the pairs path (``engine/incremental.py``) runs the pair partials, the account
level, the accounts fetch and the users fetch of the compiled plan: 4-31 KB of SQL each,
which DuckDB would parse, bind and plan again at every step (``PREPARE`` takes 5-29 ms per
query at 1M events, whatever the step reads; a step measured 15-20 ms faster, since each
plan's execution set-up remains). ``StepStatements`` creates the temp tables those
queries read once, under names of its own, ``PREPARE``\\ s the queries over them with the
``as_of`` as a parameter, and a step replaces the tables' rows and ``EXECUTE``\\ s them.

DuckDB binds a prepared statement to the tables it reads; replacing their rows (DELETE,
INSERT) keeps it valid, while dropping or re-creating one makes DuckDB bind it again (a
registered Arrow view included), so every input is a real temp table here. DuckDB keeps
the versions of deleted rows in a table until it is dropped (about 0.2 bytes a row per
replacement, measured), so the tables and statements are made afresh every ``RENEW``
steps; and whenever the plans or the connection change (``fits``).

Only the main users pass runs here; the second one of a step (the users of accounts whose
scores moved), which needs other events, runs its SQL as before.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa

from beachhead.engine.isotime import micros
from beachhead.engine.pairs import T_PAIRS, PairPlan
from beachhead.engine.prepared import (
    AS_OF_TS,
    AS_OF_US,
    RAW_ID,
    T_ACCOUNTS,
    T_EVENTS,
    T_LEVEL,
    T_MAP,
    T_MEMBERS,
    T_USERS,
    PreparedEvaluation,
    _quote,
    ts_sql,
)
from beachhead.engine.snapshot import _dumps, duckdb_arrow, snapshot_tables
from beachhead.ingest.identity import Snapshot

# Each as_of placeholder of the compiled templates (``prepared.PreparedEvaluation.sql``
# replaces them with literals): its parameter's type and its value at an as_of
_Param = tuple[str, str, Callable[[datetime], str]]
_AS_OF: tuple[_Param, ...] = (
    (AS_OF_TS, "TIMESTAMP", ts_sql),
    (AS_OF_US, "BIGINT", lambda t: str(micros(t))),
)
RENEW = 200  # steps between fresh tables (the deleted rows' versions go with them)
_IDENTITY = {"map": T_MAP, "members": T_MEMBERS, "users": T_USERS, "accounts": T_ACCOUNTS}
# the identity cut each statement reads: the paired users' (pairs), the accounts' (level
# and accounts fetch) and the re-evaluated users' (users fetch)
_SETS = ("p", "l", "u")


class StepStatements:
    """The fixed temp tables and prepared statements of one evaluator on one connection."""

    def __init__(
        self,
        con: ibis.BaseBackend,
        prepared: PreparedEvaluation,
        pp: PairPlan,
        columns: Iterable[str],
        windowed: bool,
    ) -> None:
        self.con = con
        self.raw: Any = con.con
        self.prepared = prepared
        self.pp = pp
        self.columns = list(columns)
        self.windowed = windowed  # the pair partials read the account window only
        self.uses = 0
        self.closed = False
        # the level's users table as every user's member traits, kept across steps
        # (``member_traits``): user -> the JSON in the table, and the keys it holds
        self.member_json: dict[str, str] | None = None
        self.member_keys: frozenset[str] = frozenset()
        self.prefix = f"bh_step_{uuid.uuid4().hex[:8]}"
        self.tables: list[str] = []
        self.views: list[str] = []
        self.statements: list[str] = []
        self.as_of_args: dict[str, tuple[_Param, ...]] = {}  # per statement (``_prepare``)
        try:
            self._make()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ making

    def name(self, label: str) -> str:
        return f"{self.prefix}_{label}"

    def _run(self, sql: str) -> None:
        self.raw.execute(sql)

    def _table_from(self, label: str, select: str) -> str:
        name = self.name(label)
        self._run(f"CREATE TEMP TABLE {_quote(name)} AS SELECT * FROM ({select}) AS s LIMIT 0")
        self.tables.append(name)
        return name

    def _table_like(self, label: str, schema: pa.Schema) -> str:
        empty = schema.empty_table()
        view = self.name(f"{label}_arrow")
        self.raw.register(view, empty)
        try:
            return self._table_from(label, f"SELECT * FROM {_quote(view)}")
        finally:
            self.raw.unregister(view)

    def _prepare(self, label: str, template: str, names: dict[str, str], head: str = "") -> str:
        """``PREPARE`` a template over ``names``, each ``as_of`` placeholder it holds a
        parameter (in ``_AS_OF`` order; ``_execute`` passes them)."""
        used = tuple(p for p in _AS_OF if p[0] in template)
        for i, (placeholder, type_, _value) in enumerate(used, 1):
            template = template.replace(placeholder, f"CAST(${i} AS {type_})")
        sql = self.prepared.sql(template, _EPOCH, names)  # names only: no as_of is left
        stmt = self.name(f"q_{label}")
        self._run(f"PREPARE {stmt} AS {head}{sql}")
        self.statements.append(stmt)
        self.as_of_args[stmt] = used
        return stmt

    def _make(self) -> None:
        cols = ", ".join(_quote(c) for c in self.columns)
        self.events = self._table_from("events", f"SELECT {cols} FROM events")
        self.params = self.name("params")
        self._run(f"CREATE TEMP TABLE {_quote(self.params)} (since TIMESTAMP)")
        self.tables.append(self.params)
        self._run(f"INSERT INTO {_quote(self.params)} VALUES (NULL)")
        # the raw ids whose pairs a step recomputes (``begin``)
        self.paired = self.name("paired")
        self._run(f"CREATE TEMP TABLE {_quote(self.paired)} (id VARCHAR)")
        self.tables.append(self.paired)
        # the pair partials read the paired users' rows of the copy, in the account
        # window when there is one
        where = f"{RAW_ID} IN (SELECT id FROM {_quote(self.paired)})"
        if self.windowed:
            where = f"ts > (SELECT since FROM {_quote(self.params)}) AND {where}"
        read_by_pairs = self.name("after")
        self._run(
            f"CREATE TEMP VIEW {_quote(read_by_pairs)} AS"
            f" SELECT * FROM {_quote(self.events)} WHERE {where}"
        )
        self.views.append(read_by_pairs)
        empty = snapshot_tables(
            Snapshot(user_of={}, users={}, accounts={}, members={}, accounts_of={}, primary={})
        )
        self.identity: dict[str, dict[str, str]] = {}
        for s in _SETS:
            self.identity[s] = {
                key: self._table_like(f"{s}_{key}", empty[key].schema) for key in _IDENTITY
            }
        self.pairs = self._table_like("pairs", self.pp.schema)

        def names(s: str, **more: str) -> dict[str, str]:
            out = {_IDENTITY[k]: v for k, v in self.identity[s].items()}
            out.update(more)
            return out

        level_names = names("l", **{T_PAIRS: self.pairs})
        level_select = self.prepared.sql(self.pp.level_sql, _EPOCH, level_names)
        self.level = self._table_from("level", level_select)
        self.q_pairs = self._prepare(
            "pairs", self.pp.pairs_sql, names("p", **{T_EVENTS: read_by_pairs})
        )
        self.q_level = self._prepare(
            "level", self.pp.level_sql, level_names, head=f"INSERT INTO {_quote(self.level)} "
        )
        self.q_accounts = self._prepare(
            "accounts", self.prepared.accounts_fetch, names("l", **{T_LEVEL: self.level})
        )
        self.q_users = self._prepare(
            "users",
            self.prepared.users_fetch,
            names("u", **{T_EVENTS: self.events, T_LEVEL: self.level}),
        )
        # the account level reads user rows only through its members join (one LEFT JOIN
        # of the users table): rows of users outside the cut's members are never read,
        # so the table can hold every user's member traits (``keeps_members``)
        level = self.pp.level_sql
        self.members_join_only = (
            level.count(f'"{T_USERS}"') == 1 and f'LEFT OUTER JOIN "{T_USERS}"' in level
        )

    def fits(
        self, con: ibis.BaseBackend, prepared: PreparedEvaluation, pp: PairPlan, columns: list[str]
    ) -> bool:
        """Are these the statements of this connection and plan, and still fresh?"""
        return (
            con.con is self.raw
            and prepared is self.prepared
            and pp is self.pp
            and columns == self.columns
            and self.uses < RENEW
            and not self.closed
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> StepStatements:
        """Shared, not copied: they are the connection's (a copied evaluator, as the
        benchmark makes to re-run a step, uses the same ones; one that closes them makes
        the others make their own)."""
        return self

    # ------------------------------------------------------------------ a step

    def _fill(self, table: str, data: pa.Table) -> None:
        self._run(f"DELETE FROM {_quote(table)}")
        self._append(table, data)

    def _append(self, table: str, data: pa.Table) -> None:
        if not data.num_rows:
            return
        view = f"{table}_in"
        self.raw.register(view, data)
        try:
            self._run(f"INSERT INTO {_quote(table)} BY NAME SELECT * FROM {_quote(view)}")
        finally:
            self.raw.unregister(view)

    def begin(self, since: datetime | None, paired: Iterable[str]) -> str:
        """A step starts: the fixed events table emptied for its copy (``Run.events_of``
        with ``into``), the start of the account window the pair partials read and the
        raw ids whose rows they read."""
        self.uses += 1  # the tables are empty: ``end`` emptied them (or they are new)
        since_sql = "NULL" if since is None else ts_sql(since)
        self._run(f"UPDATE {_quote(self.params)} SET since = {since_sql}")
        self._fill(self.paired, pa.table({"id": pa.array(sorted(paired), pa.string())}))
        return self.events

    def end(self) -> None:
        """A step ended: the big tables' rows go, for the next step to fill (and DuckDB
        frees a table's emptied blocks). A step that fails drops the statements."""
        for table in (self.events, self.pairs, self.level):
            self._run(f"DELETE FROM {_quote(table)}")

    def identity_of(self, which: str, snap: Snapshot, users: bool = True) -> None:
        """The identity cut one statement reads (``which``: p, l or u); without
        ``users``, its users table is left as it is (``member_traits`` keeps it)."""
        for key, data in snapshot_tables(snap).items():
            if users or key != "users":
                self._fill(self.identity[which][key], data)

    def keeps_members(self, keys: frozenset[str]) -> bool:
        """Can the level's users table keep every user's member traits (``keys``)?"""
        return bool(keys) and self.members_join_only

    def member_traits(
        self,
        snap: Snapshot,
        keys: frozenset[str],
        members: set[str],
        changed: set[str],
        reload: bool = False,
    ) -> None:
        """The level's users table brought up to date: every user's ``keys`` traits as
        JSON, loaded once (the first call, ``reload``, or other keys) and then rewritten only for
        ``changed`` users (the identity delta's) and ``members`` it lacks. At 10M events,
        1% of the users acted, this replaced building and loading 26k members' rows
        (0.1 s) at every step."""
        table = self.identity["l"]["users"]
        known = self.member_json
        if known is None or reload or keys != self.member_keys:
            self._run(f"DELETE FROM {_quote(table)}")
            known = self.member_json = {}
            self.member_keys = keys
            stale = set(snap.users)
        else:
            stale = changed | (members - known.keys())
        rows: dict[str, str | None] = {}
        for u in stale:
            t = snap.users.get(u)
            j = None if t is None else _dumps({k: t[k] for k in keys if k in t})
            if known.get(u) != j:
                rows[u] = j
        if not rows:
            return
        ids = sorted(rows)
        old = [u for u in ids if u in known]
        if old:
            view = f"{table}_gone"
            self.raw.register(view, pa.table({"id": pa.array(old, pa.string())}))
            try:
                self._run(
                    f"DELETE FROM {_quote(table)} WHERE user_id IN (SELECT id FROM {_quote(view)})"
                )
            finally:
                self.raw.unregister(view)
        new = [u for u in ids if rows[u] is not None]
        data = pa.table(
            {
                "user_id": pa.array(new, pa.string()),
                "u_traits": pa.array([rows[u] for u in new], pa.string()),
                "primary_account": pa.array([None] * len(new), pa.string()),
            }
        )
        self._append(table, data)
        for u in ids:
            j = rows[u]
            if j is None:
                known.pop(u, None)
            else:
                known[u] = j

    def pairs_rows(self, data: pa.Table) -> None:
        self._fill(self.pairs, data)

    def _execute(self, stmt: str, as_of: datetime) -> str:
        args = ", ".join(value(as_of) for _p, _t, value in self.as_of_args[stmt])
        return f"EXECUTE {stmt}({args})" if args else f"EXECUTE {stmt}"

    def run_pairs(self, as_of: datetime) -> pa.Table:
        return duckdb_arrow(self.raw, self._execute(self.q_pairs, as_of))

    def run_level(self, as_of: datetime) -> str:
        """The account level table of the pairs and the ``l`` identity: its name."""
        self._run(self._execute(self.q_level, as_of))
        return self.level

    def run_accounts(self, as_of: datetime) -> pa.Table:
        return duckdb_arrow(self.raw, self._execute(self.q_accounts, as_of))

    def run_users(self, as_of: datetime) -> pa.Table:
        return duckdb_arrow(self.raw, self._execute(self.q_users, as_of))

    def close(self) -> None:
        """Drop the statements and the tables (best effort: they die with the session)."""
        for stmt in self.statements:
            with contextlib.suppress(Exception):
                self._run(f"DEALLOCATE {stmt}")
        for view in reversed(self.views):
            with contextlib.suppress(Exception):
                self._run(f"DROP VIEW IF EXISTS {_quote(view)}")
        for table in reversed(self.tables):
            with contextlib.suppress(Exception):
                self._run(f"DROP TABLE IF EXISTS {_quote(table)}")
        self.statements, self.views, self.tables = [], [], []
        self.closed = True


_EPOCH = datetime(1970, 1, 1)
