"""Read-only queries over the events store for the account and user pages (Ibis, no SQL).

The pages need three things the evaluation does not keep: an entity's activity per UTC day
(the 90-day chart), each member's last activity, and the messages themselves (the
timeline). Attribution follows definitions.md: activity carrying ``context.groupId`` counts
toward that account only; other activity of a member counts toward each of their accounts.

``raw_ids`` are the ids as messages carry them (a user's ``userId`` and the anonymous ids
linked to it), so callers pass what identity resolution mapped to the entity.
"""

from __future__ import annotations

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


def daily_activity(
    con: ibis.BaseBackend,
    raw_ids: Collection[str],
    account_id: str | None,
    start: datetime,
    end: datetime,
) -> dict[date, int]:
    """Activity messages per UTC day with ``start < ts <= end``."""
    t = con.table("events")
    f = t.filter(
        t.type.isin(ACTIVITY_TYPES),
        t.ts > _naive(start),
        t.ts <= _naive(end),
        _activity_of(t, raw_ids, account_id),
    )
    per = f.group_by(day=f.ts.date()).aggregate(n=f.count())
    return {r["day"]: int(r["n"]) for r in _rows(per)}


def last_activity(
    con: ibis.BaseBackend, raw_ids_of: dict[str, set[str]], as_of: datetime
) -> dict[str, datetime]:
    """Each user's latest activity at or before ``as_of`` (users without any are left out)."""
    user_of = {raw: user for user, raws in raw_ids_of.items() for raw in raws}
    if not user_of:
        return {}
    t = con.table("events")
    f = t.filter(t.type.isin(ACTIVITY_TYPES), t.ts <= _naive(as_of), _who(t).isin(sorted(user_of)))
    per = f.group_by(who=_who(f)).aggregate(last=f.ts.max())
    out: dict[str, datetime] = {}
    for r in _rows(per):
        user = user_of[r["who"]]
        ts = _aware(r["last"])
        if user not in out or ts > out[user]:
            out[user] = ts
    return out


def _timeline_filter(
    t: ir.Table, raw_ids: Collection[str], account_id: str | None
) -> ir.BooleanValue:
    if account_id is None:
        return _activity_of(t, raw_ids, None)
    return (t.group_id == account_id) | _activity_of(t, raw_ids, account_id)


def timeline(
    con: ibis.BaseBackend,
    raw_ids: Collection[str],
    account_id: str | None,
    as_of: datetime,
    limit: int,
    offset: int = 0,
) -> tuple[list[TimelineRow], int]:
    """A page of the entity's messages, newest first, and how many there are in all."""
    t = con.table("events")
    f = t.filter(t.ts <= _naive(as_of), _timeline_filter(t, raw_ids, account_id))
    total = int(f.count().to_pyarrow().as_py())
    page = (
        f.order_by([ibis.desc(f.ts), ibis.desc(f.seq)])
        .select(
            "ts",
            "type",
            "event",
            "user_id",
            "anonymous_id",
            "group_id",
            "context_group_id",
            "properties",
            "traits",
        )
        .limit(limit, offset=offset)
    )
    rows = [
        TimelineRow(
            ts=_aware(r["ts"]),
            type=r["type"],
            event=r["event"],
            who=r["user_id"] or r["anonymous_id"],
            group_id=r["group_id"],
            context_group_id=r["context_group_id"],
            properties=r["properties"],
            traits=r["traits"],
        )
        for r in _rows(page)
    ]
    return rows, total


def named_ids(con: ibis.BaseBackend, as_of: datetime) -> list[str]:
    """The distinct raw ids messages up to ``as_of`` are about (userId, else anonymousId).

    The same ids as ``ingest.identity.named_ids`` over the messages, computed in the
    database instead of walking every message in Python."""
    t = con.table("events")
    who = _who(t)
    f = t.filter(t.ts <= _naive(as_of), who.notnull())
    return sorted(r["who"] for r in _rows(f.select(who=who).distinct()))


def table_counts(con: ibis.BaseBackend, tables: tuple[str, ...]) -> tuple[int, ...]:
    """Row counts of ``tables`` (the store is append-only, so together they are a version)."""
    return tuple(int(con.table(name).count().to_pyarrow().as_py()) for name in tables)
