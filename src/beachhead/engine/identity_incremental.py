"""Identity kept from one step to the next: only the rows that became visible are applied.

``snapshot.resolve_from_tables`` re-reads every trait row, link and membership and
re-resolves everybody (``ingest/identity.resolve``). ``IdentityState`` keeps the visible
rows, indexed by the entity they are about, and the ``Snapshot`` they give; ``advance``
reads only the rows that became visible since (``seq`` above the last mark, or stored
earlier with a ``ts`` between the two ``as_of``\\ s) and re-resolves only the users and
accounts they can move. The result is the Snapshot ``resolve`` gives on all rows (the
tests in ``tests/backends/test_incremental_identity.py`` compare the two on random
histories, DuckDB and PostgreSQL).

What a new row can move, rule by rule (``ingest/identity.py`` has the rules):

- a link: the parent map is rebuilt from every visible link (first link per id in
  ``(ts, seq)`` order, cycles skipped: an earlier-timed link can change it all), then
  the raw ids whose root moved are found by walking every id (cheap: only on new links);
  their old and new users are re-resolved;
- a user trait row or a membership: the user of its raw id (traits merged again from
  that user's own rows, memberships and primary account again from its own rows);
- an account trait row: that account's traits; when its ``domain`` (or its first-seen
  order, which breaks domain ties) moved, the users joined by email domain to the
  domains involved are joined again, and the implicit ``domain:<d>`` accounts of those
  domains appear or disappear;
- a raw id named for the first time (an event, a link end, a row): a new user, or one
  more id of an existing one.

Snapshots are never changed in place: ``advance`` returns a new one that shares every
unchanged entry with the previous one (so a caller can keep the old one). It raises
``NeedFull`` when it cannot be sure, and the caller then resolves from scratch: an
account id of the ``domain:`` form that rows name (the implicit account would collide).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import ibis

from beachhead.engine.prepared import RAW_ID, ts_sql
from beachhead.engine.snapshot import (
    aware_utc,
    link,
    membership,
    query_rows,
    trait_row,
)
from beachhead.ingest.identity import (
    DOMAIN_PREFIX,
    Snapshot,
    Traits,
    _parents,
    email_domain,
    merge_traits,
    normalize_domain,
    resolve,
)
from beachhead.ingest.message import Link, MembershipRow, TraitRow

Key = tuple[datetime, int]


class NeedFull(Exception):
    """The incremental path cannot be sure: resolve from scratch."""


def _key(row: TraitRow | Link | MembershipRow) -> Key:
    return (aware_utc(row.ts), row.seq)


@dataclass
class Rows:
    """Identity rows and named raw ids (from events) read in one go."""

    trait_rows: list[TraitRow] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    memberships: list[MembershipRow] = field(default_factory=list)
    named: set[str] = field(default_factory=set)


def _window_sql(as_of: datetime, mark: int, before: tuple[datetime, int] | None) -> str:
    """Rows with ``ts <= as_of`` and ``seq <= mark``; with ``before`` (the last as_of and
    its mark) only those that were not visible then (a SQL ``WHERE`` condition)."""
    cond = f"ts <= {ts_sql(as_of)} AND seq <= {int(mark)}"
    if before is not None:
        last_as_of, last_mark = before
        cond += f" AND (seq > {int(last_mark)} OR ts > {ts_sql(last_as_of)})"
    return cond


def read_rows(
    con: ibis.BaseBackend,
    as_of: datetime,
    marks: Mapping[str, int],
    before: tuple[datetime, Mapping[str, int]] | None = None,
    named: bool = True,
) -> Rows:
    """The identity rows visible at ``as_of`` with a ``seq`` up to ``marks[table]``.

    With ``before`` (the last ``as_of`` and marks) only the rows that became visible
    since. ``named`` also reads the raw ids events name (else the caller adds them).
    Plain SQL on the backend's own connection (``snapshot.query_rows``): an incremental
    step calls this every time, and compiling Ibis expressions cost more than the queries.
    """

    def where(name: str) -> str:
        prev = None if before is None else (before[0], before[1][name])
        return _window_sql(as_of, marks[name], prev)

    out = Rows()
    rows = query_rows(
        con,
        "SELECT kind, entity_id, ts, source, seq, CAST(traits AS VARCHAR) AS traits"
        f" FROM trait_rows WHERE {where('trait_rows')}",
    )
    out.trait_rows = [trait_row(r) for r in rows]
    rows = query_rows(con, f"SELECT from_id, to_id, ts, seq FROM links WHERE {where('links')}")
    out.links = [link(r) for r in rows]
    rows = query_rows(
        con,
        "SELECT user_id, account_id, ts, source, seq FROM memberships"
        f" WHERE {where('memberships')}",
    )
    out.memberships = [membership(r) for r in rows]
    if named:
        rows = query_rows(
            con,
            f"SELECT DISTINCT {RAW_ID} AS raw FROM events"
            f" WHERE {where('events')} AND {RAW_ID} IS NOT NULL",
        )
        out.named = {r["raw"] for r in rows}
    return out


@dataclass
class Delta:
    """What ``advance`` changed: the entities whose snapshot entry may differ."""

    users: set[str]  # old and new users of moved raw ids, users whose entry changed
    accounts: set[str]  # accounts whose traits or members changed, appeared or vanished


def _root(parent: Mapping[str, str], node: str) -> str:
    while node in parent:
        node = parent[node]
    return node


class IdentityState:
    """The visible identity rows at ``as_of`` (indexed) and the Snapshot they give."""

    def __init__(
        self, rows: Rows, as_of: datetime, free_mail: frozenset[str], marks: Mapping[str, int]
    ) -> None:
        self.as_of = aware_utc(as_of)
        self.free_mail = free_mail
        self.marks = dict(marks)
        self.links: list[tuple[Key, Link]] = sorted((_key(lk), lk) for lk in rows.links)
        self.user_rows: dict[str, list[tuple[Key, TraitRow]]] = {}
        self.account_rows: dict[str, list[tuple[Key, TraitRow]]] = {}
        self.member_rows: dict[str, list[tuple[Key, MembershipRow]]] = {}
        self.raws: set[str] = set(rows.named)
        self.collision = False
        for r in rows.trait_rows:
            index = self.user_rows if r.kind == "user" else self.account_rows
            index.setdefault(r.entity_id, []).append((_key(r), r))
        for m in rows.memberships:
            self.member_rows.setdefault(m.user_id, []).append((_key(m), m))
        for rows_of in (self.user_rows, self.account_rows):
            for lst in rows_of.values():
                lst.sort(key=lambda kr: kr[0])
        for mlst in self.member_rows.values():
            mlst.sort(key=lambda km: km[0])
        for _k, lk in self.links:
            self.raws.add(lk.from_id)
            self.raws.add(lk.to_id)
        self.raws.update(self.user_rows)
        self.raws.update(self.member_rows)
        self.parent = _parents(lk for _k, lk in self.links)
        self.snap = resolve(
            rows.trait_rows, rows.links, rows.memberships, self.as_of, free_mail, rows.named
        )
        self.raws_of: dict[str, set[str]] = {}
        for raw, user in self.snap.user_of.items():
            self.raws_of.setdefault(user, set()).add(raw)
        # accounts: first seen (domain ties), domain trait, the accounts of each domain
        self.first_seen: dict[str, Key] = {a: rs[0][0] for a, rs in self.account_rows.items()}
        self.acc_domain: dict[str, str] = {}
        self.domain_accounts: dict[str, set[str]] = {}
        for a in self.account_rows:
            d = normalize_domain(self.snap.accounts[a].get("domain"))
            if d is not None:
                self.acc_domain[a] = d
                self.domain_accounts.setdefault(d, set()).add(a)
        self.by_domain = {d: self._first_of(d) for d in self.domain_accounts}
        # users joined by their email's domain
        self.user_domain: dict[str, str] = {}
        self.domain_users: dict[str, set[str]] = {}
        for u in self.snap.users:
            if u in self.snap.accounts_of and not self._has_members(u):
                d = email_domain(self.snap.users[u].get("email"))
                assert d is not None
                self.user_domain[u] = d
                self.domain_users.setdefault(d, set()).add(u)
        self._check_collisions(self.account_rows)
        self._check_collisions({m.account_id for lst in self.member_rows.values() for _k, m in lst})

    # ------------------------------------------------------------------ helpers

    def _check_collisions(self, accounts: Iterable[str]) -> None:
        if any(a.startswith(DOMAIN_PREFIX) for a in accounts):
            self.collision = True

    def _first_of(self, domain: str) -> str:
        return min(self.domain_accounts[domain], key=lambda a: self.first_seen[a])

    def _has_members(self, user: str) -> bool:
        return any(raw in self.member_rows for raw in self.raws_of.get(user, ()))

    @classmethod
    def load(
        cls,
        con: ibis.BaseBackend,
        as_of: datetime,
        free_mail: frozenset[str],
        marks: Mapping[str, int],
    ) -> IdentityState:
        """Every visible row (``seq`` up to ``marks``) read once and resolved."""
        return cls(read_rows(con, as_of, marks), as_of, free_mail, marks)

    # ------------------------------------------------------------------ advancing

    def advance(
        self, rows: Rows, as_of: datetime, marks: Mapping[str, int]
    ) -> tuple[Snapshot, Delta]:
        """Apply the rows that became visible at ``as_of`` (``read_rows`` with ``before``).

        Returns the new Snapshot (equal to ``resolve`` on every visible row) and what
        changed. The state moves to ``as_of``; raises ``NeedFull`` (state unusable)."""
        as_of = aware_utc(as_of)
        if self.collision or as_of < self.as_of:
            raise NeedFull("cannot advance")
        old = self.snap
        new = Snapshot(
            user_of=dict(old.user_of),
            users=dict(old.users),
            accounts=dict(old.accounts),
            members=dict(old.members),
            accounts_of=dict(old.accounts_of),
            primary=dict(old.primary),
        )
        self._check_collisions(r.entity_id for r in rows.trait_rows if r.kind == "account")
        self._check_collisions(m.account_id for m in rows.memberships)
        if self.collision:
            raise NeedFull("a domain: account id")
        delta_users: set[str] = set()
        # 1. raw ids and links
        added = set(rows.named)
        for lk in rows.links:
            added.add(lk.from_id)
            added.add(lk.to_id)
            bisect.insort(self.links, (_key(lk), lk))
        added.update(r.entity_id for r in rows.trait_rows if r.kind == "user")
        added.update(m.user_id for m in rows.memberships)
        added -= self.raws
        moved: dict[str, tuple[str, str]] = {}  # raw -> (old user, new user)
        if rows.links:
            parent = _parents(lk for _k, lk in self.links)
            if parent != self.parent:
                self.parent = parent
                for raw in self.raws:
                    user = _root(parent, raw)
                    was = old.user_of[raw]
                    if user != was:
                        moved[raw] = (was, user)
        self.raws |= added
        touched: set[str] = set()  # users to re-resolve
        for raw, (was, user) in moved.items():
            new.user_of[raw] = user
            self.raws_of[was].discard(raw)
            self.raws_of.setdefault(user, set()).add(raw)
            touched.update((was, user))
        for raw in added:
            user = _root(self.parent, raw)
            new.user_of[raw] = user
            self.raws_of.setdefault(user, set()).add(raw)
            touched.add(user)
        delta_users |= touched
        # 2. user rows and memberships
        for r in rows.trait_rows:
            if r.kind == "user":
                bisect.insort(self.user_rows.setdefault(r.entity_id, []), (_key(r), r))
                touched.add(new.user_of[r.entity_id])
        for m in rows.memberships:
            bisect.insort(self.member_rows.setdefault(m.user_id, []), (_key(m), m))
            touched.add(new.user_of[m.user_id])
        # 3. accounts with new rows
        delta_accounts: set[str] = set()
        domains: set[str] = set()  # domains whose joins must be redone
        by_account: dict[str, list[TraitRow]] = {}
        for r in rows.trait_rows:
            if r.kind == "account":
                by_account.setdefault(r.entity_id, []).append(r)
        for a, new_rows in by_account.items():
            lst = self.account_rows.setdefault(a, [])
            for r in new_rows:
                bisect.insort(lst, (_key(r), r))
            traits: Traits = {}
            for _k, r in lst:
                merge_traits(traits, r.traits)
            new.accounts[a] = traits
            if old.accounts.get(a) != traits or a not in old.accounts:
                delta_accounts.add(a)
            if a not in new.members:
                new.members[a] = set()
            seen = lst[0][0]
            was_d = self.acc_domain.get(a)
            d = normalize_domain(traits.get("domain"))
            if seen != self.first_seen.get(a) or d != was_d:
                self.first_seen[a] = seen
                if was_d is not None:
                    self.acc_domain.pop(a)
                    self.domain_accounts[was_d].discard(a)
                    domains.add(was_d)
                if d is not None:
                    self.acc_domain[a] = d
                    self.domain_accounts.setdefault(d, set()).add(a)
                    domains.add(d)
        for m in rows.memberships:
            a = m.account_id
            if a not in new.accounts:
                new.accounts[a] = {}
                new.members[a] = set()
                delta_accounts.add(a)
        for d in list(domains):
            accounts = self.domain_accounts.get(d)
            first = self._first_of(d) if accounts else None
            if first is None:
                self.domain_accounts.pop(d, None)
            if self.by_domain.get(d) == first:
                domains.discard(d)  # the same account keeps the domain
            elif first is None:
                del self.by_domain[d]
            else:
                self.by_domain[d] = first
        # 4. re-resolve the touched users (and the users of domains that moved)
        for d in domains:
            touched |= self.domain_users.get(d, set())
        domains_hit = set(domains)
        joins: dict[str, set[str]] = {}  # user -> accounts now
        for u in touched:
            was_d = self.user_domain.pop(u, None)
            if was_d is not None:
                self.domain_users[was_d].discard(u)
                domains_hit.add(was_d)
            raws = self.raws_of.get(u)
            if not raws or new.user_of.get(u) != u:  # no longer a user (linked away)
                if not raws:
                    self.raws_of.pop(u, None)
                new.users.pop(u, None)
                new.primary.pop(u, None)
                new.accounts_of.pop(u, None)
                joins[u] = set()
                continue
            user_rows = sorted(
                (kr for raw in raws for kr in self.user_rows.get(raw, ())), key=lambda kr: kr[0]
            )
            traits = {}
            for _k, r in user_rows:
                merge_traits(traits, r.traits)
            new.users[u] = traits
            mem = sorted(
                (km for raw in raws for km in self.member_rows.get(raw, ())), key=lambda km: km[0]
            )
            new.primary.pop(u, None)
            if mem:
                last_group: str | None = None
                last_import: str | None = None
                accs: set[str] = set()
                for _k, m in mem:
                    accs.add(m.account_id)
                    if m.source == "group":
                        last_group = m.account_id
                    else:
                        last_import = m.account_id
                primary = last_group or last_import
                if primary is not None:
                    new.primary[u] = primary
                joins[u] = accs
            else:
                d = email_domain(traits.get("email"))
                if d is not None and d not in self.free_mail:
                    self.user_domain[u] = d
                    self.domain_users.setdefault(d, set()).add(u)
                    domains_hit.add(d)
                joins[u] = set()  # filled below, once the domain's account is known
        # 5. domain accounts: the account each domain joins, implicit ones
        for d in domains_hit:
            users = self.domain_users.get(d, set())
            implicit = DOMAIN_PREFIX + d
            target = self.by_domain.get(d)
            if target is None and users:
                if implicit not in new.accounts:
                    new.accounts[implicit] = {"domain": d}
                    new.members[implicit] = set()
                    delta_accounts.add(implicit)
                target = implicit
            elif implicit in new.accounts and implicit not in self.account_rows:
                # no longer needed (a real account has the domain, or nobody joins it)
                del new.accounts[implicit]
                new.members.pop(implicit, None)
                delta_accounts.add(implicit)
            if not users:
                self.domain_users.pop(d, None)
            for u in users:
                assert target is not None
                joins[u] = {target}
                new.primary[u] = target
        # 6. memberships of the re-resolved users, both directions
        for u, accs in joins.items():
            had = old.accounts_of.get(u, set())
            if accs:
                new.accounts_of[u] = accs
            else:
                new.accounts_of.pop(u, None)
            for a in had - accs:
                if a in new.members:
                    new.members[a] = new.members[a] - {u}
                    delta_accounts.add(a)
            for a in accs - had:
                new.members[a] = new.members.get(a, set()) | {u}
                delta_accounts.add(a)
        for u in joins:
            if (
                old.users.get(u) != new.users.get(u)
                or (u in old.users) != (u in new.users)
                or old.primary.get(u) != new.primary.get(u)
                or old.accounts_of.get(u) != new.accounts_of.get(u)
            ):
                delta_users.add(u)
        self.snap = new
        self.as_of = as_of
        self.marks = dict(marks)
        return new, Delta(delta_users, delta_accounts)
