"""Who is who at a point in time: users, accounts and memberships as of ``as_of``.

Pure: ``resolve`` takes the derived rows (trait rows, links, memberships) and returns a
``Snapshot``. Every evaluator (the oracle in ``rules/reference.py`` and the compiled
engine) reads identity from here, so the two can never disagree on who a message is about.

The rules (definitions.md, "Entities"; docs/architecture.md, "Identity at a point in time"):

- Only rows with ``ts <= as_of`` are seen, in ``(ts, seq)`` order.
- Links: an id's parent is the first link naming it as ``from_id``; self-links and links
  that would close a cycle are skipped. An id's user is the root of its chain, so links are
  transitive and an anonymous id belongs to the first user it was linked to. An id that
  was linked into another user is not a user of its own.
- Traits: merged in time order by top-level key; ``None`` removes the key; a nested object
  is replaced whole. Rows of every id that maps to a user are merged into that user (so an
  anonymous ``identify`` joins the user once linked).
- Accounts: every account with a trait row (group calls, imports, billing), every account
  named by a membership, and the domain accounts below.
- Membership: group calls and users-import ``account_id``. A user with neither joins, by
  the domain of its ``email`` trait (unless a free-mail provider), the account whose
  ``domain`` trait is that domain (the account seen first on a tie), else the implicit
  account ``domain:<domain>`` with trait ``domain``.
- Primary account: the account of the user's most recent group call. A user with no group
  call but an import ``account_id`` gets the most recent imported one (a choice: the spec
  names group calls only, and a RevOps user expects the CRM's account rather than none);
  else the domain account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from beachhead.ingest.message import Link, MembershipRow, Message, TraitRow

Traits = dict[str, Any]

DOMAIN_PREFIX = "domain:"  # the implicit account of an email domain: domain:<domain>


@dataclass
class Snapshot:
    """Identity at one ``as_of``; every id is a string."""

    user_of: dict[str, str] = field(default_factory=dict)  # raw id -> user id (root)
    users: dict[str, Traits] = field(default_factory=dict)
    accounts: dict[str, Traits] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # account -> users
    accounts_of: dict[str, set[str]] = field(default_factory=dict)  # user -> accounts
    primary: dict[str, str] = field(default_factory=dict)  # user -> account

    def user(self, raw_id: str) -> str:
        """The user a raw id (userId, anonymousId, previousId) stands for now."""
        return self.user_of.get(raw_id, raw_id)


def named_ids(messages: Iterable[Message]) -> list[str]:
    """The raw id each message is about: its ``userId``, else its ``anonymousId``.

    A track that carries both ids is about the user; its anonymousId alone does not make a
    user of its own (only identify and alias link ids), so it is not listed.
    """
    out: list[str] = []
    for m in messages:
        raw = m.user_id or m.anonymous_id
        if raw is not None:
            out.append(raw)
    return out


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def merge_traits(base: Traits, update: Mapping[str, Any]) -> None:
    """Overlay ``update`` on ``base`` in place: top-level keys win, ``None`` removes."""
    for key, value in update.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value


def normalize_domain(value: object) -> str | None:
    """``https://www.Acme.com/about`` -> ``acme.com``; None for a non-string or empty value.

    The spec strips ``https://``, ``www.`` and any path; ``http://`` is stripped too (a
    RevOps user pasting either means the same site), and so is the rest of a pasted URL
    after the host: a query (``?ref=x``), a fragment (``#pricing``), a port (``:443``),
    and the trailing dot of a fully qualified name (``acme.com.``).
    """
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    if text.startswith("www."):
        text = text[4:]
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    host, colon, port = text.rpartition(":")
    if colon and host and port.isdigit():
        text = host
    return text.rstrip(".") or None


def email_domain(value: object) -> str | None:
    """The lowercased domain of an email address, or None if it does not look like one."""
    if not isinstance(value, str) or "@" not in value:
        return None
    domain = value.strip().rsplit("@", 1)[1].strip().lower().rstrip(".")
    return domain or None


def _parents(links: Iterable[Link]) -> dict[str, str]:
    """First link per ``from_id`` wins; self-links and cycles are skipped."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while node in parent:
            node = parent[node]
        return node

    for link in links:
        if link.from_id == link.to_id or link.from_id in parent:
            continue
        if root(link.to_id) == link.from_id:  # would close a cycle
            continue
        parent[link.from_id] = link.to_id
    return parent


def _order(row: TraitRow | Link | MembershipRow) -> tuple[datetime, int]:
    return (_utc(row.ts), row.seq)


def resolve(
    trait_rows: Iterable[TraitRow],
    links: Iterable[Link],
    memberships: Iterable[MembershipRow],
    as_of: datetime,
    free_mail: frozenset[str] | set[str] = frozenset(),
    named_ids: Iterable[str] = (),
) -> Snapshot:
    """Identity as of ``as_of`` (see the module docstring for every rule).

    ``named_ids`` are the raw ids (userId, anonymousId) that visible messages name: each is
    a user (or stands for one) even without traits or links.
    """
    cutoff = _utc(as_of)
    rows = sorted((r for r in trait_rows if _utc(r.ts) <= cutoff), key=_order)
    visible_links = sorted((lk for lk in links if _utc(lk.ts) <= cutoff), key=_order)
    member_rows = sorted((m for m in memberships if _utc(m.ts) <= cutoff), key=_order)

    parent = _parents(visible_links)
    snap = Snapshot()

    def root(node: str) -> str:
        while node in parent:
            node = parent[node]
        return node

    raw_ids: list[str] = list(named_ids)
    for lk in visible_links:
        raw_ids += [lk.from_id, lk.to_id]
    raw_ids += [r.entity_id for r in rows if r.kind == "user"]
    raw_ids += [m.user_id for m in member_rows]
    for raw in raw_ids:
        user = root(raw)
        snap.user_of[raw] = user
        snap.users.setdefault(user, {})

    # Accounts in the order first seen: that order breaks domain ties.
    for r in rows:
        if r.kind == "user":
            merge_traits(snap.users[root(r.entity_id)], r.traits)
        else:
            merge_traits(snap.accounts.setdefault(r.entity_id, {}), r.traits)
    for m in member_rows:
        snap.accounts.setdefault(m.account_id, {})

    def join(user: str, account: str) -> None:
        snap.members.setdefault(account, set()).add(user)
        snap.accounts_of.setdefault(user, set()).add(account)

    last_group: dict[str, str] = {}
    last_import: dict[str, str] = {}
    for m in member_rows:
        user = root(m.user_id)
        join(user, m.account_id)
        (last_group if m.source == "group" else last_import)[user] = m.account_id
    for user in snap.accounts_of:
        primary = last_group.get(user) or last_import.get(user)
        if primary is not None:
            snap.primary[user] = primary

    _join_by_domain(snap, free_mail, join)
    for account in snap.accounts:
        snap.members.setdefault(account, set())
    return snap


def accounts_by_domain(accounts: Mapping[str, Traits]) -> dict[str, str]:
    """Each normalised ``domain`` trait -> the account that has it; on a tie the account
    seen first (``accounts`` in insertion order = first seen)."""
    by_domain: dict[str, str] = {}
    for account, traits in accounts.items():
        domain = normalize_domain(traits.get("domain"))
        if domain is not None:
            by_domain.setdefault(domain, account)
    return by_domain


def _join_by_domain(
    snap: Snapshot,
    free_mail: frozenset[str] | set[str],
    join: Callable[[str, str], None],
) -> None:
    """Users without any membership join the account of their email's domain."""
    by_domain = accounts_by_domain(snap.accounts)
    for user in sorted(snap.users):
        if user in snap.accounts_of:
            continue
        domain = email_domain(snap.users[user].get("email"))
        if domain is None or domain in free_mail:
            continue
        found = by_domain.get(domain)
        if found is None:
            found = by_domain[domain] = DOMAIN_PREFIX + domain
            # a group call or an import may have named this id already: its traits stay
            snap.accounts.setdefault(found, {}).setdefault("domain", domain)
        join(user, found)
        snap.primary[user] = found
