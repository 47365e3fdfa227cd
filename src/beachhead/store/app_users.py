"""Repository of app users, their sessions and reps' away state.

Passwords are hashed with argon2id (``argon2-cffi``): a stolen table does not give the
passwords away. Sessions are server-side rows keyed by a SHA-256 of a random cookie token,
so signing out (or disabling a user) ends the session at once, and each session carries
its own CSRF token.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from beachhead.rules.model import Config
from beachhead.store.app_user_models import ROLES, AppSessionRow, AppUserRow, RepAwayRow
from beachhead.store.state import StateStore
from beachhead.store.state_models import WriteKey

SESSION_DAYS = 14
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a miss costs as long as a hit.
    Made on first use, not at import: hashing costs about 0.3 s, which every command
    that imports this module (``serve``, ``evaluate``) paid before signing anyone in."""
    return _hasher.hash("not a password: timing only")


class UserError(ValueError):
    """A one-line, user-facing problem (duplicate email, unknown role, short password)."""


@dataclass(frozen=True, slots=True)
class AppUser:
    """A signed-in (or listed) person; ``csrf`` is set only on a session's user."""

    id: int
    email: str
    role: str
    team: str | None
    name: str | None = None
    disabled: bool = False
    csrf: str = ""

    def can(self, role: str) -> bool:
        """Roles nest: an admin can do what a manager can, a manager what a rep can."""
        return ROLES.index(self.role) <= ROLES.index(role)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(r: AppUserRow, csrf: str = "") -> AppUser:
    return AppUser(r.id, r.email, r.role, r.team, r.name, r.disabled, csrf)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def check_password(password: str) -> str:
    if len(password) < 8:
        raise UserError("the password needs at least 8 characters")
    return password


def with_away(config: Config, overrides: dict[str, bool]) -> Config:
    """``config`` with each rep's ``away`` replaced by the app's state, where it was set.

    Pure; whoever routes (the app's actions, and evaluations) applies it to the
    definitions so that a rep marked away in the app gets no new work.
    """
    if not overrides:
        return config
    teams = tuple(
        team.model_copy(
            update={
                "reps": tuple(
                    rep.model_copy(update={"away": overrides.get(rep.email.lower(), rep.away)})
                    for rep in team.reps
                )
            }
        )
        for team in config.teams
    )
    return config.model_copy(update={"teams": teams})


