"""What an ``IncrementalEvaluator`` keeps between steps, and how a step's results merge in.

A ``Checkpoint`` holds the last evaluation (with its matches indexed by PQL and entity),
the identity it was made with, where each table stood (``Mark``), the account level's
pair partials when kept (``Pairs``, ``engine/pairs.py``) and when each dated match's
"... ago" can first read differently. ``merge_fresh`` swaps a step's re-evaluated entities
into it and re-words the kept dated matches whose sentences moved (``rules/redate.py``).
"""

from __future__ import annotations

from collections.abc import KeysView
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis.expr.schema as sch
import pyarrow as pa

from beachhead.engine.identity_incremental import Delta, IdentityState
from beachhead.ingest.identity import Snapshot
from beachhead.rules.clock import Clock
from beachhead.rules.model import Config, Level
from beachhead.rules.redate import redate, reworded_at
from beachhead.rules.result import Evaluation, Match

if TYPE_CHECKING:  # engine/pairs.py imports this module's neighbours, not this one
    from beachhead.engine.pairs import History


@dataclass
class Mark:
    """Where a table stood at the last step: its largest ``seq`` and its row count."""

    seq: int
    count: int
    above: int = 0  # rows with a seq above the previous step's mark


@dataclass
class Pairs:
    """The account level's pair partials at the checkpoint's ``as_of`` (``engine/pairs.py``)."""

    table: pa.Table
    schema: sch.Schema  # of the events table they were computed from
    columns: list[str]  # the events columns the plan and the pair SQL read
    # the users' older rows a step copies instead of their whole history, when the
    # definitions allow it (``engine/pairs.py``, ``History``)
    history: History | None = None


@dataclass
class Checkpoint:
    as_of: datetime
    config: Config
    evaluation: Evaluation
    snapshot: Snapshot
    marks: dict[str, Mark]
    identity: IdentityState
    pairs: Pairs | None = None
    # the evaluation's matches by PQL and entity, in its order (built on first use)
    index: dict[str, dict[str, Match]] | None = None
    # per dated match, the first as_of at which its sentences can read differently
    until: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def matches_by_pql(self) -> dict[str, dict[str, Match]]:
        if self.index is None:
            index: dict[str, dict[str, Match]] = {}
            for m in self.evaluation.matches:  # sorted by (pql, entity_id)
                index.setdefault(m.pql, {})[m.entity_id] = m
            self.index = index
        return self.index


def _updated(
    last: dict[str, Any], fresh: dict[str, Any], ids: KeysView[str], changed: set[str]
) -> dict[str, Any]:
    """Every entity of ``ids`` by sorted id: ``fresh`` for ``changed``, else ``last``."""
    if last.keys() == ids:  # the same entities: keep the (sorted) order, swap values
        out = dict(last)
        for k in changed:
            out[k] = fresh[k]
        return out
    return {k: fresh[k] if k in changed else last[k] for k in sorted(ids)}


def _kept(
    index: dict[str, dict[str, Match]],
    fresh: list[Match],
    level_of: dict[str, str],
    users: set[str],
    accounts: set[str],
) -> dict[str, dict[str, Match]]:
    """The matches by PQL with those of ``users``/``accounts`` (re-evaluated or gone)
    replaced by ``fresh``; each PQL's entities stay sorted. Untouched PQLs are shared."""
    by_pql: dict[str, list[Match]] = {}
    for m in fresh:
        by_pql.setdefault(m.pql, []).append(m)
    out: dict[str, dict[str, Match]] = {}
    for pql in sorted(index.keys() | by_pql.keys()):
        d = index.get(pql, {})
        drop = accounts if level_of[pql] == Level.ACCOUNT.value else users
        gone = [e for e in drop if e in d] if len(drop) < len(d) else [e for e in d if e in drop]
        adds = by_pql.get(pql, [])
        if gone or adds:
            d = dict(d)
            for e in gone:
                del d[e]
            new_keys = any(m.entity_id not in d for m in adds)
            for m in adds:
                d[m.entity_id] = m
            if new_keys:  # keys are distinct strings: the Match is never compared
                d = dict(sorted(d.items()))
        if d:
            out[pql] = d
    return out


def _merge(
    last: Checkpoint,
    fresh: Evaluation,
    snapshot: Snapshot,
    users: set[str],
    accounts: set[str],
    delta: Delta,
) -> tuple[Evaluation, dict[str, dict[str, Match]]]:
    """The last evaluation with ``fresh``'s entities swapped in (and the entities that
    left the snapshot out), and its matches by PQL."""
    ev = last.evaluation
    out = Evaluation(as_of=fresh.as_of)
    out.users = _updated(ev.users, fresh.users, snapshot.users.keys(), users)
    out.accounts = _updated(ev.accounts, fresh.accounts, snapshot.accounts.keys(), accounts)
    # an entity leaves the snapshot only through an identity change (the delta's)
    gone_users = users | {u for u in delta.users if u not in snapshot.users}
    gone_accounts = accounts | {a for a in delta.accounts if a not in snapshot.accounts}
    level_of = {p.key: p.level.value for p in last.config.pqls}
    index = _kept(last.matches_by_pql(), fresh.matches, level_of, gone_users, gone_accounts)
    return out, index


def merge_fresh(
    last: Checkpoint,
    fresh: Evaluation,
    snap: Snapshot,
    users: set[str],
    accounts: set[str],
    delta: Delta,
    as_of: datetime,
    clock: Clock,
) -> tuple[Evaluation, dict[str, dict[str, Match]], dict[tuple[str, str], datetime]]:
    """The last evaluation with ``fresh``'s entities swapped in, kept dated matches
    re-worded for ``as_of`` (only those whose "... ago" can read differently by now);
    its matches by PQL, and when each dated match can move next."""
    merged, index = _merge(last, fresh, snap, users, accounts, delta)
    until = last.until
    if clock.dated_pqls:
        until = dict(until)
        recomputed = {(m.pql, m.entity_id) for m in fresh.matches}
        for key in recomputed:
            until.pop(key, None)  # written at as_of: known again at its next re-wording
        if as_of != last.as_of:
            for pql in clock.dated_pqls & index.keys():
                d = index[pql]
                out: dict[str, Match] | None = None
                for e, m in d.items():
                    key = (pql, e)
                    if key in recomputed or as_of < until.get(key, as_of):
                        continue
                    again = redate(m, last.config, as_of, last.as_of)
                    until[key] = reworded_at(again, last.config, as_of)
                    if again is not m:
                        if out is None:
                            out = dict(d)
                        out[e] = again
                if out is not None:
                    index[pql] = out
        if len(until) > 2 * sum(len(index.get(q, ())) for q in clock.dated_pqls) + 1000:
            until = {k: v for k, v in until.items() if k[1] in index.get(k[0], ())}
    for d in index.values():
        merged.matches.extend(d.values())
    return merged, index, until
