"""App users, sessions, away state and saved views in the state store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from beachhead.config import sqlalchemy_url
from beachhead.store.app_user_models import AppSessionRow, AppUserRow
from beachhead.store.app_users import AppUserStore, UserError
from beachhead.store.saved_views import SavedViewStore
from beachhead.store.state import StateStore

PW = "long enough pw"


@pytest.fixture(params=["sqlite", "postgres"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "postgres":
        url = sqlalchemy_url(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    try:
        yield store
    finally:
        store.close()


def test_users_are_created_once_with_a_hashed_password(state: StateStore) -> None:
    users = AppUserStore(state)
    made = users.create(" Ana@Example.com ", PW, "rep", "mid_market")
    assert (made.email, made.role, made.team) == ("ana@example.com", "rep", "mid_market")
    with pytest.raises(UserError, match="already exists"):
        users.create("ana@example.com", PW, "admin")
    for bad, why in [
        (("x@y.z", "short", "rep"), "8 characters"),
        (("x@y.z", PW, "owner"), "role must be one of admin, manager, rep"),
        (("nobody", PW, "rep"), "not an email"),
    ]:
        with pytest.raises(UserError, match=why):
            users.create(*bad)
    with state.session() as s:
        stored = s.scalar(select(AppUserRow.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and PW not in stored
    assert [u.email for u in users.list()] == ["ana@example.com"]


def test_authenticate(state: StateStore) -> None:
    users = AppUserStore(state)
    users.create("ana@example.com", PW, "rep")
    assert users.authenticate("ANA@example.com", PW) is not None
    assert users.authenticate("ana@example.com", PW + "x") is None
    assert users.authenticate("who@example.com", PW) is None
    users.set_disabled("ana@example.com", True)
    assert users.authenticate("ana@example.com", PW) is None


def test_sessions_end_on_sign_out_password_change_disable_and_expiry(state: StateStore) -> None:
    users = AppUserStore(state)
    ana = users.create("ana@example.com", PW, "rep")
    t1, with_csrf = users.start_session(ana)
    t2, other = users.start_session(ana)
    assert with_csrf.csrf and with_csrf.csrf != other.csrf and t1 != t2
    seen = users.session_user(t1)
    assert seen is not None and seen.csrf == with_csrf.csrf
    assert users.session_user("not-a-token") is None
    with state.session() as s:  # only the hash of the token is stored
        assert t1 not in {r.token_hash for r in s.scalars(select(AppSessionRow))}
    users.end_session(t1)
    assert users.session_user(t1) is None and users.session_user(t2) is not None
    users.set_password("ana@example.com", "another password")
    assert users.session_user(t2) is None
    t3, _ = users.start_session(ana)
    users.set_disabled("ana@example.com", True)
    assert users.session_user(t3) is None
    users.set_disabled("ana@example.com", False)
    t4, _ = users.start_session(ana)
    with state.session() as s, s.begin():
        s.execute(update(AppSessionRow).values(expires_at=AppSessionRow.created_at))
    assert users.session_user(t4) is None


def test_roles_nest_and_change(state: StateStore) -> None:
    users = AppUserStore(state)
    users.create("m@example.com", PW, "manager")
    m = users.get("m@example.com")
    assert m is not None and m.can("rep") and m.can("manager") and not m.can("admin")
    admin = users.set_role("m@example.com", "admin")
    assert admin.can("admin")
    assert users.set_team("m@example.com", "enterprise").team == "enterprise"
    assert users.set_team("m@example.com", None).team is None
    with pytest.raises(UserError, match="no user"):
        users.set_role("nobody@example.com", "rep")


def test_away_overrides(state: StateStore) -> None:
    users = AppUserStore(state)
    assert users.away_overrides() == {}
    users.set_away("Bo@Example.com", True, "manager@example.com")
    users.set_away("ana@example.com", True, "manager@example.com")
    users.set_away("ana@example.com", False, "ana@example.com")
    assert users.away_overrides() == {"bo@example.com": True, "ana@example.com": False}


def test_revoke_key_by_prefix(state: StateStore) -> None:
    key, _ = state.create_key("web")
    users = AppUserStore(state)
    assert users.revoke_key_prefix(key[:10]) is True
    assert state.key_name(key) is None
    assert users.revoke_key_prefix(key[:10]) is False


def test_saved_views_personal_and_shared(state: StateStore) -> None:
    users = AppUserStore(state)
    ana = users.create("ana@example.com", PW, "rep", "mid_market")
    bo = users.create("bo@example.com", PW, "rep", "mid_market")
    sam = users.create("sam@example.com", PW, "rep", "self_serve")
    views = SavedViewStore(state)
    mine = views.save(ana.id, "hot", {"touch": "high"}, None)
    shared = views.save(ana.id, "team hot", {"touch": "high", "scope": "team"}, "mid_market")
    assert [v.name for v in views.visible(ana.id, ana.team)] == ["hot", "team hot"]
    assert [v.name for v in views.visible(bo.id, bo.team)] == ["team hot"]
    assert views.visible(sam.id, sam.team) == []
    again = views.save(ana.id, "hot", {"touch": "low"}, None)  # same name: replaced
    assert again.id == mine.id and views.get(mine.id, ana.id, ana.team).params == {"touch": "low"}  # type: ignore[union-attr]
    assert views.get(shared.id, sam.id, sam.team) is None
    assert views.delete(shared.id, bo.id) is False  # only the owner deletes
    assert views.delete(shared.id, ana.id) is True
    assert [v.name for v in views.visible(bo.id, bo.team)] == []


def test_config_with_away_overrides_the_definitions(state: StateStore) -> None:
    from beachhead.rules.load import load_text

    config = load_text(
        "teams:\n  - key: t\n    reps: [{email: Ana@X.com}, {email: bo@x.com, away: true}]\n"
        "routing:\n  - {team: t}\n",
        "beachhead.yml",
    )
    users = AppUserStore(state)
    assert users.config_with_away(config) == config  # nothing set in the app
    users.set_away("ana@x.com", True, "m@x.com")
    users.set_away("bo@x.com", False, "m@x.com")
    reps = users.config_with_away(config).teams[0].reps
    assert [(r.email, r.away) for r in reps] == [("Ana@X.com", True), ("bo@x.com", False)]
    assert [r.away for r in config.teams[0].reps] == [False, True]  # the original is unchanged
