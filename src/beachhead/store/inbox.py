"""The inbox query: qualifications filtered, sorted and paged by keyset.

A page is ``limit`` rows after a cursor (the last row's sort key), never an OFFSET, so
page 1,000 of 100k rows costs what page 1 does: the inbox indexes of migration 0004
(``priority, qualified_at, id`` overall, per team and per rep; ``qualified_at, id``)
are read in order from the cursor on.

Scores (migration 0005): with a ``score`` chosen, each row is joined to its value of that
score (``qualification_scores``, kept current by every recorded evaluation), ``band``
filters on it, and ``sort="score"`` orders by its points, highest first, ties by id, rows
without that score (a user score on a PQA) last; the cursor then holds (points, id).

Visibility is part of the query (``Visibility``): a rep's rows are restricted to
their own and their team's, whatever else the filter says.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true, tuple_
from sqlalchemy.orm import Session

from beachhead.qualify.lifecycle import Qualification
from beachhead.store.qualification_models import (
    AccountStageRow,
    QualificationRow,
    QualificationScoreRow,
)
from beachhead.store.qualifications import _to_q
from beachhead.store.state import StateStore

SORTS = ("priority", "recency", "score")
BANDS = ("high", "medium", "low")
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
    score: str | None = None  # a score key: rows carry it; ``band`` and sort "score" need it
    band: str | None = None


@dataclass
class InboxPage:
    rows: list[Qualification]
    total: int  # at most COUNT_CAP
    next_cursor: str | None
    total_exact: bool = True  # False: there are more than ``total``
    stages: dict[str, str | None] = field(default_factory=dict)  # account -> current stage
    # qualification id -> score key -> (points, band): every recorded score of the rows
    scores: dict[str, dict[str, tuple[float, str | None]]] = field(default_factory=dict)
    # qualification id -> the same entity's other open qualifications the viewer may see,
    # highest priority first, ties by PQL key ("the others beside it", definitions.md)
    others: dict[str, list[Other]] = field(default_factory=dict)


def _iso(t: datetime) -> str:
    return t.isoformat()


def encode_cursor(sort: str, q: Qualification, points: float | None = None) -> str:
    """The keyset of ``q`` in ``sort``; for the score sort, ``points`` is its score's."""
    t = q.qualified_at.astimezone(UTC).replace(tzinfo=None)
    key: list[object] = [sort, _iso(t), q.id]
    if sort == "priority":
        key.insert(1, q.priority)
    if sort == "score":
        key = [sort, points, q.id]
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[object, ...]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or raw[0] != sort:
            raise BadCursor("the cursor belongs to another sort order")
        if sort == "priority":
            _s, priority, t, qid = raw
            return (int(priority), datetime.fromisoformat(t), str(qid))
        if sort == "score":
            _s, points, qid = raw
            if points is not None and not isinstance(points, int | float):
                raise TypeError("points")
            return (None if points is None else float(points), str(qid))
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
    if query.band:
        out.append(QualificationScoreRow.band == query.band)
    return out


def _joined(stmt: Select[Any], query: InboxQuery) -> Select[Any]:
    """``stmt`` joined to the chosen score's row (outer: rows without it stay)."""
    if not query.score:
        return stmt
    sc = QualificationScoreRow
    return stmt.outerjoin(
        sc, and_(sc.qualification_id == QualificationRow.id, sc.score == query.score)
    )


def _ordered(stmt: Select[Any], query: InboxQuery) -> Select[Any]:
    q = QualificationRow
    if query.sort == "score":
        points = QualificationScoreRow.points
        if query.after:
            after_points, after_id = decode_cursor("score", query.after)
            if after_points is None:  # in the tail of rows without the score
                stmt = stmt.where(points.is_(None), q.id < after_id)
            else:
                stmt = stmt.where(
                    or_(
                        points.is_(None),
                        and_(
                            points.is_not(None),
                            tuple_(points, q.id) < tuple_(after_points, after_id),
                        ),
                    )
                )
        return stmt.order_by(points.is_(None), points.desc(), q.id.desc())
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


