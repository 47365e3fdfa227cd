"""Random account-level definitions, random events and steps: pairs steps equal full ones.

Hypothesis draws a small definitions file whose account PQLs and account score read the
foldable account aggregates (count, first/last seen, min/max, distinct_users,
days_active, the active_users/days_active/distinct_values metrics) with random windows,
plus a user PQL reading its own events; and a world (users, anonymous ids that an
identify stitches, group calls that move membership, tracks toward guest accounts, events
in the past and in the future) fed in a few batches, the clock moving between steps by
minutes to days. After every step the ``IncrementalEvaluator`` (DuckDB: account features
from pair partials) must equal ``evaluate`` at the same ``as_of``, and every step after
the first must take the pairs path.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_support import comparable, sentences

from beachhead.engine import evaluate
from beachhead.engine.incremental import IncrementalEvaluator
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.segment import normalize
from beachhead.rules.load import load_text
from beachhead.store.events_duckdb import DuckDBEventStore

START = datetime(2026, 3, 1, tzinfo=UTC)
USERS = ["u1", "u2", "u3", "u4", "u5"]
ANONYMOUS = ["anon1", "anon2"]
ACCOUNTS = ["c1", "c2", "c3"]
EVENTS = ["A", "B"]
MAIL = frozenset(builtin_free_mail())

window = st.sampled_from([None, "1h", "2d", "5d"])


@st.composite
def account_leaf(draw: st.DrawFn) -> str:
    w = draw(window)
    within = f", within: {w}" if w else ""
    n = draw(st.integers(0, 3))
    kind = draw(
        st.sampled_from(
            [
                "count",
                "distinct_users",
                "days_active",
                "min",
                "max",
                "first_seen",
                "last_seen",
                "active_users",
                "m_days_active",
                "distinct_values",
            ]
        )
    )
    event = draw(st.sampled_from(EVENTS))
    if kind in ("count", "distinct_users", "days_active"):
        return f"{{event: {event}{within}, {kind}: {{gte: {n}}}}}"
    if kind in ("min", "max"):
        return f"{{event: {event}{within}, {kind}: {{property: v, gte: {n}}}}}"
    if kind in ("first_seen", "last_seen"):
        cmp = draw(st.sampled_from(["{within: 3d}", "{before: 1d ago}", "{after: 2h ago}"]))
        return f"{{event: {event}, {kind}: {cmp}}}"
    w = w or "3d"
    if kind == "active_users":
        return f"{{metric: active_users, within: {w}, gte: {n}}}"
    if kind == "m_days_active":
        return f"{{metric: days_active, within: {w}, gte: {n}}}"
    return f"{{metric: distinct_values, of: user.dept, within: {w}, gte: {n}}}"


@st.composite
def definitions(draw: st.DrawFn) -> str:
    leaves = draw(st.lists(account_leaf(), min_size=1, max_size=4))
    pqls = []
    for i, leaf in enumerate(leaves):
        pqls.append(
            f"  - {{key: a{i}, name: A{i}, motion: custom, level: account, priority: 1,"
            f" when: {leaf}}}"
        )
    pqls.append(
        "  - {key: usr, name: U, motion: custom, level: user, priority: 1,"
        " when: {all: [{event: A, within: 2d, count: {gte: 1}},"
        " {score: sc, gte: 5}]}}"
    )
    rules = "\n".join(f"      - {{points: 5, when: {leaf}}}" for leaf in leaves)
    return (
        "version: 1\nscores:\n  sc:\n    name: S\n    level: account\n    rules:\n"
        f"{rules}\npqls:\n" + "\n".join(pqls) + "\n"
    )


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


@st.composite
def batch(draw: st.DrawFn, at: datetime, tag: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 8))):
        mid = f"{tag}-{i}"
        shift = timedelta(hours=draw(st.integers(-72, 4)), minutes=draw(st.integers(0, 59)))
        ts = _iso(at + shift)
        kind = draw(st.sampled_from(["track", "track", "track", "identify", "group", "alias"]))
        who = draw(st.sampled_from(USERS + ANONYMOUS))
        ids = {"anonymousId": who} if who in ANONYMOUS else {"userId": who}
        if kind == "track":
            msg: dict[str, Any] = {
                "type": "track",
                "event": draw(st.sampled_from(EVENTS)),
                "properties": {"v": draw(st.sampled_from([0, 1, 2.5, -1, "x"]))},
                **ids,
            }
            if draw(st.integers(0, 4)) == 0:
                msg["context"] = {"groupId": draw(st.sampled_from(ACCOUNTS))}
        elif kind == "identify":
            msg = {"type": "identify", "traits": {"dept": draw(st.sampled_from(["x", "y"]))}}
            msg.update(ids)
            if who in ANONYMOUS and draw(st.booleans()):
                msg["userId"] = draw(st.sampled_from(USERS))  # both ids: a link
        elif kind == "group":
            msg = {
                "type": "group",
                "userId": draw(st.sampled_from(USERS)),
                "groupId": draw(st.sampled_from(ACCOUNTS)),
                "traits": {"plan": "free"},
            }
        else:
            msg = {
                "type": "alias",
                "userId": draw(st.sampled_from(USERS)),
                "previousId": draw(st.sampled_from(ANONYMOUS)),
            }
        msg.update({"messageId": mid, "timestamp": ts})
        out.append(msg)
    return out


def _append(store: DuckDBEventStore, raws: list[dict[str, Any]], at: datetime) -> None:
    if raws:
        store.append([replace(normalize(r, at), seq=0) for r in raws], raws, "test")


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=definitions(), data=st.data())
def test_pairs_steps_equal_full_evaluations(text: str, data: st.DataObject) -> None:
    config = load_text(text)
    ticks = [timedelta(0), timedelta(minutes=30), timedelta(hours=5), timedelta(days=1)]
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBEventStore(Path(tmp) / "events.duckdb")
        try:
            inc = IncrementalEvaluator(MAIL, full_share=1.0)
            now = START
            _append(store, data.draw(batch(now, "b0")), now)
            assert inc.step(store, config, now).full
            for k in range(data.draw(st.integers(1, 4))):
                now += data.draw(st.sampled_from(ticks))
                _append(store, data.draw(batch(now, f"b{k + 1}")), now)
                info = inc.step(store, config, now)
                full = evaluate(store, config, now, free_mail=MAIL)
                assert comparable(info.evaluation) == comparable(full), (now, info.reason)
                assert sentences(info.evaluation) == sentences(full)
                assert not info.full and info.path == "pairs", info.reason
        finally:
            store.close()
