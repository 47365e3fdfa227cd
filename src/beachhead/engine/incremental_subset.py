"""The Evaluation of a few users and accounts, on their events only, with the compiled plan.

``engine/prepared.py`` compiles an evaluation's SQL once per (definitions, backend) with
the events table and the identity tables as names. ``evaluate_subset`` runs that same SQL
on a copy of the events of the entities asked for (one filtered ``CREATE TEMP TABLE AS``
in SQL, only the columns the plan reads) and on an identity snapshot cut down to them plus
what their rows read: the members of their accounts and the users of guest activity
(``context.groupId``) toward those accounts. Nothing is compiled by Ibis at a step (the
plan is the one the full evaluation of this process already compiled), so a step costs
its queries on the small copy, a few small uploads, and the fixed cost of one scan of the
events to cut the copy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa

from beachhead.engine.errors import Unsupported
from beachhead.engine.evaluate import SUPPORTED_BACKENDS, _backend_of, _prepare
from beachhead.engine.pairs import identity_of
from beachhead.engine.prepared import (
    ACTIVITY_SQL,
    RAW_ID,
    T_EVENTS,
    T_LEVEL,
    Evidence,
    LevelColumns,
    _execute,
    _quote,
    columns_read,
    drop,
    entities,
    fetch,
    matches,
    materialize,
    prepare,
    snapshot_names,
    ts_sql,
    upload_shaped,
)
from beachhead.engine.snapshot import Uploaded
from beachhead.ingest.identity import Snapshot
from beachhead.rules.durations import to_utc
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation, Match

_STR = pa.string()


def _ids(con: ibis.BaseBackend, names: list[str], label: str, ids: Iterable[str]) -> str:
    """A temporary one-column (``id``) table of ``ids``."""
    name = f"bh_{uuid.uuid4().hex[:10]}_{label}"
    data = pa.table({"id": pa.array(sorted(ids), _STR)})
    con.create_table(name, data, temp=True)
    names.append(name)
    return name


def _wanted(
    table: pa.Table, cols: LevelColumns, snapshot: Snapshot, ev: Evidence, wanted: set[str]
) -> list[Match]:
    """The matches of the level's PQLs among the ``wanted`` entities."""
    out: list[Match] = []
    for j, pql in cols.pqls:
        out += [m for m in matches(table, cols, j, pql, snapshot, ev) if m.entity_id in wanted]
    return out


def _stitched(snapshot: Snapshot) -> bool:
    """Does any raw id stand for another user? (Every user is its own raw id too.)"""
    return len(snapshot.user_of) > len(snapshot.users)


