"""How big a demo company is: ``small``, ``medium``, ``large`` or a number of events.

Accounts and users grow in proportion to events (small: 500 accounts, 5,000 users, 200k
events), so a bigger scale is the same company, busier, not a different shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAMED_SCALES: dict[str, int] = {"small": 200_000, "medium": 1_000_000, "large": 10_000_000}
EVENTS_PER_ACCOUNT = 400
EVENTS_PER_USER = 40
MIN_EVENTS = 200
DAYS = 120


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """The resolved size of a run."""

    label: str  # the scale as given: small, medium, large, or the number of events
    events: int
    accounts: int
    users: int
    days: int = DAYS


def parse_scale(scale: str | int) -> ScaleSpec:
    """``small|medium|large``, an integer, or ``250k`` / ``2m`` style numbers.

    Raises ``ValueError`` with a readable reason on anything else.
    """
    text = str(scale).strip().lower().replace("_", "")
    if text in NAMED_SCALES:
        events = NAMED_SCALES[text]
        label = text
    else:
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text)
        if not m:
            raise ValueError(
                f"scale must be small, medium, large or a number of events, not {scale!r}"
            )
        factor = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)]
        events = round(float(m.group(1)) * factor)
        label = str(events)
        if events < MIN_EVENTS:
            raise ValueError(f"scale must be at least {MIN_EVENTS} events, not {events}")
    accounts = max(3, round(events / EVENTS_PER_ACCOUNT))
    users = max(2 * accounts, round(events / EVENTS_PER_USER))
    return ScaleSpec(label=label, events=events, accounts=accounts, users=users)
