"""Saved inbox views: a filter (the inbox's query parameters) under a name.

A view is personal (``team`` NULL) or shared with one team; a person sees their own views
and those shared with their team. Names are unique per owner (saving again replaces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import delete, or_, select

from beachhead.store.app_user_models import AppUserRow, SavedViewRow
from beachhead.store.state import SQL_INT_MAX, StateStore, label


@dataclass(frozen=True, slots=True)
class SavedView:
    id: int
    name: str
    owner: str  # the owner's email
    team: str | None  # shared with this team; None: personal
    params: dict[str, str]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SavedViewStore:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    def save(self, owner_id: int, name: str, params: dict[str, str], team: str | None) -> SavedView:
        name = label(name, "a saved view's name")
        if not name:
            raise ValueError("a saved view needs a name")
        body = orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode()
        with self.state.session() as s, s.begin():
            row = s.scalar(
                select(SavedViewRow).where(
                    SavedViewRow.owner_id == owner_id, SavedViewRow.name == name
                )
            )
            if row is None:
                row = SavedViewRow(
                    owner_id=owner_id, name=name, team=team, query=body, created_at=_now()
                )
                s.add(row)
            else:
                row.team, row.query = team, body
            s.flush()
            owner = s.scalar(select(AppUserRow.email).where(AppUserRow.id == owner_id)) or ""
            return SavedView(row.id, row.name, owner, row.team, dict(params))

    def visible(self, user_id: int, team: str | None) -> list[SavedView]:
        """The user's own views and those shared with their team, by name."""
        seen = SavedViewRow.owner_id == user_id
        cond = or_(seen, SavedViewRow.team == team) if team else seen
        with self.state.session() as s:
            rows = s.execute(
                select(SavedViewRow, AppUserRow.email)
                .join(AppUserRow, AppUserRow.id == SavedViewRow.owner_id)
                .where(cond)
                .order_by(SavedViewRow.name, SavedViewRow.id)
            ).all()
            return [
                SavedView(r.id, r.name, email, r.team, dict(orjson.loads(r.query)))
                for r, email in rows
            ]

    def get(self, view_id: int, user_id: int, team: str | None) -> SavedView | None:
        if not 0 < view_id <= SQL_INT_MAX:  # no such id: not a query either store refuses
            return None
        for v in self.visible(user_id, team):
            if v.id == view_id:
                return v
        return None

    def delete(self, view_id: int, owner_id: int) -> bool:
        """Only the owner deletes a view."""
        if not 0 < view_id <= SQL_INT_MAX:
            return False
        with self.state.session() as s, s.begin():
            result = s.execute(
                delete(SavedViewRow).where(
                    SavedViewRow.id == view_id, SavedViewRow.owner_id == owner_id
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
