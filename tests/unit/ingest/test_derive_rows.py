"""Derivation: which trait rows, links and memberships a message or an import row makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from beachhead.ingest.derive import account_row, derive, derive_all, user_row
from beachhead.ingest.message import MembershipRow, TraitRow
from beachhead.ingest.segment import normalize

T = datetime(2026, 3, 1, tzinfo=UTC)

# raw message -> (trait rows, links, memberships) as short tuples
CASES: list[
    tuple[str, dict[str, Any], list[tuple[Any, ...]], list[tuple[str, str]], list[tuple[str, str]]]
] = [
    (
        "identify with both ids",
        {"type": "identify", "userId": "u", "anonymousId": "a", "traits": {"x": 1}},
        [("user", "u", {"x": 1}, "identify")],
        [("a", "u")],
        [],
    ),
    (
        "anonymous identify",
        {"type": "identify", "anonymousId": "a", "traits": {"x": 1}},
        [("user", "a", {"x": 1}, "identify")],
        [],
        [],
    ),
    (
        "identify with equal ids makes no self-link",
        {"type": "identify", "userId": "u", "anonymousId": "u"},
        [("user", "u", {}, "identify")],
        [],
        [],
    ),
    ("alias", {"type": "alias", "userId": "u", "previousId": "old"}, [], [("old", "u")], []),
    (
        "group with traits",
        {"type": "group", "userId": "u", "groupId": "acme", "traits": {"plan": "free"}},
        [("account", "acme", {"plan": "free"}, "group")],
        [],
        [("u", "acme")],
    ),
    (
        "group without traits still creates the account",
        {"type": "group", "anonymousId": "a", "groupId": "acme"},
        [("account", "acme", {}, "group")],
        [],
        [("a", "acme")],
    ),
    ("track derives nothing", {"type": "track", "userId": "u", "event": "E"}, [], [], []),
    ("page derives nothing", {"type": "page", "userId": "u", "name": "Docs"}, [], [], []),
]


@pytest.mark.parametrize(
    ("name", "raw", "traits", "links", "members"), CASES, ids=[c[0] for c in CASES]
)
def test_derive(
    name: str,
    raw: dict[str, Any],
    traits: list[tuple[Any, ...]],
    links: list[tuple[str, str]],
    members: list[tuple[str, str]],
) -> None:
    msg = normalize({**raw, "timestamp": "2026-03-01T00:00:00Z"}, T)
    out = derive(msg)
    assert [(r.kind, r.entity_id, r.traits, r.source) for r in out.trait_rows] == traits
    assert [(lk.from_id, lk.to_id) for lk in out.links] == links
    assert [(m.user_id, m.account_id) for m in out.memberships] == members
    assert all(r.ts == T for r in [*out.trait_rows, *out.links, *out.memberships])


def test_derived_rows_carry_the_message_seq() -> None:
    from dataclasses import replace

    msg = replace(normalize({"type": "group", "userId": "u", "groupId": "g"}, T), seq=41)
    out = derive_all([msg])
    assert out.trait_rows[0].seq == 41 and out.memberships[0].seq == 41


def test_import_rows() -> None:
    acc = account_row("acme", {"plan": "free"}, T)
    assert acc.trait_rows == [TraitRow("account", "acme", T, {"plan": "free"}, "import")]
    usr = user_row("u", {"email": "a@b.c"}, T, "acme")
    assert usr.trait_rows == [TraitRow("user", "u", T, {"email": "a@b.c"}, "import")]
    assert usr.memberships == [MembershipRow("u", "acme", T, "import")]
    assert user_row("u", {}, T, None).memberships == []
    assert derive_all([]).links == []
