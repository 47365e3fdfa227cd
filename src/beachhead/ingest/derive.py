"""What a message or an import row says about identity: trait rows, links, memberships.

Pure. The events store keeps these rows beside the messages so identity at a point in time
(``ingest/identity.py``) reads three small tables instead of every message. Each derived
row carries the time (and, once stored, the ``seq``) of what it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beachhead.ingest.message import Link, MembershipRow, Message, TraitRow


@dataclass(slots=True)
class Derived:
    """Rows derived from some messages or import rows."""

    trait_rows: list[TraitRow] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    memberships: list[MembershipRow] = field(default_factory=list)

    def extend(self, other: Derived) -> None:
        self.trait_rows.extend(other.trait_rows)
        self.links.extend(other.links)
        self.memberships.extend(other.memberships)


def derive(message: Message) -> Derived:
    """identify: user trait row (+ link anonymousId -> userId); alias: link previousId ->
    userId; group: account trait row (even without traits) + membership of the sender."""
    out = Derived()
    seq = message.seq
    ts = message.ts
    if message.type == "identify":
        entity = message.user_id or message.anonymous_id
        if entity is not None:
            out.trait_rows.append(TraitRow("user", entity, ts, message.traits, "identify", seq))
        if message.user_id and message.anonymous_id and message.user_id != message.anonymous_id:
            out.links.append(Link(message.anonymous_id, message.user_id, ts, seq))
    elif message.type == "alias":
        if message.previous_id and message.user_id and message.previous_id != message.user_id:
            out.links.append(Link(message.previous_id, message.user_id, ts, seq))
    elif message.type == "group" and message.group_id is not None:
        out.trait_rows.append(
            TraitRow("account", message.group_id, ts, message.traits, "group", seq)
        )
        member = message.user_id or message.anonymous_id
        if member is not None:
            out.memberships.append(MembershipRow(member, message.group_id, ts, "group", seq))
    return out


def derive_all(messages: Iterable[Message]) -> Derived:
    """``derive`` over many messages, in their order."""
    out = Derived()
    for m in messages:
        if m.type in ("identify", "alias", "group"):
            out.extend(derive(m))
    return out


def account_row(entity_id: str, traits: Mapping[str, Any], ts: datetime) -> Derived:
    """An accounts-import row: a trait row of the account."""
    return Derived(trait_rows=[TraitRow("account", entity_id, ts, dict(traits), "import")])


def user_row(
    entity_id: str, traits: Mapping[str, Any], ts: datetime, account_id: str | None
) -> Derived:
    """A users-import row: a trait row of the user and, with ``account_id``, a membership.

    ``account_id`` is a membership, not a user trait, so it is left out of the traits.
    """
    out = Derived(trait_rows=[TraitRow("user", entity_id, ts, dict(traits), "import")])
    if account_id:
        out.memberships.append(MembershipRow(entity_id, account_id, ts, "import"))
    return out
