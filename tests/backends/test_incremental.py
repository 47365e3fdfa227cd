"""Incremental evaluation equals a full one, step by step, on DuckDB and PostgreSQL.

A seeded sequence of steps, each a batch of messages and a clock tick, over a small
company: tracks (some with ``context.groupId`` toward another account), identifies that
change traits and email domains, aliases that merge an anonymous visitor into a user,
group calls that move membership, events timed in the future (visible later) and late
events timed in the past. After every step, the ``IncrementalEvaluator``'s Evaluation must
equal ``evaluate`` run from scratch at the same ``as_of`` (scores, stages, matches,
evidence and sentences), and most steps must really be incremental.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_engine_support import comparable, sentences

from beachhead.engine import evaluate
from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.segment import normalize
from beachhead.rules.clock import clock_of
from beachhead.rules.load import load_text
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation
from beachhead.store.events import EventStore
from beachhead.store.events_duckdb import DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore

HERE = Path(__file__).parent
TEMPLATE = HERE.parents[1] / "src" / "beachhead" / "rules" / "templates" / "beachhead.yml"
START = datetime(2026, 3, 1, tzinfo=UTC)
EVENTS = [
    "Logged In",
    "Report Created",
    "Comment Added",
    "Invite Sent",
    "Pricing",
    "Upgrade Clicked",
    "Signed Up",
    "SSO Settings Viewed",
    "Dashboard Shared",
]
ACCOUNTS = ["acme", "beta", "gamma", "delta"]
DOMAINS = ["acme.com", "beta.io", "gmail.com", "zeta.org"]
DEPARTMENTS = ["engineering", "sales", "product", "finance"]
PLANS = ["free", "team", "business", "enterprise"]


def config() -> Config:
    """The shipped template plus two PQLs with dated evidence and short windows."""
    text = TEMPLATE.read_text()
    cut = text.index("\n# Journey stages")
    return load_text(
        text[:cut] + "\n" + (HERE / "incremental" / "extra.yml").read_text() + text[cut:]
    )


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


class World:
    """Deterministic message batches: ``batch(now)`` draws one step's messages."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.users = [f"u{i}" for i in range(14)]
        self.anons = [f"anon{i}" for i in range(5)]

    def _msg(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self.n += 1
        return {"type": kind, "messageId": f"m{self.n}", "timestamp": _iso(at), **fields}

    def _who(self) -> dict[str, str]:
        if self.rng.random() < 0.15:
            return {"anonymousId": self.rng.choice(self.anons)}
        return {"userId": self.rng.choice(self.users)}

    def batch(self, now: datetime, size: int) -> list[dict[str, Any]]:
        r = self.rng
        out = []
        for _ in range(size):
            # mostly just before now; some far in the past (late), some in the future
            shift = r.choice([-r.uniform(0, 3600), -r.uniform(0, 86400 * 3), r.uniform(0, 7200)])
            at = now + timedelta(seconds=shift)
            x = r.random()
            if x < 0.62:
                extra: dict[str, Any] = {}
                if r.random() < 0.12:
                    extra["context"] = {"groupId": r.choice(ACCOUNTS)}
                if r.random() < 0.3:
                    out.append(self._msg("page", at, name="Pricing", **self._who(), **extra))
                else:
                    out.append(
                        self._msg("track", at, event=r.choice(EVENTS), **self._who(), **extra)
                    )
            elif x < 0.75:
                traits: dict[str, Any] = {"department": r.choice(DEPARTMENTS)}
                if r.random() < 0.5:
                    traits["email"] = f"p{r.randint(0, 99)}@{r.choice(DOMAINS)}"
                who = self._who()
                if r.random() < 0.3 and "anonymousId" in who:
                    who["userId"] = r.choice(self.users)  # identify with both ids: a link
                out.append(self._msg("identify", at, traits=traits, **who))
            elif x < 0.9:
                traits = {}
                if r.random() < 0.6:
                    traits = {
                        "plan": r.choice(PLANS),
                        "employees": r.choice([20, 150, 600, 2000]),
                        "seats": r.choice([2, 5, 10]),
                        "industry": r.choice(["software", "retail"]),
                    }
                out.append(
                    self._msg("group", at, groupId=r.choice(ACCOUNTS), traits=traits, **self._who())
                )
            elif x < 0.95:
                out.append(
                    self._msg(
                        "alias",
                        at,
                        previousId=r.choice(self.anons),
                        userId=r.choice(self.users),
                    )
                )
            else:
                out.append(
                    self._msg(
                        "group",
                        at,
                        groupId=f"dom{r.randint(0, 2)}",
                        traits={"domain": f"https://www.{r.choice(DOMAINS)}/x"},
                        userId=r.choice(self.users),
                    )
                )
        return out


def append(store: EventStore, raws: list[dict[str, Any]], received: datetime) -> None:
    msgs = [replace(normalize(raw, received), seq=0) for raw in raws]
    store.append(msgs, raws, "test")


def message(kind: str, mid: str, who: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """A raw Segment message of ``kind`` from user ``who`` at ``at``."""
    return {"type": kind, "messageId": mid, "userId": who, "timestamp": _iso(at), **fields}


def checked_step(
    inc: IncrementalEvaluator, store: EventStore, cfg: Config, now: datetime
) -> StepInfo:
    """``inc``'s step at ``now``, checked equal to a full evaluation at the same
    ``as_of`` (results and sentences)."""
    info = inc.step(store, cfg, now)
    full = evaluate(store, cfg, now, free_mail=frozenset(builtin_free_mail()))
    assert comparable(info.evaluation) == comparable(full), (now, info.reason)
    assert sentences(info.evaluation) == sentences(full)
    return info


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    s: EventStore
    if request.param == "duckdb":
        s = DuckDBEventStore(tmp_path / "events.duckdb")
    else:
        s = PostgresEventStore(request.getfixturevalue("pg_url"))
    try:
        yield s
    finally:
        s.close()


def ticks(seed: int, steps: int) -> list[tuple[int, timedelta]]:
    """(batch size, clock advance) per step: small batches, ticks from seconds to days."""
    r = random.Random(seed)
    out = []
    for i in range(steps):
        size = 0 if i % 5 == 4 else r.choice([1, 2, 4, 8])  # every 5th: the clock alone
        advance = r.choice(
            [timedelta(0), timedelta(seconds=30), timedelta(hours=3), timedelta(days=1)]
        )
        out.append((size, advance))
    return out


def test_template_windows_are_bounded() -> None:
    """The template needs no fallback: its clocks are windows on events."""
    clock = clock_of(config())
    assert not clock.unbounded
    assert timedelta(days=14) in clock.windows and timedelta(days=3) in clock.windows
    assert clock.dated_pqls == {"dormant_power_user"}


def run_steps(store: EventStore, seed: int, steps: int) -> tuple[list[bool], int]:
    """Incremental and full evaluations side by side: was each step full, and how many
    matches of the PQL with dated evidence ("last seen 3 hours ago") were compared."""
    cfg = config()
    mail = builtin_free_mail()
    world = World(seed)
    # full_share=1: never fall back for size, so every step after the first is incremental
    inc = IncrementalEvaluator(frozenset(mail), full_share=1.0)
    now = START
    append(store, world.batch(now, 40), now)
    kinds = []
    matched = 0
    for size, advance in ticks(seed, steps):
        now += advance
        if size:
            append(store, world.batch(now, size), now)
        info = inc.step(store, cfg, now)
        full = evaluate(store, cfg, now, free_mail=mail)
        assert comparable(info.evaluation) == comparable(full), (now, info.reason)
        assert sentences(info.evaluation) == sentences(full)
        kinds.append(info.full)
        if not info.full:  # DuckDB keeps the account level as pair partials
            assert info.path == ("pairs" if store.ibis().name == "duckdb" else "subset")
        matched += sum(m.pql == "dormant_power_user" for m in full.matches)
    return kinds, matched


def test_a_few_incremental_steps_equal_full_evaluations(store: EventStore) -> None:
    kinds, _matched = run_steps(store, 1, 5)
    assert kinds == [True, False, False, False, False]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_steps_equal_full_evaluations(store: EventStore, seed: int) -> None:
    kinds, matched = run_steps(store, seed, 16)
    assert kinds[0] is True and not any(kinds[1:]), kinds  # first full, then incremental
    assert matched > 0  # the sequence exercises dated evidence, not only scores


def test_nothing_new_re_evaluates_nobody(store: EventStore) -> None:
    cfg = config()
    world = World(3)
    inc = IncrementalEvaluator(frozenset(builtin_free_mail()))
    append(store, world.batch(START, 30), START)
    assert inc.step(store, cfg, START).full
    again = inc.step(store, cfg, START)
    assert (again.full, again.users, again.accounts) == (False, 0, 0)


def test_a_late_commit_below_the_mark_falls_back(store: EventStore) -> None:
    """Rows whose seq is below the last seen one (a slow transaction) force a full pass."""
    cfg = config()
    world = World(4)
    inc = IncrementalEvaluator(frozenset(builtin_free_mail()))
    append(store, world.batch(START, 10), START)
    inc.step(store, cfg, START)
    assert inc.last is not None
    inc.last.marks["events"].count -= 1  # as if one row with a low seq committed late
    info = inc.step(store, cfg, START)
    assert info.full and info.reason == "rows committed out of seq order"


def test_a_failed_step_starts_the_next_one_afresh(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails after its identity moved leaves no half-moved state behind."""
    import beachhead.engine.incremental as incremental

    cfg = config()
    mail = builtin_free_mail()
    world = World(5)
    inc = IncrementalEvaluator(frozenset(mail), full_share=1.0)
    append(store, world.batch(START, 20), START)
    inc.step(store, cfg, START)
    later = START + timedelta(hours=1)
    append(store, world.batch(later, 8), later)

    def lost(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection lost")

    with monkeypatch.context() as m:
        m.setattr(incremental, "evaluate_subset", lost)  # the subset path (PostgreSQL)
        m.setattr(incremental, "fetch", lost)  # the pairs path (DuckDB) ...
        # ... whose main queries run as prepared statements (engine/statements.py)
        m.setattr(incremental.StepStatements, "run_users", lost)
        with pytest.raises(RuntimeError):
            inc.step(store, cfg, later)
    info = inc.step(store, cfg, later)
    assert info.full and info.reason == "first evaluation"
    assert comparable(info.evaluation) == comparable(evaluate(store, cfg, later, free_mail=mail))


def side_by_side(
    store: EventStore, seed: int, steps: int, *evaluators: IncrementalEvaluator
) -> Iterator[tuple[datetime, list[StepInfo], Evaluation]]:
    """The seeded steps of ``World(seed)`` through each of ``evaluators`` in turn, with
    a full evaluation at each ``as_of``."""
    cfg = config()
    mail = frozenset(builtin_free_mail())
    world = World(seed)
    now = START
    append(store, world.batch(now, 40), now)
    for size, advance in ticks(seed, steps):
        now += advance
        if size:
            append(store, world.batch(now, size), now)
        infos = [inc.step(store, cfg, now) for inc in evaluators]
        yield now, infos, evaluate(store, cfg, now, free_mail=mail)


def test_pairs_and_subset_paths_agree_and_pairs_read_less(tmp_path: Path) -> None:
    """On DuckDB the same seeded steps through the pairs path and through the subset path
    (``pairs=False``) give the same evaluations, each equal to a full one; the pairs path
    copies no more events at any step (the affected accounts' members' activity is not
    read) and fewer over the sequence."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        mail = frozenset(builtin_free_mail())
        with_pairs = IncrementalEvaluator(mail, full_share=1.0)
        without = IncrementalEvaluator(mail, full_share=1.0, pairs=False)
        read = {"pairs": 0, "subset": 0}
        for now, (a, b), full in side_by_side(store, 6, 8, with_pairs, without):
            if a.full:
                assert b.full
                continue
            assert (a.path, b.path) == ("pairs", "subset")
            assert comparable(a.evaluation) == comparable(b.evaluation)
            assert sentences(a.evaluation) == sentences(b.evaluation)
            assert comparable(a.evaluation) == comparable(full)
            assert a.events <= b.events, (now, a.events, b.events)
            read["pairs"] += a.events
            read["subset"] += b.events
        assert read["pairs"] < read["subset"], read
    finally:
        store.close()


def msg(kind: str, mid: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """Like ``message`` with the ids in ``fields`` (an anonymousId alone, too)."""
    return {"type": kind, "messageId": mid, "timestamp": _iso(at), **fields}


GUEST_CONFIG = """version: 1
pqls:
  - {key: a, name: A, motion: custom, level: account, priority: 1,
     when: {event: X, distinct_users: {gte: 2}}}
"""


@pytest.mark.parametrize("pairs", [True, False], ids=["pairs", "subset"])
def test_a_stitched_raw_id_moves_its_guest_activity(store: EventStore, pairs: bool) -> None:
    """An anonymous visitor's guest event toward an account (``context.groupId``) counts
    for another user once an identify links the two: linked into a member, it makes the
    account's distinct users (members who did it) go from 1 to 2 although nothing new
    went toward it (on both paths)."""
    cfg = load_text(GUEST_CONFIG)
    mail = frozenset(builtin_free_mail())
    day = timedelta(days=1)

    guest = {"event": "X", "context": {"groupId": "acme"}}
    append(
        store,
        [
            msg("group", "g1", START - 2 * day, userId="m1", groupId="acme", traits={}),
            msg("group", "g2", START - 2 * day, userId="u2", groupId="acme", traits={}),
            msg("track", "t1", START - day, anonymousId="anon1", **guest),
            msg("track", "t2", START - day, userId="u2", **guest),
        ],
        START,
    )
    inc = IncrementalEvaluator(mail, full_share=1.0, pairs=pairs)
    first = inc.step(store, cfg, START)
    assert first.evaluation.matches == []  # u2 only: anon1 is a guest, m1 did nothing
    later = START + timedelta(minutes=1)
    link = msg("identify", "i1", later - timedelta(seconds=10), anonymousId="anon1", userId="m1")
    append(store, [link], later)
    info = inc.step(store, cfg, later)
    assert not info.full
    full = evaluate(store, cfg, later, free_mail=mail)
    assert [m.entity_id for m in full.matches] == ["acme"]
    assert comparable(info.evaluation) == comparable(full)


def test_a_step_keeps_the_history_older_than_the_account_windows(tmp_path: Path) -> None:
    """A step that re-reads some users whole (they sent messages) beside users whose
    activity only left an account window (re-read from the widest account window, 30
    days): the first keep their history from before that window, which the template's
    all-time user features (first seen, counts without ``within``) read. The World's
    other sequences span a few days, so nothing there is older than the window."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    try:
        cfg = config()
        mail = frozenset(builtin_free_mail())
        world = World(8)
        inc = IncrementalEvaluator(mail, full_share=1.0)
        old = START - timedelta(days=50)
        append(store, world.batch(old, 60), old)
        # activity 30 days before the steps below, so some of it leaves the windows
        edge = START - timedelta(days=30) + timedelta(hours=1)
        append(store, world.batch(edge, 60), edge)
        now = START
        assert inc.step(store, cfg, now).full
        for advance in (timedelta(hours=3), timedelta(hours=3), timedelta(days=1)):
            now += advance
            append(store, world.batch(now, 3), now)
            info = inc.step(store, cfg, now)
            full = evaluate(store, cfg, now, free_mail=mail)
            assert (info.full, info.path) == (False, "pairs"), info.reason
            assert comparable(info.evaluation) == comparable(full), now
            assert sentences(info.evaluation) == sentences(full)
    finally:
        store.close()


EDGE_CONFIG = """version: 1
pqls:
  - {key: a, name: A, motion: custom, level: account, priority: 1,
     when: {metric: active_users, within: 30d, gte: 2}}
"""


@pytest.mark.parametrize("sends", [True, False], ids=["re-read whole", "window only"])
def test_activity_at_the_start_of_the_account_window_still_counts(
    tmp_path: Path, sends: bool
) -> None:
    """A member active only in the first hour of the 30-day window still counts toward the
    account's active users after a step re-reads them: whether they sent a new message
    (re-read whole) or not (the step reads the window). A step that cut the window short
    loses them and the match."""
    store = DuckDBEventStore(tmp_path / "events.duckdb")
    cfg = load_text(EDGE_CONFIG)
    mail = frozenset(builtin_free_mail())
    day = timedelta(days=1)

    try:
        later = START + timedelta(minutes=1)
        start_of_window = later - 30 * day + timedelta(minutes=30)
        append(
            store,
            [
                msg("group", "g1", START - 40 * day, userId="m1", groupId="acme", traits={}),
                msg("group", "g2", START - 40 * day, userId="m2", groupId="acme", traits={}),
                msg("track", "t1", start_of_window, userId="m1", event="X"),
                msg("track", "t2", START - day, userId="m2", event="X"),
                # gone from the window at ``later``: touches m1 (a window exit)
                msg(
                    "track", "t0", START - 30 * day + timedelta(seconds=10), userId="m1", event="X"
                ),
            ],
            START,
        )
        inc = IncrementalEvaluator(mail, full_share=1.0)
        assert [m.entity_id for m in inc.step(store, cfg, START).evaluation.matches] == ["acme"]
        if sends:  # a message of m1's outside every window: m1 is re-read whole
            append(store, [msg("identify", "i1", START, userId="m1", traits={"x": 1})], later)
        info = inc.step(store, cfg, later)
        assert (info.full, info.path) == (False, "pairs"), info.reason
        full = evaluate(store, cfg, later, free_mail=mail)
        assert [m.entity_id for m in full.matches] == ["acme"]
        assert comparable(info.evaluation) == comparable(full)
    finally:
        store.close()


@pytest.mark.parametrize("pairs", [True, False], ids=["pairs", "subset"])
def test_a_guest_who_joins_by_domain_counts_as_a_member(store: EventStore, pairs: bool) -> None:
    """A guest's event tagged with an account counts toward its distinct users (members
    who did it) once the guest becomes a member: here without a message of the guest's,
    because the account takes the guest's email domain (an admin's group call). The
    step must see the membership move although the guest's activity did not."""
    cfg = load_text(GUEST_CONFIG)
    mail = frozenset(builtin_free_mail())
    day = timedelta(days=1)

    guest = {"event": "X", "context": {"groupId": "acme"}}
    append(
        store,
        [
            msg("group", "g1", START - 2 * day, userId="m1", groupId="acme", traits={}),
            msg("track", "t1", START - day, userId="m1", **guest),
            msg("track", "t2", START - day, userId="g2", **guest),
            msg("identify", "i2", START - 2 * day, userId="g2", traits={"email": "x@acme.io"}),
        ],
        START,
    )
    inc = IncrementalEvaluator(mail, full_share=1.0, pairs=pairs)
    first = inc.step(store, cfg, START)
    # g2 joined the implicit domain:acme.io account; on acme it is a guest: m1 only
    assert [m.entity_id for m in first.evaluation.matches] == []
    later = START + timedelta(minutes=1)
    admin = msg(
        "group",
        "g9",
        later - timedelta(seconds=10),
        userId="m1",
        groupId="acme",
        traits={"domain": "acme.io"},
    )
    append(store, [admin], later)
    info = inc.step(store, cfg, later)
    assert not info.full
    full = evaluate(store, cfg, later, free_mail=mail)
    assert [m.entity_id for m in full.matches] == ["acme"]  # g2 is a member now
    assert comparable(info.evaluation) == comparable(full)
