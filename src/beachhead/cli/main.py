"""The ``beachhead`` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import importlib

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


if __name__ == "__main__":  # pragma: no cover
    app()