def _scores_of(s: Session, ids: Sequence[str]) -> dict[str, dict[str, tuple[float, str | None]]]:
    out: dict[str, dict[str, tuple[float, str | None]]] = {}
    if not ids:
        return out
    sc = QualificationScoreRow
    for qid, key, points, band in s.execute(
        select(sc.qualification_id, sc.score, sc.points, sc.band).where(
            sc.qualification_id.in_(list(ids))
        )
    ):
        out.setdefault(qid, {})[key] = (float(points), band)
    return out


@dataclass(frozen=True, slots=True)
class Other:
    """Another open qualification of a row's entity, as the inbox lists it beside."""

    id: str
    pql: str
    priority: int
    status: str
    rep: str | None


def _others(
    s: Session, rows: Sequence[Qualification], visibility: Visibility, pqls: Sequence[str]
) -> dict[str, list[Other]]:
    """Each row's entity's other open qualifications (``InboxPage.others``): one query
    for the page, on the (pql, entity_id, closed_at) index (``pqls``: every PQL key the
    definitions and the page know), of the few columns shown."""
    if not rows:
        return {}
    q = QualificationRow
    entities = {(r.level, r.entity_id) for r in rows}
    stmt = select(q.id, q.pql, q.level, q.entity_id, q.priority, q.status, q.rep).where(
        q.pql.in_(sorted(set(pqls))),
        q.entity_id.in_(sorted({e for _level, e in entities})),
        q.closed_at.is_(None),
    )
    seen = visibility.clause()
    if seen is not None:
        stmt = stmt.where(seen)
    by_entity: dict[tuple[str, str], list[Other]] = {}
    for qid, pql, level, entity, priority, status, rep in s.execute(stmt):
        if (level, entity) in entities:
            by_entity.setdefault((level, entity), []).append(
                Other(qid, pql, int(priority), status, rep)
            )
    out: dict[str, list[Other]] = {}
    for r in rows:
        group = [o for o in by_entity.get((r.level, r.entity_id), []) if o.id != r.id]
        if group:
            out[r.id] = sorted(group, key=lambda o: (-o.priority, o.pql))
    return out


class InboxStore:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    def page(self, query: InboxQuery, known_pqls: Sequence[str] = ()) -> InboxPage:
        """A page of ``query``; ``known_pqls`` (the definitions' keys) lets ``others``
        find an entity's qualifications of PQLs not on the page."""
        if query.sort not in SORTS:
            raise BadCursor(f"sort must be one of {', '.join(SORTS)}")
        if (query.sort == "score" or query.band) and not query.score:
            raise BadCursor("sorting or filtering by band needs a score")
        if query.band and query.band not in BANDS:
            raise BadCursor(f"band must be one of {', '.join(BANDS)}")
        where = _where(query)
        limit = max(1, min(query.limit, 500))
        base = _joined(select(QualificationRow), query).where(and_(true(), *where))
        stmt = _ordered(base, query).limit(limit + 1)
        with self.state.session() as s:
            rows = [_to_q(r) for r in s.scalars(stmt)]
            capped = (
                _joined(select(QualificationRow.id), query)
                .where(and_(true(), *where))
                .limit(COUNT_CAP + 1)
            )
            total = int(s.scalar(select(func.count()).select_from(capped.subquery())) or 0)
            scores = _scores_of(s, [r.id for r in rows])
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
            others = _others(s, rows, query.visibility, [*known_pqls, *(r.pql for r in rows)])
        cursor = None
        if more and rows:
            last = scores.get(rows[-1].id, {}).get(query.score or "")
            cursor = encode_cursor(query.sort, rows[-1], None if last is None else last[0])
        return InboxPage(
            rows,
            min(total, COUNT_CAP),
            cursor,
            total_exact=total <= COUNT_CAP,
            stages=stages,
            scores=scores,
            others=others,
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