class AppUserStore:
    """App users, sessions and away state in one state store."""

    def __init__(self, state: StateStore) -> None:
        self.state = state

    # -- users -----------------------------------------------------------------------
    def create(
        self,
        email: str,
        password: str,
        role: str,
        team: str | None = None,
        name: str | None = None,
    ) -> AppUser:
        email = email.strip().lower()
        if "@" not in email:
            raise UserError(f"not an email address: {email!r}")
        row = AppUserRow(
            email=email,
            name=name,
            password_hash=_hasher.hash(check_password(password)),
            role=check_role(role),
            team=team or None,
            created_at=_now(),
            disabled=False,
        )
        with self.state.session() as s, s.begin():
            if s.scalar(select(AppUserRow.id).where(AppUserRow.email == email)) is not None:
                raise UserError(f"a user {email} already exists")
            s.add(row)
            s.flush()
            return _user(row)

    def list(self) -> list[AppUser]:
        with self.state.session() as s:
            return [_user(r) for r in s.scalars(select(AppUserRow).order_by(AppUserRow.email))]

    def get(self, email: str) -> AppUser | None:
        with self.state.session() as s:
            row = s.scalar(select(AppUserRow).where(AppUserRow.email == email.strip().lower()))
            return None if row is None else _user(row)

    def _update(self, email: str, **values: object) -> AppUser:
        with self.state.session() as s, s.begin():
            row = s.scalar(select(AppUserRow).where(AppUserRow.email == email.strip().lower()))
            if row is None:
                raise UserError(f"no user {email}")
            for k, v in values.items():
                setattr(row, k, v)
            return _user(row)

    def set_role(self, email: str, role: str) -> AppUser:
        return self._update(email, role=check_role(role))

    def set_team(self, email: str, team: str | None) -> AppUser:
        return self._update(email, team=team or None)

    def set_password(self, email: str, password: str) -> AppUser:
        user = self._update(email, password_hash=_hasher.hash(check_password(password)))
        self.end_sessions(user.id)
        return user

    def set_disabled(self, email: str, disabled: bool) -> AppUser:
        user = self._update(email, disabled=disabled)
        if disabled:
            self.end_sessions(user.id)
        return user

    def authenticate(self, email: str, password: str) -> AppUser | None:
        """The user when the password is right and the user is enabled, else None."""
        with self.state.session() as s:
            row = s.scalar(select(AppUserRow).where(AppUserRow.email == email.strip().lower()))
        try:
            _hasher.verify(row.password_hash if row else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            self._update(row.email, password_hash=_hasher.hash(password))
        return _user(row)

    # -- sessions --------------------------------------------------------------------
    def start_session(self, user: AppUser, days: int = SESSION_DAYS) -> tuple[str, AppUser]:
        """A new session; returns the cookie token (seen only here) and the user with csrf."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        with self.state.session() as s, s.begin():
            s.execute(delete(AppSessionRow).where(AppSessionRow.expires_at < now))
            s.add(
                AppSessionRow(
                    token_hash=_token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + timedelta(days=days),
                )
            )
        return token, AppUser(
            user.id, user.email, user.role, user.team, user.name, user.disabled, csrf
        )

    def session_user(self, token: str) -> AppUser | None:
        """The enabled user of a live session, with the session's CSRF token."""
        with self.state.session() as s:
            found = s.execute(
                select(AppUserRow, AppSessionRow.csrf_token)
                .join(AppSessionRow, AppSessionRow.user_id == AppUserRow.id)
                .where(
                    AppSessionRow.token_hash == _token_hash(token),
                    AppSessionRow.expires_at > _now(),
                    AppUserRow.disabled.is_(False),
                )
            ).first()
            return None if found is None else _user(found[0], found[1])

    def end_session(self, token: str) -> None:
        with self.state.session() as s, s.begin():
            s.execute(delete(AppSessionRow).where(AppSessionRow.token_hash == _token_hash(token)))

    def end_sessions(self, user_id: int) -> None:
        with self.state.session() as s, s.begin():
            s.execute(delete(AppSessionRow).where(AppSessionRow.user_id == user_id))

    # -- away ------------------------------------------------------------------------
    def away_overrides(self) -> dict[str, bool]:
        """Rep email (lower-cased) -> away, for reps whose away state was set in the app."""
        with self.state.session() as s:
            return {r.email: r.away for r in s.scalars(select(RepAwayRow))}

    def config_with_away(self, config: Config) -> Config:
        """The definitions with the away state kept here (for routing)."""
        return with_away(config, self.away_overrides())

    def set_away(self, email: str, away: bool, by: str) -> None:
        email = email.strip().lower()
        with self.state.session() as s, s.begin():
            row = s.get(RepAwayRow, email)
            if row is None:
                s.add(RepAwayRow(email=email, away=away, updated_at=_now(), updated_by=by))
            else:
                row.away, row.updated_at, row.updated_by = away, _now(), by

    # -- write keys by their display prefix --------------------------------------------
    def revoke_key_prefix(self, prefix: str) -> bool:
        """Revoke the unrevoked write key shown as ``prefix`` (the app never sees keys).

        Belongs beside ``StateStore.revoke_key``; kept here until state.py grows it.
        """
        with self.state.session() as s, s.begin():
            ids = s.scalars(
                select(WriteKey.id).where(WriteKey.prefix == prefix, WriteKey.revoked_at.is_(None))
            ).all()
            if len(ids) != 1:
                return False
            s.execute(update(WriteKey).where(WriteKey.id == ids[0]).values(revoked_at=_now()))
            return True
