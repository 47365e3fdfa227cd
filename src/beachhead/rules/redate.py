"""Re-wording kept first_seen/last_seen evidence for a later ``as_of`` (pure: no I/O).

Their sentences say "21 days ago". For an entity that nothing touched between two
evaluations the value and whether the leaf held are unchanged (a leaf that can flip with
the clock is covered by the windows, ``rules/clock.py``), so only the sentence moves:
``redate`` re-words it, and ``reworded_at`` says when it can first read differently.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from beachhead.rules.durations import to_utc
from beachhead.rules.explain import ago, ago_changes, sentence
from beachhead.rules.model import Aggregate, Config, EventCond, iter_leaves
from beachhead.rules.result import Match


def redate(match: Match, config: Config, as_of: datetime, since: datetime | None = None) -> Match:
    """``match`` with its first_seen/last_seen sentences re-worded for ``as_of``.

    Those sentences say "21 days ago"; the value (an ISO time) and whether the leaf held
    are unchanged for an entity that nothing touched (a leaf that can flip with the clock
    is covered by the windows), so the sentence is the only part that moves. With
    ``since`` (the ``as_of`` the sentences were written at) a sentence whose "... ago"
    reads the same at both times is not rebuilt (the rest of it does not read the time).
    """
    leaves = iter_leaves(config.pql(match.pql).when)
    evidence = []
    moved = False
    for leaf, e in zip(leaves, match.evidence, strict=True):
        if isinstance(leaf, EventCond) and leaf.aggregate in (
            Aggregate.FIRST_SEEN,
            Aggregate.LAST_SEEN,
        ):
            said = datetime.fromisoformat(e.value) if isinstance(e.value, str) else e.value
            if since is None or ago(said, since) != ago(said, as_of):
                said_now = sentence(leaf, said, e.held, as_of)
                if said_now != e.sentence:
                    e = replace(e, sentence=said_now)
                    moved = True
        evidence.append(e)
    # most sentences read the same a minute later: the match itself is kept then
    return replace(match, evidence=evidence) if moved else match


NEVER = datetime.max.replace(tzinfo=UTC)


def reworded_at(match: Match, config: Config, as_of: datetime) -> datetime:
    """When a first_seen/last_seen sentence of ``match`` (written at ``as_of``) can move."""
    out = NEVER
    for leaf, e in zip(iter_leaves(config.pql(match.pql).when), match.evidence, strict=True):
        if (
            isinstance(leaf, EventCond)
            and leaf.aggregate in (Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN)
            and e.value is not None
        ):
            said = datetime.fromisoformat(e.value) if isinstance(e.value, str) else e.value
            out = min(out, ago_changes(to_utc(said), as_of))
    return out
