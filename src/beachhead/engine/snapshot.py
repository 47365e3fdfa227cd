"""Identity at ``as_of`` for the engine: resolve it, then upload it as temporary tables.

The engine and the oracle must agree on who a message is about, so both take identity from
``ingest/identity.resolve``. The engine then needs it *inside* the database, beside the
events: four small tables, sent as Arrow (one bulk load each, never row by row):

- ``map``: ``raw_id -> user_id`` for the ids stitched into another user (an id missing
  from it is its own user, so without links the engine skips the join altogether)
- ``members``: ``account_id, user_id`` (membership at ``as_of``)
- ``users``: ``user_id, traits`` (JSON text), ``primary_account``
- ``accounts``: ``account_id, traits`` (JSON text)

Names are unique per evaluation (``bh_<random>_users``) so evaluations never collide;
``Uploaded.drop()`` removes them.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
import orjson
import pyarrow as pa

from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot, resolve
from beachhead.ingest.message import Link, MembershipRow, TraitRow

_STR = pa.string()


def naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def aware_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _rows(con: ibis.BaseBackend, table: str, as_of: datetime) -> list[dict[str, Any]]:
    t = con.table(table)
    visible = t.ts <= ibis.literal(naive_utc(as_of), type="timestamp")
    expr = t.filter(visible).order_by(["ts", "seq"])
    if "traits" in t.columns:  # JSON as text: parsed once below, not by a generic converter
        expr = expr.mutate(traits=expr.traits.cast("string"))
    return list(expr.to_pyarrow().to_pylist())


def _traits(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    loaded = orjson.loads(value)
    return loaded if isinstance(loaded, dict) else {}


def trait_row(r: Mapping[str, Any]) -> TraitRow:
    """A ``trait_rows`` row read through Ibis (traits as JSON text) as a ``TraitRow``."""
    return TraitRow(
        r["kind"], r["entity_id"], aware_utc(r["ts"]), _traits(r["traits"]), r["source"], r["seq"]
    )


def link(r: Mapping[str, Any]) -> Link:
    """A ``links`` row as a ``Link``."""
    return Link(r["from_id"], r["to_id"], aware_utc(r["ts"]), r["seq"])


def membership(r: Mapping[str, Any]) -> MembershipRow:
    """A ``memberships`` row as a ``MembershipRow``."""
    return MembershipRow(r["user_id"], r["account_id"], aware_utc(r["ts"]), r["source"], r["seq"])


def query_tuples(con: ibis.BaseBackend, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, run on the backend's own connection (DuckDB or a psycopg
    connection): no Ibis compile, for the small queries a step runs every time."""
    raw: Any = con.con
    if con.name == "duckdb":
        return list(raw.execute(sql).fetchall())
    with raw.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())


# DuckDB's warning when a DB-API result is copied into Arrow (``duckdb_arrow``)
_ARROW_COPY = "Arrow output on a DB-API result"
warnings.filterwarnings("ignore", _ARROW_COPY, UserWarning)


def duckdb_arrow(raw: Any, sql: str) -> pa.Table:
    """The rows of ``sql`` on a DuckDB connection as an Arrow table, planned once.

    ``raw.sql(sql).to_arrow_table()`` binds the query to make a relation, then plans it
    again to run it: 0.013-0.016 s of the users fetch's ~0.2 s at 1M events (DuckDB 2.0).
    ``execute`` plans it once and copies the result into Arrow, which DuckDB warns about;
    the copy is cheaper than the second plan at every size measured (1M: 0.20 s against
    0.22 s; 10M: 1.70 s against 1.82 s), so that one warning is silenced (``_ARROW_COPY``:
    a filter added once at import, for that message only; ``catch_warnings`` around the
    call swapped the process's filters in and out, which is not thread-safe under
    ``serve``'s threads)."""
    table: pa.Table = raw.execute(sql).to_arrow_table()
    return table


def query_rows(con: ibis.BaseBackend, sql: str) -> list[dict[str, Any]]:
    """``query_tuples`` as dicts by column name."""
    raw: Any = con.con
    if con.name == "duckdb":
        return list(duckdb_arrow(raw, sql).to_pylist())
    with raw.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def named_ids(con: ibis.BaseBackend, as_of: datetime) -> list[str]:
    """The raw id (userId, else anonymousId) of every visible message, each once, sorted.

    Distinct in the DB, sorted here: with an ``order_by`` after the ``distinct``, Ibis 12
    compiles the PostgreSQL query as ``SELECT DISTINCT raw, ts`` (the filter's column
    kept in the select list), which sent every message's id, not every id: 1M rows
    instead of 12k at 1M events, 1.2 s of PostgreSQL's 1.6 s identity resolution."""
    ev = con.table("events")
    raw = ev.user_id.coalesce(ev.anonymous_id)
    visible = ev.ts <= ibis.literal(naive_utc(as_of), type="timestamp")
    expr = ev.filter(visible, raw.notnull()).select(raw=raw).distinct()
    return sorted(r for r in expr.to_pyarrow().column("raw").to_pylist() if r is not None)


