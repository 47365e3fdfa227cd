"""Incremental identity equals ``resolve`` on every visible row, step by step.

Two layers. In memory (fast, many seeded histories): random trait rows, links and
memberships, stored in ``seq`` order with times all over the place (late rows, rows in the
future that become visible later, links timed before older links), are fed step by step
to ``IdentityState.advance`` and compared with ``resolve`` run from scratch at each
``as_of``; the reported Delta must cover every entry that changed. Then through the real
stores (DuckDB and PostgreSQL): the seeded message world of ``test_incremental`` plus
import rows, read with ``read_rows`` and compared with ``resolve_from_tables``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_incremental import START, World, append

from beachhead.engine.identity_incremental import (
    IdentityState,
    NeedFull,
    Rows,
    read_rows,
)
from beachhead.engine.incremental import _changed_accounts, _changed_users
from beachhead.engine.snapshot import resolve_from_tables
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot, resolve
from beachhead.ingest.message import Link, MembershipRow, TraitRow
from beachhead.store.events import EventStore
from beachhead.store.events_duckdb import DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore

FREE = frozenset({"gmail.com"})
T0 = datetime(2026, 1, 1, tzinfo=UTC)


class History:
    """Random identity rows in storage order (``seq`` increasing), times scattered."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.seq = 0
        self.traits: list[TraitRow] = []
        self.links: list[Link] = []
        self.members: list[MembershipRow] = []
        self.named: list[tuple[str, datetime, int]] = []  # raw id, ts, seq (an event)
        n = self.r.choice([3, 6, 10])
        self.users = [f"u{i}" for i in range(n)]
        self.anons = [f"a{i}" for i in range(n // 2 + 1)]
        self.accounts = [f"acc{i}" for i in range(self.r.choice([2, 4]))]
        self.domains = ["acme.com", "beta.io", "gmail.com", "zeta.org"]

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _raw(self) -> str:
        return self.r.choice(self.users + self.anons)

    def batch(self, now: datetime, size: int) -> None:
        r = self.r
        for _ in range(size):
            ts = now + timedelta(hours=r.choice([-200, -30, -5, -1, 0, 0, 1, 6, 48]))
            x = r.random()
            if x < 0.25:
                traits: dict[str, Any] = {"title": r.choice(["VP", "Lead", None])}
                if r.random() < 0.6:
                    traits["email"] = r.choice(
                        [f"x@{r.choice(self.domains)}", "not-an-email", None]
                    )
                self.traits.append(
                    TraitRow("user", self._raw(), ts, traits, "identify", self._next())
                )
            elif x < 0.45:
                traits = {"plan": r.choice(["free", "team"])}
                if r.random() < 0.5:
                    traits["domain"] = r.choice(
                        [f"https://www.{r.choice(self.domains)}/", r.choice(self.domains), None]
                    )
                source = r.choice(["group", "import"])
                self.traits.append(
                    TraitRow("account", r.choice(self.accounts), ts, traits, source, self._next())
                )
            elif x < 0.6:
                self.members.append(
                    MembershipRow(
                        self._raw(),
                        r.choice(self.accounts),
                        ts,
                        r.choice(["group", "group", "import"]),
                        self._next(),
                    )
                )
            elif x < 0.75:
                a, b = self._raw(), self._raw()
                self.links.append(Link(a, b, ts, self._next()))
            else:
                self.named.append((self._raw(), ts, self._next()))

    def visible(self, as_of: datetime, mark: int, before: tuple[datetime, int] | None) -> Rows:
        def ok(ts: datetime, seq: int) -> bool:
            if ts > as_of or seq > mark:
                return False
            return before is None or seq > before[1] or ts > before[0]

        return Rows(
            [t for t in self.traits if ok(t.ts, t.seq)],
            [lk for lk in self.links if ok(lk.ts, lk.seq)],
            [m for m in self.members if ok(m.ts, m.seq)],
            {raw for raw, ts, seq in self.named if ok(ts, seq)},
        )


def _marks(mark: int) -> dict[str, int]:
    return dict.fromkeys(("events", "trait_rows", "links", "memberships"), mark)


def _check_delta(old: Snapshot, new: Snapshot, users: set[str], accounts: set[str]) -> None:
    assert _changed_users(old, new) <= users
    assert _changed_accounts(old, new) <= accounts


@pytest.mark.parametrize("seed", range(300))
def test_advance_equals_resolve_in_memory(seed: int) -> None:
    h = History(seed)
    r = random.Random(seed * 7 + 1)
    now = T0
    h.batch(now, r.choice([0, 5, 20]))
    state = IdentityState(h.visible(now, h.seq, None), now, FREE, _marks(h.seq))
    full = h.visible(now, h.seq, None)
    assert state.snap == resolve(
        full.trait_rows, full.links, full.memberships, now, FREE, full.named
    )
    for _ in range(12):
        h.batch(now, r.choice([0, 1, 2, 5]))
        before = (now, state.marks["links"])
        now = now + r.choice(
            [timedelta(0), timedelta(hours=1), timedelta(hours=7), timedelta(days=3)]
        )
        mark = h.seq
        old = state.snap
        try:
            snap, delta = state.advance(h.visible(now, mark, before), now, _marks(mark))
        except NeedFull:  # pragma: no cover - the history names no domain: accounts
            pytest.fail("unexpected fallback")
        every = h.visible(now, mark, None)
        expected = resolve(every.trait_rows, every.links, every.memberships, now, FREE, every.named)
        assert snap == expected
        _check_delta(old, snap, delta.users, delta.accounts)
        assert old is not snap


def test_a_domain_account_id_in_rows_falls_back() -> None:
    rows = Rows(trait_rows=[TraitRow("account", "domain:acme.com", T0, {}, "group", 1)])
    state = IdentityState(rows, T0, FREE, _marks(1))
    with pytest.raises(NeedFull):
        state.advance(Rows(), T0, _marks(1))


# --------------------------------------------------------------------------- real stores


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    s: EventStore
    if request.param == "duckdb":
        s = DuckDBEventStore(tmp_path / "events.duckdb")
    else:
        s = PostgresEventStore(request.getfixturevalue("pg_url"))
    try:
        yield s
    finally:
        s.close()


def _store_marks(con: Any) -> dict[str, int]:
    out = {}
    for name in ("events", "trait_rows", "links", "memberships"):
        t = con.table(name)
        out[name] = int(t.aggregate(s=t.seq.max().fill_null(0)).to_pyarrow().to_pylist()[0]["s"])
    return out


@pytest.mark.parametrize(
    "seed", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)]
)
def test_advance_equals_resolve_from_tables(store: EventStore, seed: int) -> None:
    mail = frozenset(builtin_free_mail())
    world = World(seed)
    r = random.Random(seed)
    con = store.ibis()
    now = START
    append(store, world.batch(now, 30), now)
    marks = _store_marks(con)
    state = IdentityState.load(con, now, mail, marks)
    assert state.snap == resolve_from_tables(con, now, mail)
    for i in range(10):
        if i % 3 == 1:  # an import: memberships with source "import", account traits
            at = now + timedelta(hours=r.choice([-50, -1, 2]))
            user = r.choice(world.users)
            acct = r.choice(["acme", "beta", "crm1"])
            store.append_trait_rows(
                [TraitRow("account", acct, at, {"domain": "zeta.org"}, "import")],
                [MembershipRow(user, acct, at, "import")],
            )
        append(store, world.batch(now, r.choice([0, 2, 6])), now)
        before = (state.as_of, dict(state.marks))
        now += r.choice(
            [timedelta(0), timedelta(minutes=30), timedelta(hours=5), timedelta(days=1)]
        )
        marks = _store_marks(con)
        old = state.snap
        snap, delta = state.advance(read_rows(con, now, marks, before), now, marks)
        assert snap == resolve_from_tables(con, now, mail), (seed, i)
        _check_delta(old, snap, delta.users, delta.accounts)
