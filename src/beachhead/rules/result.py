"""The result of one evaluation, produced alike by the oracle and the compiled engine.

Plain dataclasses so the two paths can be compared with ``==`` in the case corpus and
turned into JSON without a schema layer:

- ``LeafEvidence``: one leaf of a PQL's ``when``: its ``path`` (``when.all[1]``), whether it
  ``held``, the ``value`` seen (count, trait value, points, ISO time string, or None when
  missing) and the readable ``sentence`` from ``rules/explain.py``.
- ``ScoreValue``: points and band (None when the score has no ``bands``).
- ``EntityEval``: a user or account: its scores and (accounts only) its journey stage
  (None = ``unstaged``; always None for users).
- ``Match``: one PQL whose ``when`` held for one entity at ``as_of``, with the touch the
  PQL's touch rules chose and the evidence of every leaf of ``when``, in document order.
- ``Evaluation``: everything at one ``as_of``. ``matches`` is sorted by (pql, entity_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LeafEvidence:
    path: str
    held: bool
    value: Any
    sentence: str


@dataclass(frozen=True)
class ScoreValue:
    points: float
    band: str | None = None


@dataclass
class EntityEval:
    id: str
    scores: dict[str, ScoreValue] = field(default_factory=dict)
    stage: str | None = None


@dataclass
class Match:
    pql: str
    level: str  # "user" | "account"
    entity_id: str
    account_id: str | None  # the account itself for a PQA; the primary account for a PQL
    priority: int
    touch: str  # "none" | "low" | "high"
    evidence: list[LeafEvidence] = field(default_factory=list)


@dataclass
class Evaluation:
    as_of: datetime
    users: dict[str, EntityEval] = field(default_factory=dict)
    accounts: dict[str, EntityEval] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)

    def sort(self) -> None:
        """Put ``matches`` in the canonical order (pql, entity_id)."""
        self.matches.sort(key=lambda m: (m.pql, m.entity_id))
