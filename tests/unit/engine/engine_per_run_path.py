"""The engine's per-run Ibis path: the comparison ``test_prepared.py`` checks the compiled plan
against.

Before ``engine/prepared.py`` an evaluation built its Ibis expressions at each ``as_of`` (window
bounds as literals), materialised both levels and fetched every PQL's matches with one query
each. The compiled plan must give exactly what that path gives, so the path lives on here, as
the test's oracle, built from the same level builders (``evaluate._account_table`` and
``_user_table``) and the same evidence helpers.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from beachhead.engine.conditions import Scope, band_column, score_column
from beachhead.engine.evaluate import _touch_expr, _value_column
from beachhead.engine.prepared import _iso, _lookup
from beachhead.engine.values import Ctx
from beachhead.ingest.identity import Snapshot
from beachhead.rules.explain import sentence
from beachhead.rules.model import Config, Leaf, Level, Pql, ScoreCond, TraitCond, iter_leaves
from beachhead.rules.plan import Plan
from beachhead.rules.result import EntityEval, LeafEvidence, Match, ScoreValue


@dataclass
class _Temps:
    """Temporary tables made by one evaluation, dropped at the end."""

    con: ibis.BaseBackend
    names: list[str]

    def make(self, label: str, expr: ir.Table) -> ir.Table:
        name = f"bh_{uuid.uuid4().hex[:10]}_{label}"
        table = self.con.create_table(name, expr, temp=True)
        self.names.append(name)
        return table

    def drop(self) -> None:
        for name in self.names:
            with contextlib.suppress(Exception):
                self.con.drop_table(name, force=True)


def _points(config: Config, key: str, value: Any) -> float:
    if value is None:  # pragma: no cover - a score is never NULL
        return 0
    if (
        all(isinstance(r.points, int) for r in config.score(key).rules)
        and float(value).is_integer()
    ):
        return int(value)
    return float(value)


def _entities(
    table: ir.Table, id_col: str, level: Level, config: Config, with_stage: bool
) -> dict[str, EntityEval]:
    keys = [k for k, s in config.scores.items() if s.level is level]
    cols = [id_col]
    for k in keys:
        cols.append(score_column(config, k))
        if config.score(k).bands is not None:
            cols.append(band_column(config, k))
    if with_stage:
        cols.append("stage")
    out: dict[str, EntityEval] = {}
    for row in table.select(*cols).to_pyarrow().to_pylist():
        ev = EntityEval(id=row[id_col], stage=row.get("stage") if with_stage else None)
        for k in keys:
            band = row.get(band_column(config, k))
            ev.scores[k] = ScoreValue(
                points=_points(config, k, row[score_column(config, k)]), band=band
            )
        out[ev.id] = ev
    return dict(sorted(out.items()))


def _matches(
    table: ir.Table, id_col: str, pql: Pql, snap: Snapshot, config: Config, p: Plan, ctx: Ctx
) -> Iterator[Match]:
    scope = Scope(pql.level, table, p, config, ctx)
    leaves = iter_leaves(pql.when)
    cols: dict[str, ir.Value] = {"entity": table[id_col], "touch": _touch_expr(scope, pql)}
    for i, leaf in enumerate(leaves):
        cols[f"h{i}"] = scope.leaf(leaf)
        value = _value_column(scope, leaf)
        if value is not None:
            cols[f"v{i}"] = value
        if isinstance(leaf, ScoreCond) and leaf.on_band:
            cols[f"p{i}"] = _value_column(scope, leaf.model_copy(update={"on_band": False}))
    rows = table.filter(scope.holds(pql.when)).select(**cols).to_pyarrow().to_pylist()
    for row in sorted(rows, key=lambda r: r["entity"]):
        entity = row["entity"]
        account = entity if pql.level is Level.ACCOUNT else snap.primary.get(entity)
        evidence = [
            _evidence(
                leaf,
                row[f"h{i}"],
                row.get(f"v{i}"),
                row.get(f"p{i}"),
                pql.level,
                entity,
                account,
                snap,
                config,
                ctx,
            )
            for i, leaf in enumerate(leaves)
        ]
        yield Match(
            pql=pql.key,
            level=str(pql.level),
            entity_id=entity,
            account_id=account,
            priority=pql.priority,
            touch=row["touch"],
            evidence=evidence,
        )


def _evidence(
    leaf: Leaf,
    held: bool,
    fetched: Any,
    points: Any,
    level: Level,
    entity: str,
    account: str | None,
    snap: Snapshot,
    config: Config,
    ctx: Ctx,
) -> LeafEvidence:
    shown: Any
    said: Any
    if isinstance(leaf, TraitCond):
        if leaf.trait.scope is Level.USER:
            traits = snap.users.get(entity) if level is Level.USER else None
        else:
            traits = snap.accounts.get(account) if account is not None else None
        shown = said = _lookup(traits, leaf.trait.keys)
    elif isinstance(leaf, ScoreCond) and not leaf.on_band:
        shown = said = None if fetched is None else _points(config, leaf.score, fetched)
    elif isinstance(leaf, ScoreCond):  # a band: explain shows points and band
        shown = fetched
        said = None if fetched is None else ScoreValue(_points(config, leaf.score, points), fetched)
    elif isinstance(fetched, datetime):
        said = fetched.replace(tzinfo=UTC)
        shown = _iso(said)
    else:
        shown = said = fetched
    return LeafEvidence(leaf.path, bool(held), shown, sentence(leaf, said, bool(held), ctx.as_of))