def evaluate_subset(
    store_or_backend: Any,
    config: Config,
    as_of: datetime,
    snapshot: Snapshot,
    users: set[str],
    accounts: set[str],
    light_primaries: bool = False,
    raws_of: Mapping[str, set[str]] | None = None,
    stats: dict[str, int] | None = None,
) -> Evaluation:
    """The Evaluation of ``users`` and ``accounts`` only (each exactly as a full one gives).

    ``snapshot`` is the full identity at ``as_of``; ``raws_of`` (user -> raw ids, the
    inverse of ``snapshot.user_of``) saves a scan of it when the caller keeps one. The
    result holds the requested entities that exist and their matches. The users' primary
    accounts are computed too, since user-level conditions read them; with
    ``light_primaries`` (the caller knows users read only their traits and trait-only
    scores) a primary account that was not asked for is computed without its members'
    activity, which it does not need then. ``stats["events"]`` (when given) grows by the
    number of events the subset copied.
    """
    con, _store = _backend_of(store_or_backend)
    if con.name not in SUPPORTED_BACKENDS:
        raise Unsupported("evaluation", con.name)
    cutoff = to_utc(as_of)
    users = {u for u in users if u in snapshot.users}
    accounts = {a for a in accounts if a in snapshot.accounts}
    result = Evaluation(as_of=cutoff)
    if not users and not accounts:
        return result
    lambdas = _prepare(con)
    stitched = _stitched(snapshot)
    # The plan the full evaluation compiled (same events schema): nothing compiles here.
    plan = prepare(con, config, stitched=stitched, array_lambdas=lambdas)
    acc_ids = accounts | {snapshot.primary[u] for u in users if u in snapshot.primary}
    acc_ids &= snapshot.accounts.keys()
    full_accounts = accounts if light_primaries else acc_ids
    user_ids = set(users)
    for a in full_accounts:
        user_ids |= snapshot.members.get(a, set())
    temps: list[str] = []
    uploads: list[Uploaded] = []
    try:
        if raws_of is None:
            inverse: dict[str, set[str]] = {}
            for r, u in snapshot.user_of.items():
                inverse.setdefault(u, set()).add(r)
            raws_of = inverse
        raws = {r for u in user_ids for r in raws_of.get(u, ())} | user_ids
        raw_t = _ids(con, temps, "raws", raws)
        acc_t = _ids(con, temps, "accts", full_accounts)
        cols = columns_read(
            plan.accounts_sql + plan.accounts_fetch + plan.users_fetch,
            con.table("events").columns,
        )
        sub_name = f"bh_{uuid.uuid4().hex[:10]}_events"
        select = (
            "SELECT "
            + ", ".join(_quote(c) for c in cols)
            + f" FROM events WHERE ts <= {ts_sql(cutoff)} AND type IN ({ACTIVITY_SQL}) AND "
        )
        _execute(
            con,
            f"CREATE TEMP TABLE {_quote(sub_name)} AS {select}("
            f"{RAW_ID} IN (SELECT id FROM {_quote(raw_t)})"
            f" OR context_group_id IN (SELECT id FROM {_quote(acc_t)}))",
        )
        temps.append(sub_name)
        # guests: users of activity toward these accounts who are not members of them
        guests = fetch(
            con,
            f"SELECT {RAW_ID} AS r, context_group_id IS NOT NULL AS g,"
            f" count(*) AS n FROM {_quote(sub_name)} GROUP BY 1, 2",
            pa.schema([("r", _STR), ("g", pa.bool_()), ("n", pa.int64())]),
        )
        for r, g in zip(
            guests.column("r").to_pylist(), guests.column("g").to_pylist(), strict=True
        ):
            if g and r is not None and r not in raws:
                user_ids.add(snapshot.user(r))
        if stats is not None:
            stats["events"] = stats.get("events", 0) + int(sum(guests.column("n").to_pylist()))
        sub = identity_of(snapshot, user_ids, raws_of, acc_ids, full_accounts)
        up = upload_shaped(con, sub, stitched)
        uploads.append(up)
        names = snapshot_names(up)
        names[T_EVENTS] = sub_name
        level = f"bh_{uuid.uuid4().hex[:10]}_level_accounts"
        names[T_LEVEL] = level
        materialize(con, level, plan.sql(plan.accounts_sql, cutoff, names))
        temps.append(level)
        ev = Evidence(config, snapshot, cutoff)
        if accounts:
            acc = fetch(con, plan.sql(plan.accounts_fetch, cutoff, names), plan.accounts_schema)
            got = entities(acc, plan.accounts, config)
            result.accounts = {k: v for k, v in got.items() if k in accounts}
            result.matches += _wanted(acc, plan.accounts, snapshot, ev, accounts)
        if users:
            # The user level reads only the users asked for: their own events and
            # identity rows, and the account level just materialised (primary accounts).
            raws_u = {r for u in users for r in raws_of.get(u, ())} | users
            raw_u = _ids(con, temps, "raws_u", raws_u)
            usr_events = f"bh_{uuid.uuid4().hex[:10]}_usr_events"
            _execute(
                con,
                f"CREATE TEMP TABLE {_quote(usr_events)} AS {select}"
                f"{RAW_ID} IN (SELECT id FROM {_quote(raw_u)})",
            )
            temps.append(usr_events)
            up_u = upload_shaped(
                con, identity_of(snapshot, users, raws_of, acc_ids, full_accounts), stitched
            )
            uploads.append(up_u)
            names_u = snapshot_names(up_u)
            names_u[T_EVENTS] = usr_events
            names_u[T_LEVEL] = level
            usr = fetch(con, plan.sql(plan.users_fetch, cutoff, names_u), plan.users_schema)
            got = entities(usr, plan.users, config)
            result.users = {k: v for k, v in got.items() if k in users}
            result.matches += _wanted(usr, plan.users, snapshot, ev, users)
    finally:
        for name in reversed(temps):
            drop(con, name)
        for made in uploads:
            made.drop()
    result.sort()
    return result
