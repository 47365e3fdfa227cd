"""The account/user page queries (``store/activity_queries``) on DuckDB and PostgreSQL,
checked against the attribution rule of definitions.md applied to the same messages in
plain Python."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from beachhead.config import Settings
from beachhead.ingest.message import Message
from beachhead.store import activity_queries as aq
from beachhead.store.events import EventStore, open_event_store

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
END = T0 + timedelta(days=10)
MEMBERS = {"u1": {"u1", "anon-1"}, "u2": {"u2"}}  # account A's members and their raw ids


def _messages() -> list[Message]:
    def msg(i: int, kind: str, day: int, **kw: object) -> Message:
        ts = T0 + timedelta(days=day, minutes=i)
        return Message(message_id=f"m{i}", type=kind, ts=ts, received_at=ts, **kw)  # type: ignore[arg-type]

    return [
        msg(1, "track", 0, event="Logged In", user_id="u1"),  # A (no groupId)
        msg(2, "track", 1, event="Report Created", user_id="u2", context_group_id="B"),  # B
        msg(3, "track", 2, event="Comment Added", user_id="u3", context_group_id="A"),  # A
        msg(4, "identify", 2, user_id="u1", traits={"name": "One"}),  # not activity
        msg(5, "group", 3, user_id="u1", group_id="A", traits={"plan": "free"}),
        msg(6, "page", 4, event="Pricing", anonymous_id="anon-1"),  # u1 before signing in
        msg(7, "track", 4, event="Logged In", user_id="u2", context_group_id="A"),  # A
        msg(8, "track", 12, event="Logged In", user_id="u1"),  # after END
        msg(9, "screen", 5, event="Home", user_id="u9"),  # someone else
        # a member's group call to another account: B's message, not A's
        msg(10, "group", 5, user_id="u2", group_id="B", traits={"plan": "team"}),
    ]


@pytest.fixture(params=["duckdb", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    s = open_event_store(Settings(data=tmp_path / "data", database_url=url))
    s.append(_messages(), [{} for _ in _messages()], "test")
    try:
        yield s
    finally:
        s.close()


def _who(m: Message) -> str | None:
    return m.user_id or m.anonymous_id


def _raw_ids() -> set[str]:
    return set().union(*MEMBERS.values())


def _attributed_to_a(m: Message) -> bool:
    return m.context_group_id == "A" or (
        m.context_group_id is None and m.group_id is None and _who(m) in _raw_ids()
    )


def test_activity_per_day_and_last_activity(store: EventStore) -> None:
    got = aq.activity(store.ibis(), MEMBERS, "A", T0, END)
    visible = [m for m in _messages() if m.ts <= END and m.type in ("track", "page", "screen")]
    per_day: dict[date, int] = {}
    for m in visible:
        if _attributed_to_a(m):
            per_day[m.ts.date()] = per_day.get(m.ts.date(), 0) + 1
    assert got.per_day == per_day
    last = {user: max(m.ts for m in visible if _who(m) in raws) for user, raws in MEMBERS.items()}
    assert got.last == last  # u2's activity in B counts as their last activity too


def test_user_activity_counts_everything_of_theirs(store: EventStore) -> None:
    got = aq.activity(store.ibis(), {"u1": MEMBERS["u1"]}, None, T0, END)
    mine = [
        m
        for m in _messages()
        if m.ts <= END and m.type != "identify" and m.type != "group" and _who(m) in MEMBERS["u1"]
    ]
    assert sum(got.per_day.values()) == len(mine)


def test_timeline_pages_newest_first(store: EventStore) -> None:
    expected = sorted(
        (m for m in _messages() if m.ts <= END and (m.group_id == "A" or _attributed_to_a(m))),
        key=lambda m: m.ts,
        reverse=True,
    )
    first, total = aq.timeline(store.ibis(), _raw_ids(), "A", END, limit=3)
    second, total2 = aq.timeline(store.ibis(), _raw_ids(), "A", END, limit=3, offset=3)
    beyond, total3 = aq.timeline(store.ibis(), _raw_ids(), "A", END, limit=3, offset=30)
    assert total == total2 == total3 == len(expected)
    assert [r.ts for r in first + second] == [m.ts for m in expected][:6]
    assert beyond == []


def test_nobody_has_nothing(store: EventStore) -> None:
    assert aq.activity(store.ibis(), {}, None, T0, END).per_day == {}
    assert aq.timeline(store.ibis(), set(), None, END, limit=5) == ([], 0)
