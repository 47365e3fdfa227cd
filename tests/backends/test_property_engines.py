"""Random definitions over random events: DuckDB, PostgreSQL and the oracle must agree.

Hypothesis draws a small world (four users, two anonymous ids sometimes stitched into
them, two accounts, identify/group/track messages around ``as_of``, some after it, some
with ``context.groupId``) and a small definitions
file whose conditions are random trees over a small vocabulary of traits, events,
properties, aggregates, windows, metrics and operators. The same messages go through the
real events store on each engine; the engine's ``Evaluation`` must equal the oracle's.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_support import comparable, sentences

from beachhead.engine import evaluate
from beachhead.engine.snapshot import resolve_from_tables
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.segment import normalize
from beachhead.rules import reference
from beachhead.rules.load import load_text
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation
from beachhead.store.events import EventStore
from beachhead.store.events_duckdb import DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore
from pgdb import PG_AVAILABLE, scratch_database

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
USERS = ["u1", "u2", "u3", "u4"]
ACCOUNTS = ["c1", "c2"]
ANONYMOUS = ["anon1", "anon2"]
EVENTS = ["A", "B", "Pricing"]
FREE_MAIL = builtin_free_mail()

scalar = st.sampled_from([0, 1, 2, 1.0, 2.5, "1", "x", "y", True, False])
prop_value = st.one_of(st.none(), scalar, st.just("2026-02-20"), st.just([1, "x"]))


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@st.composite
def messages(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for user in USERS:
        if draw(st.booleans()):
            traits = {
                "plan": draw(st.sampled_from(["free", "team", 1, None])),
                "n": draw(prop_value),
                "dept": draw(st.sampled_from(["eng", "ops", 1, 1.0, True])),
            }
            out.append(
                {
                    "type": "identify",
                    "userId": user,
                    "traits": traits,
                    "timestamp": _iso(AS_OF - timedelta(days=30)),
                }
            )
        if draw(st.booleans()):
            account = draw(st.sampled_from(ACCOUNTS))
            out.append(
                {
                    "type": "group",
                    "userId": user,
                    "groupId": account,
                    "traits": {
                        "plan": draw(st.sampled_from(["free", "team"])),
                        "seats": draw(st.sampled_from([0, 2, 3, "4"])),
                    },
                    "timestamp": _iso(AS_OF - timedelta(days=draw(st.integers(0, 40)))),
                }
            )
    for anon in ANONYMOUS:  # sometimes stitched into a user, before or after as_of
        if draw(st.booleans()):
            out.append(
                {
                    "type": "identify",
                    "userId": draw(st.sampled_from(USERS)),
                    "anonymousId": anon,
                    "timestamp": _iso(AS_OF - timedelta(days=draw(st.integers(-2, 10)))),
                }
            )
    n = draw(st.integers(0, 30))
    for _ in range(n):
        who = draw(st.sampled_from(USERS + ANONYMOUS))
        msg: dict[str, Any] = {
            "type": draw(st.sampled_from(["track", "track", "page"])),
            ("anonymousId" if who in ANONYMOUS else "userId"): who,
            "timestamp": _iso(AS_OF - timedelta(hours=draw(st.integers(-24, 24 * 20)))),
            "properties": {
                k: v for k, v in (("n", draw(prop_value)), ("s", draw(scalar))) if v is not None
            },
        }
        name = draw(st.sampled_from(EVENTS))
        if msg["type"] == "track":
            msg["event"] = name
        else:
            msg["name"] = name
        if draw(st.integers(0, 4)) == 0:
            msg["context"] = {"groupId": draw(st.sampled_from(ACCOUNTS))}
        out.append(msg)
    return out


def comparison(numeric: bool) -> st.SearchStrategy[dict[str, Any]]:
    nums = st.sampled_from([0, 1, 2, 2.5])
    if numeric:
        return st.one_of(
            st.builds(
                lambda op, v: {op: v}, st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), nums
            ),
            st.just({"between": [1, 2]}),
            st.builds(lambda v: {"in": v}, st.lists(nums, max_size=2)),
        )
    return st.one_of(
        st.builds(lambda op, v: {op: v}, st.sampled_from(["eq", "ne", "contains"]), scalar),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["gt", "lte"]), nums),
        st.builds(lambda v: {"in": v}, st.lists(scalar, max_size=3)),
        st.builds(lambda v: {"not_in": v}, st.lists(scalar, max_size=2)),
        st.builds(lambda v: {"exists": v}, st.booleans()),
        st.builds(lambda v: {"starts_with": v}, st.sampled_from(["x", "fr", ""])),
        st.just({"matches": "^(?:x|te)"}),
        st.just({"after": "2026-02-15"}),
        st.just({"before": "5d ago"}),
    )


@st.composite
def event_leaf(draw: st.DrawFn, level: str) -> dict[str, Any]:
    leaf: dict[str, Any] = {"event": draw(st.sampled_from(EVENTS))}
    aggs = ["count", "sum", "avg", "min", "max", "days_active", "first_seen", "last_seen"]
    if level == "account":
        aggs.append("distinct_users")
    agg = draw(st.sampled_from(aggs))
    if agg not in ("first_seen", "last_seen") and draw(st.booleans()):
        leaf["within"] = draw(st.sampled_from(["3d", "7d", "12h"]))
    if draw(st.integers(0, 2)) == 0:
        leaf["where"] = [{"property": draw(st.sampled_from(["n", "s"])), **draw(comparison(False))}]
    if agg in ("first_seen", "last_seen"):
        leaf[agg] = draw(
            st.sampled_from([{"within": "5d"}, {"before": "3d ago"}, {"exists": True}])
        )
    elif agg in ("sum", "avg", "min", "max"):
        leaf[agg] = {"property": "n", **draw(comparison(True))}
    else:
        leaf[agg] = draw(comparison(True))
    return leaf


@st.composite
def leaf(draw: st.DrawFn, level: str) -> dict[str, Any]:
    kinds = ["trait_account", "event", "metric", "score"]
    if level == "user":
        kinds.append("trait_user")
    kind = draw(st.sampled_from(kinds))
    if kind == "trait_user":
        return {
            "trait": f"user.{draw(st.sampled_from(['plan', 'n', 'dept']))}",
            **draw(comparison(False)),
        }
    if kind == "trait_account":
        return {
            "trait": f"account.{draw(st.sampled_from(['plan', 'seats']))}",
            **draw(comparison(False)),
        }
    if kind == "event":
        return draw(event_leaf(level))
    if kind == "score":
        if draw(st.booleans()):
            return {
                "score": "fit",
                "band": {
                    "in": draw(st.lists(st.sampled_from(["high", "medium", "low"]), max_size=2))
                },
            }
        return {"score": "fit", **draw(comparison(True))}
    metric = draw(
        st.sampled_from(
            ["active_users", "members", "seats_used_pct", "days_active", "distinct_values"]
        )
    )
    out: dict[str, Any] = {"metric": metric, **draw(comparison(True))}
    if metric == "distinct_values":
        out["of"] = "user.dept"
    if metric in ("active_users", "days_active", "distinct_values") and draw(st.booleans()):
        out["within"] = "7d"
    if metric == "seats_used_pct":
        out = {"metric": metric, "gte": draw(st.sampled_from([0, 50, 66.67, 100]))}
    return out


def condition(level: str, depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    if depth == 0:
        return leaf(level)
    sub = condition(level, depth - 1)
    return st.one_of(
        leaf(level),
        st.builds(
            lambda k, xs: {k: xs},
            st.sampled_from(["all", "any", "none"]),
            st.lists(sub, max_size=3),
        ),
    )


def _no_score(cond: dict[str, Any]) -> dict[str, Any]:
    """The fit score's own rules cannot refer to fit."""
    if "score" in cond:
        return {"trait": "account.plan", "eq": "team"}
    for key in ("all", "any", "none"):
        if key in cond:
            return {key: [_no_score(c) for c in cond[key]]}
    return cond


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "version": 1,
        "scores": {
            "fit": {
                "level": "account",
                "rules": [
                    {
                        "points": draw(st.sampled_from([10, 30, -5, 2.5])),
                        "when": _no_score(draw(condition("account", 1))),
                    }
                    for _ in range(2)
                ],
                "bands": {"high": 30, "medium": 10},
            }
        },
        # Many small PQLs: each match list observes one condition directly.
        "pqls": [
            {
                "key": "pu",
                "name": "pu",
                "level": "user",
                "when": draw(condition("user")),
                "touch": [{"level": "low", "when": draw(condition("user", 1))}, {"level": "none"}],
            },
            *(
                {"key": f"u{i}", "name": f"u{i}", "level": "user", "when": draw(leaf("user"))}
                for i in range(5)
            ),
            {"key": "pa", "name": "pa", "level": "account", "when": draw(condition("account"))},
            *(
                {"key": f"a{i}", "name": f"a{i}", "level": "account", "when": draw(leaf("account"))}
                for i in range(4)
            ),
        ],
        "stages": [
            {"key": "s1", "name": "s1", "when": draw(condition("account", 1))},
            {"key": "s2", "name": "s2", "when": draw(condition("account", 1))},
        ],
    }


