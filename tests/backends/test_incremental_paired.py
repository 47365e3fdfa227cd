"""A pairs step recomputes the pair partials only of users whose account-level inputs can
have moved (``engine/incremental.py``, ``_pairs_step``): new data, an identity move, or
activity that left a window of an *account* feature. A user whose activity left only a
*user* feature's window is re-evaluated, but keeps their pairs. Each step is checked
against a full evaluation at the same ``as_of``, with and without the prepared
statements (``engine/statements.py``; without them the pair SQL reads ``Run.after``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_incremental import START, append, checked_step, message

from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.rules.load import load_text
from beachhead.store.events_duckdb import DuckDBEventStore

# Comment Added counts toward a user feature (7 days) and an account one (30 days): a
# comment leaves the user's window 23 days before it leaves the account's.
CONFIG = """version: 1
pqls:
  - {key: talker, name: Talker, motion: custom, level: user, priority: 1,
     when: {event: Comment Added, within: 7d, count: {gte: 1}}}
  - {key: lively, name: Lively, motion: custom, level: account, priority: 1,
     when: {event: Comment Added, within: 30d, distinct_users: {gte: 2}}}
"""
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def _messages() -> list[dict[str, Any]]:
    """bob and ann are members of acme; ann comments with ``context.groupId`` acme, so
    her copied rows would make a pair of their own if the pair SQL read them (she is a
    member: distinct_users counts members only)."""
    return [
        message("group", "g1", "bob", START - DAY, groupId="acme"),
        message("group", "g0", "ann", START - DAY, groupId="acme"),
        message("track", "c1", "bob", START + 2 * DAY, event="Comment Added"),
        message("track", "c0", "ann", START, event="Comment Added", context={"groupId": "acme"}),
    ]


def _step(inc: IncrementalEvaluator, store: DuckDBEventStore, now: Any) -> StepInfo:
    return checked_step(inc, store, load_text(CONFIG), now)


def _held(info: StepInfo, pql: str) -> set[str]:
    return {m.entity_id for m in info.evaluation.matches if m.pql == pql}


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "unprepared"])
def test_a_user_window_exit_keeps_the_users_pairs(tmp_path: Path, prepared: bool) -> None:
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        append(store, _messages(), START + 2 * DAY)
        inc = IncrementalEvaluator(
            frozenset(builtin_free_mail()), full_share=1.0, prepared_steps=prepared
        )
        first = _step(inc, store, START + 7 * DAY - MINUTE)
        assert first.full
        assert _held(first, "talker") == {"ann", "bob"}
        assert _held(first, "lively") == {"acme"}

        # ann's comment leaves the 7-day window: she is re-evaluated, her pairs kept
        left = _step(inc, store, START + 7 * DAY + MINUTE)
        assert (left.full, left.path) == (False, "pairs"), left.reason
        assert (left.users, left.paired, left.accounts) == (1, 0, 0)
        assert _held(left, "talker") == {"bob"}
        assert _held(left, "lively") == {"acme"}

        # ... and the 30-day one: now her pairs move, and acme with them
        gone = _step(inc, store, START + 30 * DAY + MINUTE)
        assert (gone.full, gone.path) == (False, "pairs"), gone.reason
        assert gone.paired == 1
        assert gone.accounts == 1
        assert _held(gone, "lively") == set()

        # ann comments again: her pairs are recomputed, and acme counts two again
        again = START + 31 * DAY
        comment = message("track", "c9", "ann", again, event="Comment Added")
        append(store, [{**comment, "context": {"groupId": "acme"}}], again)
        back = _step(inc, store, START + 31 * DAY + MINUTE)
        assert (back.full, back.paired) == (False, 1), back.reason
        assert _held(back, "lively") == {"acme"}
        assert _held(back, "talker") == {"ann"}
    finally:
        store.close()
