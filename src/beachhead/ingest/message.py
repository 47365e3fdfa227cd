"""The normalised message: what every ingest path produces and every evaluator reads.

This is a shared contract (see docs/architecture.md). ``normalize`` lives in
``ingest/segment.py``; identity derivation in ``ingest/identity.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MessageType = Literal["track", "identify", "group", "page", "screen", "alias"]
ACTIVITY_TYPES: frozenset[str] = frozenset({"track", "page", "screen"})


@dataclass(frozen=True, slots=True)
class Message:
    """One stored Segment-spec message, normalised.

    - ``ts``: the message's time, tz-aware UTC: ``timestamp``; else ``originalTimestamp``
      corrected by ``receivedAt - sentAt``; else ``received_at``.
    - ``event``: the track event name, or the page/screen name (``name``, else
      ``properties.name``); None for identify/group/alias.
    - ids are strings (``123`` and ``"123"`` are one id); empty strings are None.
    - ``traits``: identify: ``context.traits`` overlaid by ``traits`` (``traits`` wins);
      group: ``traits``; others: {}.
    - ``seq``: store order, assigned by the store (0 until stored).
    """

    message_id: str
    type: MessageType
    ts: datetime
    received_at: datetime
    event: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    group_id: str | None = None
    context_group_id: str | None = None
    previous_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    traits: dict[str, Any] = field(default_factory=dict)
    seq: int = 0


@dataclass(frozen=True, slots=True)
class TraitRow:
    """Traits set on a user or an account at a time (identify, group, import, billing)."""

    kind: Literal["user", "account"]
    entity_id: str
    ts: datetime
    traits: dict[str, Any]
    source: str  # identify | group | import | billing
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Link:
    """``from_id`` (an anonymousId or a previousId) is linked into ``to_id`` (a userId)."""

    from_id: str
    to_id: str
    ts: datetime
    seq: int = 0


@dataclass(frozen=True, slots=True)
class MembershipRow:
    """``user_id`` (raw id, before stitching) joins ``account_id`` from ``ts`` on."""

    user_id: str
    account_id: str
    ts: datetime
    source: str  # group | import
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Reject:
    """A message (or import line) that failed validation, kept raw with where it came from.

    ``position`` is the index in the HTTP request (0-based, as in the answer's ``rejected``)
    or the line number of an imported file (1-based).
    """

    source: str  # e.g. "http:/v1/batch key=web", "import:events.jsonl"
    position: int
    reason: str
    raw: str
    received_at: datetime
