"""A step reads a re-evaluated user's activity after the history's cut and, of the older
rows, only the first and the last of each event that an unwindowed ``first_seen`` /
``last_seen`` reads (``engine/pairs.py``, ``History``). Each step here is checked against
a full evaluation at the same ``as_of``; the answers depend on rows older than the cut:
first and last seen from old history, an alias that brings an anonymous id's old history
to a user, a late row older than the cut, and a clock that moved past the history's slack.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_engine_support import comparable, sentences
from test_incremental import START, _iso, append

from beachhead.engine import evaluate
from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.engine.pairs import HISTORY_MARGIN, history_events, history_reach
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.rules.load import load_text
from beachhead.store.events_duckdb import DuckDBEventStore

CONFIG = """version: 1
pqls:
  - {key: veteran, name: Veteran, motion: custom, level: user, priority: 1,
     when: {all: [{event: Logged In, first_seen: {before: 40d ago}},
                  {event: Report Created, within: 7d}]}}
  - {key: lapsed, name: Lapsed, motion: custom, level: user, priority: 2,
     when: {event: Logged In, last_seen: {before: 35d ago}}}
  - {key: newcomer, name: Newcomer, motion: custom, level: user, priority: 3,
     when: {event: Logged In, first_seen: {within: 45d}}}
  - {key: team, name: Team, motion: custom, level: account, priority: 1,
     when: {metric: active_users, within: 30d, gte: 2}}
"""
DAY = timedelta(days=1)


class Messages:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {"type": kind, "messageId": f"h{self.n}", "timestamp": _iso(at), **fields}

    def track(self, who: str, event: str, at: datetime) -> dict[str, Any]:
        key = "anonymousId" if who.startswith("anon") else "userId"
        return self("track", at, event=event, **{key: who})


def test_the_definitions_cut_the_history() -> None:
    cfg = load_text(CONFIG)
    assert history_events(cfg) == {"Logged In"}
    assert history_reach(cfg) == 30 * DAY


def test_history_cut_is_off_for_an_unwindowed_count() -> None:
    text = CONFIG + (
        "  - {key: all_time, name: All time, motion: custom, level: user, priority: 4,\n"
        "     when: {event: Report Created, count: {gte: 3}}}\n"
    )
    assert history_events(load_text(text)) is None


def _check(inc: IncrementalEvaluator, store: DuckDBEventStore, now: datetime) -> StepInfo:
    cfg = load_text(CONFIG)
    mail = frozenset(builtin_free_mail())
    info = inc.step(store, cfg, now)
    full = evaluate(store, cfg, now, free_mail=mail)
    assert (info.full, info.path) == (False, "pairs"), info.reason
    assert comparable(info.evaluation) == comparable(full), now
    assert sentences(info.evaluation) == sentences(full)
    return info


def _matched(info: StepInfo, pql: str) -> set[str]:
    return {m.entity_id for m in info.evaluation.matches if m.pql == pql}


def test_steps_read_the_kept_old_rows_instead_of_whole_histories(tmp_path: Path) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    m = Messages()
    cfg = load_text(CONFIG)
    try:
        old: list[dict[str, Any]] = []
        for d in range(45, 65):  # u0: a long old history, first Logged In 64 days ago
            old += [
                m.track("u0", "Logged In", START - d * DAY),
                m.track("u0", "Docs", START - d * DAY),
            ]
        old += [
            m.track("u4", "Logged In", START - 50 * DAY),  # u4: lapsed since
            m.track("anon0", "Logged In", START - 55 * DAY),  # aliased to u5 below
            m.track("u2", "Logged In", START - 38 * DAY),  # a late row goes before it below
            m.track("u2", "Report Created", START - 2 * DAY),
            # u1's only activity in the account window: near its start, after the cut
            m.track("u1", "Docs", START - 29 * DAY - 12 * timedelta(hours=1)),
            m.track("u0", "Logged In", START - 3 * DAY),
            m.track("u5", "Logged In", START - 4 * DAY),
            m("group", START - 60 * DAY, userId="u0", groupId="acme", traits={}),
            m("group", START - 60 * DAY, userId="u1", groupId="acme", traits={}),
        ]
        append(store, old, START)
        inc = IncrementalEvaluator(frozenset(builtin_free_mail()), full_share=1.0)
        first = inc.step(store, cfg, START)
        assert first.full
        assert inc.last is not None and inc.last.pairs is not None
        history = inc.last.pairs.history
        assert history is not None and history.cut == START - 30 * DAY - HISTORY_MARGIN
        # u0's first and last old Logged In, u4's, anon0's and u2's
        assert history.table.num_rows == 5
        assert "veteran" not in {m.pql for m in first.evaluation.matches}

        # u0 reports (veteran: first seen 64 days ago, only in the old rows); u4 acts
        # (still lapsed: the last Logged In is old); u1 identifies (re-read, and its
        # activity near the window's start keeps acme a team)
        now = START + timedelta(hours=1)
        append(
            store,
            [
                m.track("u0", "Report Created", now),
                m.track("u4", "Docs", now),
                m("identify", now, userId="u1", traits={"title": "VP"}),
            ],
            now,
        )
        info = _check(inc, store, now)
        assert {"u0"} <= _matched(info, "veteran")
        assert "u4" in _matched(info, "lapsed")
        assert "acme" in _matched(info, "team")
        assert info.events < 40  # u0's 40 old rows were not copied

        # anon0's old Logged In comes to u5 with an alias: u5 is a veteran once it reports
        now += timedelta(hours=1)
        append(
            store,
            [
                m("alias", now, previousId="anon0", userId="u5"),
                m.track("u5", "Report Created", now),
            ],
            now,
        )
        info = _check(inc, store, now)
        assert "u5" in _matched(info, "veteran")

        # a late row older than the cut: u2 was first seen 70 days ago after all
        now += timedelta(hours=1)
        assert "u2" not in _matched(info, "veteran")
        append(store, [m.track("u2", "Logged In", START - 70 * DAY)], now)
        info = _check(inc, store, now)
        assert "u2" in _matched(info, "veteran")
        assert inc.last.pairs is not None and inc.last.pairs.history is not None
        assert inc.last.pairs.history.table.num_rows == 6  # read again, with the late row

        # the clock moves past the slack: the history is read again with a later cut
        now += 4 * DAY
        append(store, [m.track("u0", "Report Created", now), m.track("u2", "Docs", now)], now)
        info = _check(inc, store, now)
        kept = inc.last.pairs.history
        assert kept is not None and kept.cut == now - 30 * DAY - HISTORY_MARGIN
        for _ in range(3):  # and steps go on from it
            now += timedelta(hours=6)
            append(store, [m.track("u4", "Logged In", now - 36 * DAY)], now)
            _check(inc, store, now)
    finally:
        store.close()


@pytest.mark.parametrize("hours", [1, 30])
def test_a_step_without_old_rows_copies_as_before(tmp_path: Path, hours: int) -> None:
    """Nothing older than the cut: the history is empty and steps still match."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    m = Messages()
    try:
        append(store, [m.track("u0", "Logged In", START - DAY)], START)
        inc = IncrementalEvaluator(frozenset(builtin_free_mail()), full_share=1.0)
        assert inc.step(store, load_text(CONFIG), START).full
        assert inc.last is not None and inc.last.pairs is not None
        assert inc.last.pairs.history is not None
        assert inc.last.pairs.history.table.num_rows == 0
        now = START + timedelta(hours=hours)
        append(store, [m.track("u0", "Report Created", now)], now)
        info = _check(inc, store, now)
        assert "u0" in _matched(info, "newcomer")
    finally:
        store.close()