@contextmanager
def _stores() -> Iterator[list[EventStore]]:
    tmp = tempfile.TemporaryDirectory()
    stores: list[EventStore] = [DuckDBEventStore(Path(tmp.name) / "e.duckdb")]
    try:
        with scratch_database("bh_prop") as url:
            try:
                stores.append(PostgresEventStore(url))
                yield stores
            finally:
                for s in stores:
                    s.close()
    finally:
        tmp.cleanup()


def _engine(store: EventStore, config: Config) -> Evaluation:
    snap = resolve_from_tables(store.ibis(), AS_OF, FREE_MAIL)
    return evaluate(store, config, AS_OF, snap)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not PG_AVAILABLE, reason="PostgreSQL on 127.0.0.1:5432 is not available")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=messages(), defs=definitions())
def test_engines_agree_with_the_oracle(raw: list[dict[str, Any]], defs: dict[str, Any]) -> None:
    config = load_text(json.dumps(defs), "property.yml")
    msgs = [normalize(r, AS_OF) for r in raw]
    want = reference.evaluate(config, msgs, as_of=AS_OF, free_mail=FREE_MAIL)
    with _stores() as stores:
        for store in stores:
            if msgs:
                store.append(msgs, raw, "property")
            got = _engine(store, config)
            assert comparable(got) == comparable(want), type(store).__name__
            assert sentences(got) == sentences(want), type(store).__name__
