"""Read-only queries over the events store for the account and user pages (Ibis, no SQL).

The pages need three things the evaluation does not keep: an entity's activity per UTC day
(the 90-day chart), each member's last activity, and the messages themselves (the
timeline). Attribution follows definitions.md: activity carrying ``context.groupId`` counts
toward that account only; other activity of a member counts toward each of their accounts.

The two per-request queries (``activity`` and ``timeline``) are SQL with bound parameters,
written for DuckDB and PostgreSQL alike: compiling an Ibis expression costs ~50-100 ms,
more than running the query, and a page runs two. The rare ones stay Ibis.

``raw_ids`` are the ids as messages carry them (a user's ``userId`` and the anonymous ids
linked to it), so callers pass what identity resolution mapped to the entity.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

ACTIVITY_TYPES = ("track", "page", "screen")


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One stored message as the timeline shows it."""

    ts: datetime
    type: str
    event: str | None
    who: str | None  # the userId, else the anonymousId
    group_id: str | None
    context_group_id: str | None
    properties: Any
    traits: Any


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


# Where ``_table`` keeps a backend's table expressions: on the backend object itself.
_TABLES_ATTR = "_beachhead_tables"


def _table(con: ibis.BaseBackend, name: str) -> ir.Table:
    """A table expression, looked up once per connection (a lookup reads the schema from
    the database: on a small page it costs more than the query itself). The events
    store's schema does not change while it is open.

    Kept on the backend object, so it goes when the backend does. Not in a mapping keyed
    by backend: Ibis backends hash and compare by their connection parameters
    (``db_identity``), which every DuckDB backend made ``from_connection`` shares, so such
    a mapping handed one store's tables to another (after the first store closed: "Connection
    has already been closed"); and its values, which refer to their backend, kept every
    backend alive."""
    known: dict[str, ir.Table] = con.__dict__.setdefault(_TABLES_ATTR, {})
    hit = known.get(name)
    if hit is None:
        hit = known[name] = con.table(name)
    return hit


def _events(con: ibis.BaseBackend) -> ir.Table:
    return _table(con, "events")


def _who(t: ir.Table) -> ir.StringValue:
    return t.user_id.coalesce(t.anonymous_id)


