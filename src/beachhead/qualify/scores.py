"""The scores a qualification carries: its entity's current scores at an evaluation.

The inbox filters by band and sorts by points, so every recorded evaluation refreshes
them for open qualifications. A user's PQL carries the user's scores plus its primary
account's account-level scores (as a user-level definition sees them); a PQA carries
its account's. Pure: the store writes what this returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from beachhead.qualify.lifecycle import Qualification
from beachhead.rules.result import Evaluation, ScoreValue


def qualification_scores(
    evaluation: Evaluation, quals: Iterable[Qualification]
) -> dict[str, dict[str, ScoreValue]]:
    """Qualification id -> score key -> value, for each of ``quals`` (empty: no scores)."""
    out: dict[str, dict[str, ScoreValue]] = {}
    for q in quals:
        scores: dict[str, ScoreValue] = {}
        if q.level == "user":
            user = evaluation.users.get(q.entity_id)
            if user is not None:
                scores.update(user.scores)
        account = evaluation.accounts.get(q.account_id) if q.account_id is not None else None
        if account is not None:
            scores.update(account.scores)
        out[q.id] = scores
    return out
