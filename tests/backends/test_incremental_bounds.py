"""A step lands exactly on the time a ``before: N ago`` bound flips, then moves on.

``first_seen: {before: 30d ago}`` holds once ``first_seen < as_of - 30d``: at
``as_of = first_seen + 30d`` exactly it does not hold yet, the next instant it does. A
``within``/``after`` bound is the other way round (``ts > as_of - N``: it stops holding at
``as_of = ts + N``). A step re-evaluates the entities whose activity crossed a bound since
the last step (``engine/incremental.py``, ``_touched_by_level``), so the rows it reads must
include both ends: each step here is checked against a full evaluation at the same
``as_of``, on the pairs path and on the subset path, for user and account features; then
seeded random histories step exactly onto the instants rows meet a bound and just past
them (with the old, open lower end seed 4 fails on both stores)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_incremental import (  # noqa: F401 (store: the fixture)
    START,
    World,
    append,
    checked_step,
    config,
    message,
    store,
)

from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.message import ACTIVITY_TYPES
from beachhead.rules.clock import clock_of
from beachhead.rules.load import load_text
from beachhead.store.events import EventStore

CONFIG = """version: 1
pqls:
  - {key: settled, name: Settled, motion: custom, level: user, priority: 1,
     when: {event: Signed Up, first_seen: {before: 30d ago}}}
  - {key: quiet, name: Quiet, motion: custom, level: user, priority: 2,
     when: {event: Logged In, last_seen: {before: 10d ago}}}
  - {key: fresh, name: Fresh, motion: custom, level: user, priority: 3,
     when: {event: Logged In, last_seen: {after: 10d ago}}}
  - {key: old_account, name: Old account, motion: custom, level: account, priority: 1,
     when: {event: Signed Up, first_seen: {before: 30d ago}}}
"""
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def _messages() -> list[dict[str, Any]]:
    bystanders = [  # so that one entity moving is not most of them
        message("track", f"x{i}", f"other{i}", START + 25 * DAY, event="Home") for i in range(6)
    ]
    return [
        message("group", "g1", "bob", START - DAY, groupId="acme"),
        message("track", "s1", "bob", START, event="Signed Up"),
        message("track", "l1", "bob", START + 20 * DAY, event="Logged In"),
        *bystanders,
    ]


def _step(inc: IncrementalEvaluator, events: EventStore, now: datetime) -> StepInfo:
    return checked_step(inc, events, load_text(CONFIG), now)


def _held(info: StepInfo) -> set[tuple[str, str]]:
    return {(m.pql, m.entity_id) for m in info.evaluation.matches}


@pytest.mark.parametrize("pairs", [True, False], ids=["pairs", "subset"])
def test_a_step_exactly_on_a_bound_then_past_it(store: EventStore, pairs: bool) -> None:  # noqa: F811
    """(PostgreSQL takes the subset path either way.)"""
    append(store, _messages(), START + 25 * DAY)
    inc = IncrementalEvaluator(frozenset(builtin_free_mail()), pairs=pairs)
    first = _step(inc, store, START + 30 * DAY - HOUR)
    assert first.full
    assert _held(first) == {("fresh", "bob")}
    # exactly on the bounds: first_seen == as_of - 30d, last_seen == as_of - 10d
    on = _step(inc, store, START + 30 * DAY)
    assert not on.full, on.reason
    assert _held(on) == set()  # "fresh" stopped holding; nothing "before" yet
    # ... and past them: both "before" bounds hold now
    past = _step(inc, store, START + 30 * DAY + HOUR)
    assert not past.full, past.reason
    assert _held(past) == {("settled", "bob"), ("quiet", "bob"), ("old_account", "acme")}


def _bounds(events: EventStore, windows: frozenset[timedelta], now: datetime) -> list[datetime]:
    """Every instant after ``now`` at which a visible activity row meets one of the
    ``windows``' bounds (``ts + w``), earliest first."""
    t = events.ibis().table("events")
    rows = t.filter(t.type.isin(sorted(ACTIVITY_TYPES))).select("ts").distinct().to_pyarrow()
    out = set()
    for ts in rows.column("ts").to_pylist():
        ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
        out.update(ts + w for w in windows if ts + w > now)
    return sorted(out)


@pytest.mark.parametrize("seed", [4, 5])
def test_random_steps_landing_on_bounds_equal_full_evaluations(
    store: EventStore,  # noqa: F811
    seed: int,
) -> None:
    """The seeded histories of ``test_incremental.World`` on the template plus dated PQLs
    (``last_seen: {before: 1h ago}`` among them), stepping alternately exactly onto the
    next instant some row meets a bound and then a little past it (1 us, 30 s or the
    next bound again), with new batches on the way."""
    cfg = config()
    windows = clock_of(cfg).windows
    world = World(seed)
    rng = random.Random(seed)
    inc = IncrementalEvaluator(frozenset(builtin_free_mail()), full_share=1.0)
    now = START
    append(store, world.batch(now, 40), now)
    landed = 0
    for i in range(12):
        if i % 2 == 0:
            ahead = _bounds(store, windows, now)
            landed += bool(ahead)
            now = ahead[min(len(ahead) - 1, rng.randrange(3))] if ahead else now + HOUR
        else:
            now += rng.choice([timedelta(microseconds=1), timedelta(seconds=30)])
        if rng.random() < 0.5:
            append(store, world.batch(now, rng.choice([1, 3])), now)
        info = checked_step(inc, store, cfg, now)
        assert info.full is (i == 0), (i, info.reason)
    assert landed >= 5