def resolve_from_tables(
    con: ibis.BaseBackend, as_of: datetime, free_mail: Iterable[str] | None = None
) -> Snapshot:
    """Identity at ``as_of`` from the events store's derived tables (read through Ibis)."""
    trait_rows = [trait_row(r) for r in _rows(con, "trait_rows", as_of)]
    links = [link(r) for r in _rows(con, "links", as_of)]
    memberships = [membership(r) for r in _rows(con, "memberships", as_of)]
    mail = frozenset(builtin_free_mail() if free_mail is None else free_mail)
    return resolve(trait_rows, links, memberships, as_of, mail, named_ids(con, as_of))


@dataclass
class Uploaded:
    """The snapshot's tables in the backend (see the module docstring)."""

    con: ibis.BaseBackend
    names: tuple[str, ...]
    map: ir.Table
    stitched: int  # rows in ``map``
    members: ir.Table
    users: ir.Table
    accounts: ir.Table

    def drop(self) -> None:
        for name in self.names:
            with contextlib.suppress(Exception):  # best effort: temp tables die with the session
                if self.con.name == "duckdb":  # the raw connection: no Ibis round trip
                    self.con.con.execute(f'DROP TABLE IF EXISTS "{name}"')
                else:
                    self.con.drop_table(name, force=True)


def _dumps(traits: dict[str, Any]) -> str:
    return orjson.dumps(traits, option=orjson.OPT_NON_STR_KEYS).decode()


def _create_temp(con: ibis.BaseBackend, name: str, data: pa.Table) -> ir.Table:
    """A temporary table holding ``data``. On DuckDB straight from Arrow on the raw
    connection, and the Ibis table built from the known schema: Ibis' ``create_table``
    and ``table`` look the schema up again, which cost an incremental step more than the
    loads themselves (about 8 ms a table)."""
    if con.name != "duckdb":
        return con.create_table(name, data, temp=True)
    raw: Any = con.con
    view = f"{name}__arrow"
    raw.register(view, data)
    try:
        raw.execute(f'CREATE TEMP TABLE "{name}" AS SELECT * FROM "{view}"')
    finally:
        raw.unregister(view)
    schema = sch.Schema({f.name: dt.dtype(f.type) for f in data.schema})
    return ops.DatabaseTable(name, schema=schema, source=con, namespace=ops.Namespace()).to_expr()


def snapshot_tables(snap: Snapshot) -> dict[str, pa.Table]:
    """The snapshot as the four Arrow tables ``upload`` loads: ``map`` (the raw ids that
    stand for another user), ``members``, ``users`` and ``accounts``."""
    users = sorted(snap.users)
    accounts = sorted(snap.accounts)
    member_pairs = sorted((a, u) for a, us in snap.members.items() for u in us)
    stitched = {raw: user for raw, user in snap.user_of.items() if raw != user}
    return {
        "map": pa.table(
            {
                "raw_id": pa.array(list(stitched), _STR),
                "map_user": pa.array(list(stitched.values()), _STR),
            }
        ),
        "members": pa.table(
            {
                "m_account": pa.array([a for a, _ in member_pairs], _STR),
                "m_user": pa.array([u for _, u in member_pairs], _STR),
            }
        ),
        "users": pa.table(
            {
                "user_id": pa.array(users, _STR),
                "u_traits": pa.array([_dumps(snap.users[u]) for u in users], _STR),
                "primary_account": pa.array([snap.primary.get(u) for u in users], _STR),
            }
        ),
        "accounts": pa.table(
            {
                "account_id": pa.array(accounts, _STR),
                "a_traits": pa.array([_dumps(snap.accounts[a]) for a in accounts], _STR),
            }
        ),
    }


def upload(con: ibis.BaseBackend, snap: Snapshot) -> Uploaded:
    """Send the snapshot to ``con`` as temporary tables (Arrow, one bulk load per table)."""
    prefix = f"bh_{uuid.uuid4().hex[:10]}"
    tables = snapshot_tables(snap)
    made: dict[str, ir.Table] = {}
    names: list[str] = []
    try:
        for key, data in tables.items():
            name = f"{prefix}_{key}"
            made[key] = _create_temp(con, name, data)
            names.append(name)
    except Exception:
        for name in names:
            with contextlib.suppress(Exception):
                con.drop_table(name, force=True)
        raise
    return Uploaded(
        con,
        tuple(names),
        made["map"],
        tables["map"].num_rows,
        made["members"],
        made["users"],
        made["accounts"],
    )
