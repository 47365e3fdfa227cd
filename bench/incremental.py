"""An incremental evaluation after 1% of the users acted, beside a full one at the same time.

The evaluation benchmark's data (``bench/evaluate_data.py``: n events, n/100 users, n/1000
accounts, 120 days) is copied to a scratch DuckDB file. A full evaluation at ``AS_OF``
primes the ``IncrementalEvaluator``; then 1% of the users each send a few events (tracks,
some with ``context.groupId``, and an identify that changes a trait) through the real
``EventStore.append``, and the clock moves one minute. At that ``as_of`` the incremental
step and a fresh full evaluation run on the same store; their results must be equal, and
the table shows both times, the ratio, and how many entities the step re-evaluated. A
clock-only step (no new data, one minute later: only windows moved) is measured the same way,
then 1% of the accounts and their members acting (a minute later), and another 1% with
the clock moved by one second only, as ``serve`` evaluates soon after an ingest (the
one-minute steps are its schedule's; their window exits cost most of those steps).

Times are wall clock on a shared machine (the load average is printed per row), each
the best of ``REPS`` runs (an incremental step re-run from a copy of the same state); the
ratio within one run is what to compare. The step's parts: ``changes`` (marks and the
touched-ids query), ``identity`` (``IdentityState.advance``), ``pairs`` (the touched
users' events cut and their pair partials recomputed; ``affected`` on the subset path),
``evaluate`` (the affected accounts from their pairs and the users from their events; the
subset evaluation on the subset path), ``merge``.
"""

from __future__ import annotations

import copy
import gc
import os
import random
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from beachhead.engine.evaluate import evaluate
from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot
from beachhead.ingest.segment import normalize
from beachhead.rules.model import Config
from beachhead.store.events_duckdb import DuckDBEventStore
from bench.evaluate import config
from bench.evaluate_data import AS_OF, ensure, shape
from bench.table import BenchTable

EVENTS = ["Logged In", "Report Created", "Comment Added", "Invite Sent", "Upgrade Clicked"]
# BENCH_INCREMENTAL_SIZES=1000000 runs one size only
SIZES = tuple(
    int(x) for x in os.environ.get("BENCH_INCREMENTAL_SIZES", "1000000,10000000").split(",")
)
QUICK_SIZES = (100_000,)
REPS = 2  # each time is the best of REPS runs (the machine is shared)


def _iso(t: Any) -> str:
    return str(t.isoformat()).replace("+00:00", "Z")


def _acted(
    uid: str, i: int, rng: random.Random, at: Any, prefix: str, group_to: int | None
) -> list[dict[str, Any]]:
    """Three tracks from ``uid`` (with ``group_to`` accounts, 30% of the last one toward a
    random account through ``context.groupId``) and, for every fifth user, an identify
    that changes a trait."""
    out: list[dict[str, Any]] = []
    for k in range(3):
        msg: dict[str, Any] = {
            "type": "track",
            "userId": uid,
            "event": rng.choice(EVENTS),
            "messageId": f"{prefix}-{i}-{k}",
            "timestamp": _iso(at),
        }
        if group_to is not None and k == 2 and rng.random() < 0.3:
            msg["context"] = {"groupId": f"acct_{rng.randrange(group_to)}"}
        out.append(msg)
    if i % 5 == 0:
        out.append(
            {
                "type": "identify",
                "userId": uid,
                "traits": {"title": rng.choice(["VP", "Lead", "Analyst"])},
                "messageId": f"{prefix}-{i}-id",
                "timestamp": _iso(at),
            }
        )
    return out


def changes(
    users: int,
    accounts: int,
    share: float,
    seed: int = 5,
    count: int | None = None,
    prefix: str = "inc",
    at: Any = None,
) -> list[dict[str, Any]]:
    """A few messages from ``share`` of the users (or ``count`` of them), ids as
    ``bench/evaluate_data`` makes them."""
    rng = random.Random(seed)
    picked = rng.sample(range(users), count or max(1, int(users * share)))
    at = AS_OF + timedelta(seconds=30) if at is None else at
    out: list[dict[str, Any]] = []
    for i, u in enumerate(picked):
        out += _acted(f"u_{u}", i, rng, at, prefix, accounts)
    return out


def entity_changes(
    snap: Snapshot, share: float, seed: int = 7, prefix: str = "ent", at: Any = None
) -> list[dict[str, Any]]:
    """Messages that change about ``share`` of the entities: ``share`` of the accounts,
    picked at random, and as many of their members as make ``share`` of the users (members
    of a picked account only, where there are enough), each sending a few tracks without a
    ``context.groupId`` and some an identify. Unlike ``changes`` (users picked anywhere,
    whose memberships spread the change over many accounts), this is the change "1% of the
    entities" describes."""
    rng = random.Random(seed)
    accounts = sorted(snap.accounts)
    picked = set(rng.sample(accounts, max(1, int(len(accounts) * share))))
    want = max(1, int(len(snap.users) * share))
    inside = sorted(u for a in picked for u in snap.members.get(a, ()))
    only = [u for u in dict.fromkeys(inside) if snap.accounts_of.get(u, set()) <= picked]
    pool = only if len(only) >= want else list(dict.fromkeys(inside))
    users = rng.sample(pool, min(want, len(pool)))
    at = AS_OF + timedelta(seconds=40) if at is None else at
    out: list[dict[str, Any]] = []
    for i, uid in enumerate(users):
        out += _acted(uid, i, rng, at, prefix, None)
    return out


