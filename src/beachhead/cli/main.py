"""The ``beachhead`` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import importlib
from typing import Any

import typer

app = typer.Typer(
    name="beachhead",
    help="Product-led sales: find the users and accounts ready to buy, explain why, route them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts may hold [brackets]: print them as written
)

# Modules that define commands on ``app`` (each has ``register(app)``). A module that is not
# there yet is skipped, so the command list grows with the code.
COMMAND_MODULES = [
    "beachhead.cli.rules_cmds",  # init, check
    "beachhead.cli.keys",  # keys create|list|revoke
    "beachhead.cli.ingest_cmds",  # import events|accounts|users, rejects
    "beachhead.cli.rejects",  # rejects
    "beachhead.cli.entities",  # users, accounts
    "beachhead.cli.evaluate_cmds",  # evaluate, qualifications, deliver
    "beachhead.cli.deliver",  # deliver
    "beachhead.cli.serve",  # serve, migrate
    "beachhead.cli.demo",  # demo, demo generate
    "beachhead.cli.users_admin",  # users-admin create|list|set-role|set-team (web app users)
]

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a module is missing
        if exc.name != _name:
            raise
        continue
    _mod.register(app)


def _unreachable_database(exc: BaseException) -> bool:
    """A PostgreSQL that cannot be reached or signed in to (psycopg's or SQLAlchemy's
    ``OperationalError``, as every command meets it on its first query)."""
    for e in (exc, exc.__cause__):
        if e is not None and type(e).__name__ == "OperationalError":
            module = type(e).__module__
            if module.startswith(("psycopg", "sqlalchemy")):
                return True
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, first to last."""
    seen: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in seen:
        seen.append(e)
        e = e.__cause__ or e.__context__
    return seen


def _foreign_schema(exc: BaseException) -> str | None:
    """A database holding another application's tables under Beachhead's names: its
    ``alembic_version`` names a revision Beachhead does not have, or a table Beachhead
    creates exists already (psycopg's ``DuplicateTable``, often under a later error)."""
    for e in _chain(exc):
        name = type(e).__name__
        if name == "CommandError" and "Can't locate revision" in str(e):
            return (
                "its alembic_version table names a revision Beachhead does not know (another"
                " application's migrations?); give Beachhead a database of its own"
            )
        if name == "DuplicateTable":
            own = "give Beachhead a database of its own"
            return f"{_first_line(e)}, and it is not Beachhead's; {own}"
    return None


def main() -> None:
    """The ``beachhead`` entry point: ``app``, with a usage error (an unknown option or
    command, a bad option value) as ONE line on stderr, as for every other bad input
    (interfaces.md), instead of click's usage, hint and error lines. Exit code 2, as
    click's; a command's own failures keep theirs. (Typer vendors click, so its errors
    are told apart by class name: ``ClickException``, ``UsageError``.)"""
    try:
        rv = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(1) from None
    except Exception as exc:
        kinds = {c.__name__ for c in type(exc).__mro__}
        # a bad BEACHHEAD_... variable, or a data folder / store file that cannot be used,
        # whatever the command
        if kinds & {"SettingsError", "StoreUnusable"}:
            typer.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from None
        conflict = _foreign_schema(exc)
        if conflict is not None:
            typer.echo(f"error: cannot use BEACHHEAD_DATABASE_URL: {conflict}", err=True)
            raise SystemExit(1) from None
        if _unreachable_database(exc):
            reason = _first_line(getattr(exc, "orig", None) or exc)  # SQLAlchemy wraps psycopg's
            typer.echo(f"error: cannot use BEACHHEAD_DATABASE_URL: {reason}", err=True)
            raise SystemExit(1) from None
        if "ClickException" not in kinds:
            raise
        err: Any = exc
        if "NoArgsIsHelpError" in kinds:  # `beachhead` alone: the help, as click shows it
            err.show()
            raise SystemExit(err.exit_code) from None
        ctx = getattr(err, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if "UsageError" in kinds and ctx else ""
        # a choice's message passes through pydantic's "Value error, " on its way here
        message = err.format_message().replace("Value error, ", "")
        typer.echo(f"error: {message}{hint}", err=True)
        raise SystemExit(err.exit_code) from None
    raise SystemExit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
