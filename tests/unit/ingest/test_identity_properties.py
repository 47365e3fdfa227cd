"""Invariants of ``identity.resolve`` over random link graphs and memberships (Hypothesis).

Whatever the links (self-links, cycles, chains, repeats), the snapshot must stay
consistent: every raw id maps to a user, no linked-away id is a user, membership is the
same seen from both sides, a primary account is one of the user's accounts, and the
answer does not depend on the order the rows are handed in (only on (ts, seq)).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from beachhead.ingest.identity import Snapshot, resolve
from beachhead.ingest.message import Link, MembershipRow, TraitRow

T0 = datetime(2026, 3, 1, tzinfo=UTC)
IDS = st.sampled_from(["a", "b", "c", "d", "e", "u1", "u2"])
ACCOUNTS = st.sampled_from(["x", "y", "z"])
MINUTES = st.integers(min_value=0, max_value=20)

links_st = st.lists(st.tuples(MINUTES, IDS, IDS), max_size=12)
members_st = st.lists(
    st.tuples(MINUTES, IDS, ACCOUNTS, st.sampled_from(["group", "import"])), max_size=8
)
emails_st = st.lists(
    st.tuples(MINUTES, IDS, st.sampled_from(["p@acme.com", "q@gmail.com", "r@newco.io"])),
    max_size=6,
)


def _build(
    links: list[tuple[int, str, str]],
    members: list[tuple[int, str, str, str]],
    emails: list[tuple[int, str, str]],
) -> tuple[list[TraitRow], list[Link], list[MembershipRow]]:
    rows = [
        TraitRow("user", i, T0 + timedelta(minutes=m), {"email": e}, "identify", seq=n)
        for n, (m, i, e) in enumerate(emails)
    ]
    rows.append(TraitRow("account", "x", T0, {"domain": "acme.com"}, "import", seq=999))
    lks = [Link(f, t, T0 + timedelta(minutes=m), seq=n) for n, (m, f, t) in enumerate(links)]
    mem = [
        MembershipRow(u, a, T0 + timedelta(minutes=m), s, seq=n)
        for n, (m, u, a, s) in enumerate(members)
    ]
    return rows, lks, mem


def _check(snap: Snapshot) -> None:
    for raw, user in snap.user_of.items():
        assert user in snap.users, raw
        assert snap.user_of.get(user, user) == user  # a root maps to itself
    for user in snap.users:
        assert snap.user(user) == user
    for account, users in snap.members.items():
        assert account in snap.accounts
        for u in users:
            assert account in snap.accounts_of[u]
    for user, accounts in snap.accounts_of.items():
        assert user in snap.users
        for a in accounts:
            assert user in snap.members[a]
    for user, account in snap.primary.items():
        assert account in snap.accounts_of[user]


@settings(max_examples=200, deadline=None)
@given(links_st, members_st, emails_st, st.integers(min_value=0, max_value=25), st.randoms())
def test_resolve_invariants(
    links: list[tuple[int, str, str]],
    members: list[tuple[int, str, str, str]],
    emails: list[tuple[int, str, str]],
    as_of_minute: int,
    rnd: object,
) -> None:
    rows, lks, mem = _build(links, members, emails)
    as_of = T0 + timedelta(minutes=as_of_minute)
    free = frozenset({"gmail.com"})
    snap = resolve(rows, lks, mem, as_of, free, ["a", "u1"])
    _check(snap)
    shuffled = [list(x) for x in (rows, lks, mem)]
    for part in shuffled:
        rnd.shuffle(part)  # type: ignore[attr-defined]
    again = resolve(shuffled[0], shuffled[1], shuffled[2], as_of, free, ["u1", "a"])
    assert again.user_of == snap.user_of
    assert again.users == snap.users
    assert again.members == snap.members
    assert again.primary == snap.primary
    assert again.accounts == snap.accounts