def _full(store: DuckDBEventStore, cfg: Config, as_of: Any, mail: frozenset[str]) -> Any:
    """The full evaluation at ``as_of``, its best time of ``REPS``."""
    best = float("inf")
    for _ in range(REPS):
        gc.collect()  # each side starts from the same collector state
        t0 = time.perf_counter()
        result = evaluate(store, cfg, as_of, free_mail=mail)
        best = min(best, time.perf_counter() - t0)
    return result, best


def _step(
    inc: IncrementalEvaluator, store: DuckDBEventStore, cfg: Config, as_of: Any
) -> tuple[StepInfo, IncrementalEvaluator]:
    """The step at ``as_of``, its best time of ``REPS`` (each from a copy of the same
    state), and the evaluator to go on with."""
    best: StepInfo | None = None
    for i in range(REPS):
        trial = copy.deepcopy(inc) if i < REPS - 1 else inc
        gc.collect()
        info = trial.step(store, cfg, as_of)
        if best is None or info.seconds < best.seconds:
            best = info
    assert best is not None
    return best, inc


def _row(table: BenchTable, label: str, n: int, info: StepInfo, full_s: float) -> None:
    parts = ", ".join(f"{k} {v:.2f}s" for k, v in info.timings.items())
    table.add(
        n,
        label,
        full_s,
        info.seconds,
        full_s / info.seconds if info.seconds else 0.0,
        info.users,
        info.accounts,
        f"{info.events / n:.0%}" if n else "",
        info.path,
        parts,
        f"{os.getloadavg()[0]:.1f}",
    )


def measure(n: int, table: BenchTable, by_size: BenchTable | None = None) -> None:
    src = ensure(n)
    sh = shape(n)
    mail = frozenset(builtin_free_mail())
    cfg = config()
    with tempfile.TemporaryDirectory(prefix="bh-bench-inc-") as tmp:
        path = Path(tmp) / "events.duckdb"
        shutil.copyfile(src, path)
        store = DuckDBEventStore(path)
        try:
            inc = IncrementalEvaluator(mail)
            first = inc.step(store, cfg, AS_OF)
            assert first.full
            # the users' ids in the generated data
            users = len(first.evaluation.users)

            def measured(
                raws: list[dict[str, Any]], at: Any, label: str, into: BenchTable = table
            ) -> None:
                """Store ``raws``, then the step at ``at`` beside a full evaluation."""
                nonlocal inc
                if raws:
                    msgs = [replace(normalize(r, AS_OF), seq=0) for r in raws]
                    store.append(msgs, raws, "bench")
                info, inc = _step(inc, store, cfg, at)
                full, full_s = _full(store, cfg, at, mail)
                assert not info.full, info.reason
                assert info.evaluation == full, "incremental and full evaluations differ"
                _row(into, label, n, info, full_s)

            t1 = AS_OF + timedelta(minutes=1)
            measured(changes(sh.users, sh.accounts, 0.01), t1, f"1% of {users:,} users acted")
            t2 = t1 + timedelta(minutes=1)
            measured([], t2, "clock only (+1 min)")
            t3 = t2 + timedelta(minutes=1)
            measured(
                entity_changes(first.snapshot, 0.01),
                t3,
                "1% of accounts and 1% of users (their members) acted",
            )
            # the same change as serve evaluates it soon after ingest (its debounce is
            # 0.3 s): the clock moves one second, so almost no activity leaves a window
            soon = t3 + timedelta(seconds=0.5)
            measured(
                entity_changes(first.snapshot, 0.01, seed=11, prefix="soon", at=soon),
                t3 + timedelta(seconds=1),
                "the same, other 1%, clock +1 s (right after ingest)",
            )
            if by_size is None:
                return
            # the step's cost by the size of the change, as serve meets it (the clock
            # one second on): what is fixed per step, what grows with the users who acted
            at = t3 + timedelta(seconds=1)
            for k, count in enumerate(_change_sizes(users)):
                at += timedelta(seconds=1)
                raws = changes(
                    sh.users,
                    sh.accounts,
                    0.0,
                    seed=20 + k,
                    count=count,
                    prefix=f"size{k}",
                    at=at - timedelta(seconds=0.5),
                )
                measured(raws, at, f"{count:,} of {users:,} users acted, +1 s", by_size)
        finally:
            store.close()


def _change_sizes(users: int) -> list[int]:
    """One user, then 0.1%, 1% and 10% of ``users`` (each at least one more than before)."""
    out = [1]
    for share in (0.001, 0.01, 0.1):
        out.append(max(out[-1] + 1, int(users * share)))
    return out


def run(quick: bool = False) -> list[BenchTable]:
    table = BenchTable(
        "Incremental evaluation vs full (DuckDB, template + custom definitions)",
        [
            "events",
            "step",
            "full s",
            "incremental s",
            "x cheaper",
            "users",
            "accounts",
            "events read",
            "path",
            "parts",
            "load",
        ],
    )
    by_size = BenchTable(
        "An incremental step by the size of the change (DuckDB, clock +1 s each)",
        list(table.columns),
    )
    for n in QUICK_SIZES if quick else SIZES:
        measure(n, table, by_size)
    table.notes.append(
        "users/accounts: entities the step re-evaluated (the rest kept their results); "
        "results checked equal to the full evaluation. events read: the share of all "
        "events the step copied (path pairs: the touched users' own activity, the accounts "
        "combined from kept per-(account, user) partials; path subset: all the affected "
        "accounts' members' activity). full s: evaluate() with identity resolved from the "
        "tables."
    )
    table.notes.append(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    by_size.notes.append(
        "each row: that many users (picked anywhere, as in the first table) send three "
        "tracks and some an identify, then a step one second later beside a full "
        "evaluation (checked equal). The one-user row is the step's fixed cost: what a step "
        "pays whatever it reads (change detection, identity, four compiled plans, merge)."
    )
    return [table, by_size]
