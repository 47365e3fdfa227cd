"""Identity at a point in time: links, traits, accounts, membership, primary account.

Table-driven: each case lists rows as short tuples and the snapshot fields it expects.
Times are minutes after a fixed origin, so orderings are easy to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from beachhead.ingest.freemail import builtin_free_mail, load_free_mail, parse_domains
from beachhead.ingest.identity import email_domain, normalize_domain, resolve
from beachhead.ingest.message import Link, MembershipRow, TraitRow

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FREE = frozenset({"gmail.com"})


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


@dataclass
class Case:
    name: str
    users: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (min, id, traits)
    accounts: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    links: list[tuple[int, str, str]] = field(default_factory=list)  # (min, from, to)
    members: list[tuple[int, str, str, str]] = field(default_factory=list)  # (min, user, acct, src)
    named: list[str] = field(default_factory=list)
    as_of: int = 1000
    expect: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case(
        "identify links anonymous id to user",
        links=[(1, "anon", "u1")],
        named=["anon", "u1"],
        expect={"user_of": {"anon": "u1", "u1": "u1"}, "user_ids": ["u1"]},
    ),
    Case(
        "link after as_of is not seen",
        links=[(5, "anon", "u1")],
        named=["anon", "u1"],
        as_of=4,
        expect={"user_of": {"anon": "anon", "u1": "u1"}, "user_ids": ["anon", "u1"]},
    ),
    Case(
        "chains are transitive",
        links=[(1, "a", "b"), (2, "b", "c")],
        named=["a"],
        expect={"user_of": {"a": "c", "b": "c", "c": "c"}, "user_ids": ["c"]},
    ),
    Case(
        "first link wins",
        links=[(1, "anon", "u1"), (2, "anon", "u2")],
        expect={"user_of": {"anon": "u1"}, "user_ids": ["u1", "u2"]},
    ),
    Case(
        "equal times: store order decides the first link",
        links=[(1, "anon", "u2"), (1, "anon", "u1")],
        expect={"user_of": {"anon": "u2"}},
    ),
    Case(
        "self link is skipped",
        links=[(1, "u1", "u1"), (2, "u1", "u2")],
        expect={"user_of": {"u1": "u2"}, "user_ids": ["u2"]},
    ),
    Case(
        "cycle is skipped",
        links=[(1, "a", "b"), (2, "b", "a")],
        expect={"user_of": {"a": "b", "b": "b"}, "user_ids": ["b"]},
    ),
    Case(
        "longer cycle is skipped",
        links=[(1, "a", "b"), (2, "b", "c"), (3, "c", "a")],
        expect={"user_of": {"a": "c", "b": "c", "c": "c"}, "user_ids": ["c"]},
    ),
    Case(
        "traits merge by top-level key, later wins, null removes, nested replaced",
        users=[
            (1, "u1", {"plan": "free", "name": "A", "prefs": {"x": 1, "y": 2}}),
            (2, "u1", {"plan": "team", "name": None, "prefs": {"x": 3}}),
        ],
        expect={"users": {"u1": {"plan": "team", "prefs": {"x": 3}}}},
    ),
    Case(
        "trait rows after as_of are not seen",
        users=[(1, "u1", {"plan": "free"}), (9, "u1", {"plan": "team"})],
        as_of=5,
        expect={"users": {"u1": {"plan": "free"}}},
    ),
    Case(
        "anonymous traits join the user when linked, in time order",
        users=[(1, "anon", {"email": "a@x.io", "title": "cto"}), (3, "u1", {"title": "ceo"})],
        links=[(2, "anon", "u1")],
        expect={"users": {"u1": {"email": "a@x.io", "title": "ceo"}}},
    ),
    Case(
        "anonymous traits newer than the user's win",
        users=[(1, "u1", {"title": "ceo"}), (3, "anon", {"title": "cto"})],
        links=[(2, "anon", "u1")],
        expect={"users": {"u1": {"title": "cto"}}},
    ),
    Case(
        "account traits merge like user traits",
        accounts=[(1, "acme", {"plan": "free", "seats": 5}), (2, "acme", {"plan": "team"})],
        expect={"accounts": {"acme": {"plan": "team", "seats": 5}}},
    ),
    Case(
        "group membership and primary = most recent group call",
        accounts=[(1, "a1", {}), (2, "a2", {})],
        members=[(1, "u1", "a1", "group"), (2, "u1", "a2", "group"), (3, "u1", "a1", "group")],
        expect={"accounts_of": {"u1": ["a1", "a2"]}, "primary": {"u1": "a1"}},
    ),
    Case(
        "membership of an anonymous id follows its link",
        accounts=[(1, "a1", {})],
        members=[(1, "anon", "a1", "group")],
        links=[(2, "anon", "u1")],
        expect={"members": {"a1": ["u1"]}, "primary": {"u1": "a1"}, "user_ids": ["u1"]},
    ),
    Case(
        "import account_id makes a member and an account",
        members=[(1, "u1", "crm_acct", "import")],
        expect={"members": {"crm_acct": ["u1"]}, "primary": {"u1": "crm_acct"}},
    ),
    Case(
        "group call beats import for primary",
        members=[(1, "u1", "g", "group"), (2, "u1", "i", "import")],
        expect={"accounts_of": {"u1": ["g", "i"]}, "primary": {"u1": "g"}},
    ),
    Case(
        "email domain joins the account with that domain trait",
        users=[(1, "u1", {"email": "Ann@Acme.COM"})],
        accounts=[(0, "acme", {"domain": "https://www.ACME.com/about"})],
        expect={"members": {"acme": ["u1"]}, "primary": {"u1": "acme"}},
    ),
    Case(
        "domain tie goes to the account seen first",
        users=[(5, "u1", {"email": "a@acme.com"})],
        accounts=[
            (2, "second", {"domain": "acme.com"}),
            (1, "first", {"plan": "free"}),
            (3, "first", {"domain": "acme.com"}),
        ],
        expect={"primary": {"u1": "first"}, "members": {"first": ["u1"], "second": []}},
    ),
    Case(
        "no account with the domain: implicit domain account",
        users=[(1, "u1", {"email": "a@newco.io"}), (2, "u2", {"email": "b@newco.io"})],
        expect={
            "accounts": {"domain:newco.io": {"domain": "newco.io"}},
            "members": {"domain:newco.io": ["u1", "u2"]},
            "primary": {"u1": "domain:newco.io", "u2": "domain:newco.io"},
        },
    ),
    Case(
        "free-mail users join nothing",
        users=[(1, "u1", {"email": "a@gmail.com"})],
        expect={"accounts": {}, "accounts_of": {}, "primary": {}},
    ),
    Case(
        "a group member does not also join by domain",
        users=[(1, "u1", {"email": "a@acme.com"})],
        accounts=[(1, "acme", {"domain": "acme.com"}), (1, "ws", {})],
        members=[(2, "u1", "ws", "group")],
        expect={"accounts_of": {"u1": ["ws"]}, "members": {"acme": [], "ws": ["u1"]}},
    ),
    Case(
        "membership after as_of falls back to the domain",
        users=[(1, "u1", {"email": "a@acme.com"})],
        members=[(9, "u1", "ws", "group")],
        as_of=5,
        expect={"accounts_of": {"u1": ["domain:acme.com"]}},
    ),
    Case(
        "email that is not an address joins nothing",
        users=[(1, "u1", {"email": "nobody"}), (1, "u2", {"email": 42})],
        expect={"accounts": {}, "user_ids": ["u1", "u2"]},
    ),
    Case(
        "named ids are users even without rows",
        named=["u9", "anon7"],
        expect={"user_ids": ["anon7", "u9"], "users": {"u9": {}, "anon7": {}}},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_resolve(case: Case) -> None:
    rows = [
        TraitRow("user", i, at(m), t, "identify", seq=n) for n, (m, i, t) in enumerate(case.users)
    ]
    rows += [
        TraitRow("account", i, at(m), t, "group", seq=100 + n)
        for n, (m, i, t) in enumerate(case.accounts)
    ]
    links = [Link(f, t, at(m), seq=n) for n, (m, f, t) in enumerate(case.links)]
    members = [MembershipRow(u, a, at(m), s, seq=n) for n, (m, u, a, s) in enumerate(case.members)]
    snap = resolve(rows, links, members, at(case.as_of), FREE, case.named)
    got: dict[str, Any] = {
        "user_ids": sorted(snap.users),
        "users": snap.users,
        "accounts": snap.accounts,
        "members": {k: sorted(v) for k, v in snap.members.items()},
        "accounts_of": {k: sorted(v) for k, v in snap.accounts_of.items()},
        "primary": snap.primary,
    }
    for key, want in case.expect.items():
        if key == "user_of":
            assert {raw: snap.user(raw) for raw in want} == want
        elif key in ("users", "accounts", "members", "accounts_of") and key in got:
            if key in ("accounts", "accounts_of") and want == {}:
                assert got[key] == {}
            else:
                assert {k: got[key].get(k) for k in want} == want
        else:
            assert got[key] == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("acme.com", "acme.com"),
        ("https://www.Acme.com/", "acme.com"),
        ("http://acme.com/a/b", "acme.com"),
        ("  WWW.acme.com ", "acme.com"),
        ("acme.com?utm_source=x", "acme.com"),
        ("https://acme.com#pricing", "acme.com"),
        ("acme.com:443", "acme.com"),
        ("https://www.acme.com:8443/a?b#c", "acme.com"),
        ("acme.com.", "acme.com"),
        ("/", None),
        ("", None),
        (None, None),
        (5, None),
    ],
)
def test_normalize_domain(raw: object, want: str | None) -> None:
    assert normalize_domain(raw) == want


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("a@Acme.com", "acme.com"),
        ("a@acme.com.", "acme.com"),
        ("a@b@c.io", "c.io"),
        ("nope", None),
        ("a@", None),
        (3, None),
    ],
)
def test_email_domain(raw: object, want: str | None) -> None:
    assert email_domain(raw) == want


def test_builtin_free_mail_list_has_common_providers() -> None:
    domains = builtin_free_mail()
    assert len(domains) >= 300
    assert {"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"} <= domains
    assert "acme.com" not in domains


def test_free_mail_extendable(tmp_path: Path) -> None:
    extra = tmp_path / "extra.txt"
    extra.write_text("# ours\nExample-Mail.ORG\n\n@corp-free.net  # trailing comment\n")
    domains = load_free_mail(extra)
    assert {"example-mail.org", "corp-free.net", "gmail.com"} <= domains
    assert parse_domains("a.com\n#b.com\n") == frozenset({"a.com"})
