"""The inbox query: qualifications filtered, sorted and paged by keyset.

A page is ``limit`` rows after a cursor (the last row's sort key), never an OFFSET, so
page 1,000 of 100k rows costs what page 1 does: the inbox indexes of migration 0004
(``priority, qualified_at, id`` overall, per team and per rep; ``qualified_at, id``)
are read in order from the cursor on.

Visibility is part of the query (``Visibility``): a rep's rows are restricted to
their own and their team's, whatever else the filter says.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, tuple_

from beachhead.qualify.lifecycle import Qualification
from beachhead.store.qualification_models import AccountStageRow, QualificationRow
from beachhead.store.qualifications import _to_q
from beachhead.store.state import StateStore

SORTS = ("priority", "recency")
COUNT_CAP = 1000  # counting stops here: "1000+" costs about what a page does, any filter
STATUS_CHOICES = ("open", "all")  # besides each lifecycle status


def spellings(email: str, known: Sequence[str] = ()) -> tuple[str, ...]:
    """``email`` as rows may hold it: lower-cased, and as ``known`` (beachhead.yml) spells it.

    Rows hold the rep's email as the definitions spell it; an exact ``IN`` keeps the
    rep index usable where ``lower(rep) = ...`` would not.
    """
    low = email.lower()
    return tuple(sorted({low, *(k for k in known if k.lower() == low)}))


class BadCursor(ValueError):
    """A cursor that this module did not make (or made for another sort)."""


@dataclass(frozen=True, slots=True)
class Visibility:
    """Who may see what: ``everything``, else rows of ``rep`` or of ``team``."""

    everything: bool
    reps: tuple[str, ...] = ()  # the rep's email as spelled in the rows (see ``spellings``)
    team: str | None = None

    def clause(self) -> ColumnElement[bool] | None:
        if self.everything:
            return None
        parts: list[ColumnElement[bool]] = []
        if self.reps:
            parts.append(QualificationRow.rep.in_(self.reps))
        if self.team:
            parts.append(QualificationRow.team == self.team)
        return or_(*parts) if parts else false()


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the inbox asks for. ``pqls`` None: every PQL; an empty tuple: none."""

    visibility: Visibility
    reps: tuple[str, ...] | None = None  # "mine": assigned to this rep (its spellings)
    team: str | None = None
    pqls: tuple[str, ...] | None = None
    touch: str | None = None
    stage: str | None = None
    status: str = "open"
    sort: str = "priority"
    after: str | None = None
    limit: int = 50


@dataclass
class InboxPage:
    rows: list[Qualification]
    total: int  # at most COUNT_CAP
    next_cursor: str | None
    total_exact: bool = True  # False: there are more than ``total``
    stages: dict[str, str | None] = field(default_factory=dict)  # account -> current stage


def _iso(t: datetime) -> str:
    return t.isoformat()


def encode_cursor(sort: str, q: Qualification) -> str:
    t = q.qualified_at.astimezone(UTC).replace(tzinfo=None)
    key: list[object] = [sort, _iso(t), q.id]
    if sort == "priority":
        key.insert(1, q.priority)
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[object, ...]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or raw[0] != sort:
            raise BadCursor("the cursor belongs to another sort order")
        if sort == "priority":
            _s, priority, t, qid = raw
            return (int(priority), datetime.fromisoformat(t), str(qid))
        _s, t, qid = raw
        return (datetime.fromisoformat(t), str(qid))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise BadCursor(f"not a cursor of this inbox: {cursor[:40]!r}") from exc


def _where(query: InboxQuery) -> list[ColumnElement[bool]]:
    q = QualificationRow
    out: list[ColumnElement[bool]] = []
    seen = query.visibility.clause()
    if seen is not None:
        out.append(seen)
    if query.status == "open":
        out.append(q.closed_at.is_(None))
    elif query.status != "all":
        out.append(q.status == query.status)
    if query.reps is not None:
        out.append(q.rep.in_(query.reps) if query.reps else false())
    if query.team:
        out.append(q.team == query.team)
    if query.pqls is not None:
        out.append(q.pql.in_(query.pqls) if query.pqls else false())
    if query.touch:
        out.append(q.touch == query.touch)
    if query.stage:
        out.append(
            q.account_id.in_(
                select(AccountStageRow.account_id).where(AccountStageRow.stage == query.stage)
            )
        )
    return out


def _ordered(stmt: Select[QualificationRow], query: InboxQuery) -> Select[QualificationRow]:
    q = QualificationRow
    if query.sort == "priority":
        if query.after:
            stmt = stmt.where(
                tuple_(q.priority, q.qualified_at, q.id)
                < tuple_(*decode_cursor("priority", query.after))
            )
        return stmt.order_by(q.priority.desc(), q.qualified_at.desc(), q.id.desc())
    if query.after:
        stmt = stmt.where(
            tuple_(q.qualified_at, q.id) < tuple_(*decode_cursor("recency", query.after))
        )
    return stmt.order_by(q.qualified_at.desc(), q.id.desc())


class InboxStore:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    def page(self, query: InboxQuery) -> InboxPage:
        if query.sort not in SORTS:
            raise BadCursor(f"sort must be one of {', '.join(SORTS)}")
        where = _where(query)
        limit = max(1, min(query.limit, 500))
        stmt = _ordered(select(QualificationRow).where(and_(*where)), query).limit(limit + 1)
        with self.state.session() as s:
            rows = [_to_q(r) for r in s.scalars(stmt)]
            capped = select(QualificationRow.id).where(and_(*where)).limit(COUNT_CAP + 1)
            total = int(s.scalar(select(func.count()).select_from(capped.subquery())) or 0)
            accounts = {r.account_id for r in rows if r.account_id}
            stages = (
                {
                    a: st
                    for a, st in s.execute(
                        select(AccountStageRow.account_id, AccountStageRow.stage).where(
                            AccountStageRow.account_id.in_(accounts)
                        )
                    )
                }
                if accounts
                else {}
            )
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = encode_cursor(query.sort, rows[-1]) if more and rows else None
        return InboxPage(
            rows, min(total, COUNT_CAP), cursor, total_exact=total <= COUNT_CAP, stages=stages
        )

    def get(self, qualification_id: str, visibility: Visibility) -> Qualification | None:
        stmt = select(QualificationRow).where(QualificationRow.id == qualification_id)
        seen = visibility.clause()
        if seen is not None:
            stmt = stmt.where(seen)
        with self.state.session() as s:
            row = s.scalar(stmt)
            return None if row is None else _to_q(row)

    def stage_of(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        with self.state.session() as s:
            return {
                a: st
                for a, st in s.execute(
                    select(AccountStageRow.account_id, AccountStageRow.stage).where(
                        AccountStageRow.account_id.in_(list(account_ids))
                    )
                )
            }