def _activity_of(t: ir.Table, raw_ids: Collection[str], account_id: str | None) -> ir.BooleanValue:
    """Rows attributed to the account (or, without one, to the user of ``raw_ids``)."""
    ids = sorted(raw_ids)
    mine = _who(t).isin(ids) if ids else ibis.literal(False)
    if account_id is None:
        return mine
    return (t.context_group_id == account_id) | (t.context_group_id.isnull() & mine)


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def _run(con: ibis.BaseBackend, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``sql`` with ``:name`` parameters on the backend's own connection.

    DuckDB takes ``$name`` and lists as ``VARCHAR[]``; psycopg takes ``%(name)s`` and lists
    as arrays. ``WHO_IN_IDS`` is "the message's id is one of :ids" in each dialect."""
    if con.name == "duckdb":
        text = sql.replace("WHO_IN_IDS", f"list_contains(:ids, {WHO})")
        text = re.sub(r":(\w+)", r"$\1", text)
        rows: list[tuple[Any, ...]] = con.con.execute(text, params).fetchall()
        return rows
    text = sql.replace("WHO_IN_IDS", f"{WHO} = ANY(:ids)")
    text = re.sub(r":(\w+)", r"%(\1)s", text)
    with con.con.cursor() as cur:
        cur.execute(text, params)
        return list(cur.fetchall())


WHO = "coalesce(user_id, anonymous_id)"
ACTIVITY_IN = "type IN ('track', 'page', 'screen')"


@dataclass
class Activity:
    """Activity per UTC day (attributed to the entity) and each user's last activity."""

    per_day: dict[date, int]
    last: dict[str, datetime]


def activity(
    con: ibis.BaseBackend,
    raw_ids_of: dict[str, set[str]],
    account_id: str | None,
    start: datetime,
    end: datetime,
) -> Activity:
    """Activity per day from ``start``'s day to ``end`` (attributed to the account, or to
    the user without one) and the last activity of each user of ``raw_ids_of``, in one
    grouped query over (who, day, attributed)."""
    user_of = {raw: user for user, raws in raw_ids_of.items() for raw in raws}
    params: dict[str, Any] = {"ids": sorted(user_of), "end": _naive(end)}
    if account_id is None:
        which, counted = "WHO_IN_IDS", "TRUE"
    else:
        params["acct"] = account_id
        which = "(WHO_IN_IDS OR context_group_id = :acct)"
        counted = "(context_group_id = :acct OR context_group_id IS NULL)"
    sql = (
        f"SELECT {WHO}, CAST(ts AS DATE), {counted}, count(*), max(ts) FROM events "
        f"WHERE {ACTIVITY_IN} AND ts <= :end AND {which} GROUP BY 1, 2, 3"
    )
    first = start.date()
    per_day: dict[date, int] = {}
    last: dict[str, datetime] = {}
    for who, day, is_counted, n, latest in _run(con, sql, params):
        if is_counted and day >= first:
            per_day[day] = per_day.get(day, 0) + int(n)
        user = user_of.get(who)
        if user is not None:
            ts = _aware(latest)
            if user not in last or ts > last[user]:
                last[user] = ts
    return Activity(per_day, last)


def timeline(
    con: ibis.BaseBackend,
    raw_ids: Collection[str],
    account_id: str | None,
    as_of: datetime,
    limit: int,
    offset: int = 0,
) -> tuple[list[TimelineRow], int]:
    """A page of the entity's messages, newest first, and how many there are in all.

    An account's messages are its group calls, the activity attributed to it and its
    members' other messages without a ``context.groupId`` (their group calls to other
    accounts are those accounts'); a user's are their own. ``offset`` must be a real one
    (the caller clamps a page number past the end with ``timeline_total`` first)."""
    where, params = _timeline_where(raw_ids, account_id, as_of)
    sql = (
        "SELECT ts, type, event, user_id, anonymous_id, group_id, context_group_id, "
        f"properties, traits, count(*) OVER () FROM events WHERE {where} "
        f"ORDER BY ts DESC, seq DESC LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    got = _run(con, sql, params)
    total = int(got[0][9]) if got else 0
    if not got and offset:  # past the last page: count on its own
        total = int(_run(con, f"SELECT count(*) FROM events WHERE {where}", params)[0][0])
    rows = [
        TimelineRow(
            ts=_aware(r[0]),
            type=r[1],
            event=r[2],
            who=r[3] or r[4],
            group_id=r[5],
            context_group_id=r[6],
            properties=r[7],
            traits=r[8],
        )
        for r in got
    ]
    return rows, total


def _timeline_where(
    raw_ids: Collection[str], account_id: str | None, as_of: datetime
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"ids": sorted(raw_ids), "as_of": _naive(as_of)}
    if account_id is None:
        which = "WHO_IN_IDS"
    else:
        params["acct"] = account_id
        which = (
            "(group_id = :acct OR context_group_id = :acct "
            "OR (context_group_id IS NULL AND group_id IS NULL AND WHO_IN_IDS))"
        )
    return f"ts <= :as_of AND {which}", params


def timeline_total(
    con: ibis.BaseBackend, raw_ids: Collection[str], account_id: str | None, as_of: datetime
) -> int:
    """How many messages ``timeline`` pages through (to clamp a page number first)."""
    where, params = _timeline_where(raw_ids, account_id, as_of)
    return int(_run(con, f"SELECT count(*) FROM events WHERE {where}", params)[0][0])


def named_ids(con: ibis.BaseBackend, as_of: datetime) -> list[str]:
    """The distinct raw ids messages up to ``as_of`` are about (userId, else anonymousId).

    The same ids as ``ingest.identity.named_ids`` over the messages, computed in the
    database instead of walking every message in Python."""
    t = _events(con)
    who = _who(t)
    f = t.filter(t.ts <= _naive(as_of), who.notnull())
    return sorted(r["who"] for r in _rows(f.select(who=who).distinct()))


def table_counts(con: ibis.BaseBackend, tables: tuple[str, ...]) -> tuple[int, ...]:
    """Row counts of ``tables`` (the store is append-only, so together they are a version)."""
    return tuple(int(_table(con, name).count().to_pyarrow().as_py()) for name in tables)
