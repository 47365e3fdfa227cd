"""``beachhead users-admin create|list|set-role|set-team|set-password|disable``: app users.

``create`` makes the first admin on a fresh install (``--password`` or a hidden prompt,
asked twice). The state store is opened directly (SQLite in WAL mode or PostgreSQL), so
these commands work while ``beachhead serve`` runs on the same data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail

if TYPE_CHECKING:  # the stores (and argon2) load in the commands: `--help` stays quick
    from beachhead.store.app_users import AppUser, AppUserStore

users_admin_app = typer.Typer(
    name="users-admin",
    help="People who sign in to the web app: roles admin, manager, rep.",
    no_args_is_help=True,
)
T = TypeVar("T")

EmailArg = Annotated[str, typer.Option("--email", help="The person's email (their sign-in).")]


def _with_store(config: ConfigOpt, data: DataOpt, fn: Callable[[AppUserStore], T]) -> T:
    from beachhead.config import load_settings
    from beachhead.runtime import open_state_store
    from beachhead.store.app_users import AppUserStore, UserError

    settings = load_settings(config, data)
    state = open_state_store(settings)
    try:
        return fn(AppUserStore(state))
    except UserError as exc:
        raise fail(str(exc)) from exc
    finally:
        state.close()


def _check_team(config: ConfigOpt, data: DataOpt, team: str | None) -> None:
    """``--team`` names a team of the definitions (read as every command reads them), else
    a one-line error listing the known teams, or saying why the definitions cannot be
    read. No team (None or empty) needs no definitions: the first admin on a fresh install."""
    if not team:
        return
    from beachhead.config import load_settings
    from beachhead.lifecycle_service import read_config
    from beachhead.runtime import ServiceError

    settings = load_settings(config, data)
    try:
        definitions = read_config(settings.config)
    except ServiceError as exc:
        raise fail(f"cannot check --team {team!r}: {exc}") from exc
    known = [t.key for t in definitions.teams]
    if team not in known:
        teams = f"known teams: {', '.join(known)}" if known else "it defines no teams"
        raise fail(f"--team: no team {team!r} in the definitions {settings.config} ({teams})")


def _json(u: AppUser) -> dict[str, object]:
    return {
        "email": u.email,
        "role": u.role,
        "team": u.team,
        "name": u.name,
        "disabled": u.disabled,
    }


def _show(u: AppUser, fmt: Format, verb: str) -> None:
    if fmt is Format.json:
        typer.echo(orjson.dumps(_json(u)).decode())
        return
    team = f", team {u.team}" if u.team else ""
    typer.echo(f"{verb} {u.email}: {u.role}{team}")


def _ask_password() -> str:
    """The password from a hidden prompt in a terminal, else the first line of stdin
    (a script piping it); nothing there is one line, not getpass's warning and 'aborted'."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line.strip():
        raise fail("no password: pass --password, pipe it on stdin, or run in a terminal")
    return line.rstrip("\r\n")


@users_admin_app.command("create")
def create(
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", help="admin, manager or rep.")] = "rep",
    password: Annotated[
        str | None, typer.Option("--password", help="At least 8 characters; prompted if absent.")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="A team key of beachhead.yml.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A display name.")] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Create an app user (the first one should be an admin)."""
    _check_team(config, data, team)  # before the password prompt
    if password is None:
        password = _ask_password()
    user = _with_store(config, data, lambda s: s.create(email, password, role, team, name))
    _show(user, fmt, "Created")


@users_admin_app.command("list")
def list_users(
    config: ConfigOpt = None, data: DataOpt = None, fmt: FormatOpt = Format.table
) -> None:
    """List app users with their role and team."""
    users = _with_store(config, data, lambda s: s.list())
    if fmt is Format.json:
        typer.echo(orjson.dumps({"users": [_json(u) for u in users]}).decode())
        return
    if not users:
        typer.echo("No app users yet: beachhead users-admin create --email E --role admin")
        return
    from rich.console import Console

    from beachhead.cli.tables import PlainTable as Table

    table = Table("email", "role", "team", "status")
    for u in users:
        table.add_row(u.email, u.role, u.team or "", "disabled" if u.disabled else "active")
    Console(width=120).print(table)


@users_admin_app.command("set-role")
def set_role(
    email: EmailArg,
    role: Annotated[str, typer.Option("--role", help="admin, manager or rep.")],
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Change a user's role."""
    _show(_with_store(config, data, lambda s: s.set_role(email, role)), fmt, "Updated")


@users_admin_app.command("set-team")
def set_team(
    email: EmailArg,
    team: Annotated[str, typer.Option("--team", help="A team key; empty for no team.")],
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Put a user in a team (reps see their team's queue)."""
    _check_team(config, data, team)
    _show(_with_store(config, data, lambda s: s.set_team(email, team or None)), fmt, "Updated")


@users_admin_app.command("set-password")
def set_password(
    email: EmailArg,
    password: Annotated[str | None, typer.Option("--password", help="Prompted if absent.")] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Set a new password (ends the user's sessions)."""
    if password is None:
        password = _ask_password()
    _show(_with_store(config, data, lambda s: s.set_password(email, password)), fmt, "Updated")


@users_admin_app.command("disable")
def disable(
    email: EmailArg,
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead.")] = False,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Disable a user (ends their sessions at once), or ``--enable`` them again."""
    user = _with_store(config, data, lambda s: s.set_disabled(email, not enable))
    _show(user, fmt, "Enabled" if enable else "Disabled")


def register(app: typer.Typer) -> None:
    app.add_typer(users_admin_app)
