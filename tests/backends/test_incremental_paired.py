"""A pairs step recomputes the pair partials only of users whose account-level inputs can
have moved (``engine/incremental.py``, ``_pairs_step``): new data, an identity move, or
activity that left a window of an *account* feature. A user whose activity left only a
*user* feature's window is re-evaluated, but keeps their pairs. Each step is checked
against a full evaluation at the same ``as_of``, with and without the prepared
statements (``engine/statements.py``; without them the pair SQL reads ``Run.after``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from test_engine_support import comparable, sentences
from test_incremental import START, _iso, append

from beachhead.engine import evaluate
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


def _messages() -> list[dict[str, object]]:
    """bob is a member of acme; ann comments on acme as a guest (``context.groupId``),
    so her copied rows would make a pair of their own if the pair SQL read them."""
    return [
        {
            "type": "group",
            "messageId": "g1",
            "userId": "bob",
            "groupId": "acme",
            "timestamp": _iso(START - DAY),
        },
        {
            "type": "track",
            "messageId": "c1",
            "userId": "bob",
            "event": "Comment Added",
            "timestamp": _iso(START + 2 * DAY),
        },
        {
            "type": "track",
            "messageId": "c0",
            "userId": "ann",
            "event": "Comment Added",
            "context": {"groupId": "acme"},
            "timestamp": _iso(START),
        },
    ]


def _step(inc: IncrementalEvaluator, store: DuckDBEventStore, now: object) -> StepInfo:
    cfg = load_text(CONFIG)
    info = inc.step(store, cfg, now)
    full = evaluate(store, cfg, now, free_mail=frozenset(builtin_free_mail()))
    assert comparable(info.evaluation) == comparable(full), now
    assert sentences(info.evaluation) == sentences(full)
    return info


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
        append(
            store,
            [
                {
                    "type": "track",
                    "messageId": "c9",
                    "userId": "ann",
                    "event": "Comment Added",
                    "context": {"groupId": "acme"},
                    "timestamp": _iso(START + 31 * DAY),
                }
            ],
            START + 31 * DAY,
        )
        back = _step(inc, store, START + 31 * DAY + MINUTE)
        assert (back.full, back.paired) == (False, 1), back.reason
        assert _held(back, "lively") == {"acme"}
        assert _held(back, "talker") == {"ann"}
    finally:
        store.close()
