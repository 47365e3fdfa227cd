"""Options every command shares, so each accepts them after its own name."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # loaded in the commands: `--help` stays quick
    from beachhead.config import Settings
    from beachhead.store.state import StateStore

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Definitions file (env BEACHHEAD_CONFIG; default ./beachhead.yml).",
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Embedded storage folder (env BEACHHEAD_DATA; default ./.beachhead).",
    ),
]


PORT_MAX = 65535


def _port_in_range(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= PORT_MAX:
        raise typer.BadParameter(f"expected 0 to {PORT_MAX} (0 = any free port), got {value}")
    return value


PortOpt = Annotated[
    int | None,
    # checked as the options are parsed: a port out of range is a usage error (exit 2)
    # before any work, not the socket's OverflowError after it
    typer.Option("--port", callback=_port_in_range, help="[env BEACHHEAD_PORT; 8000; 0 = any]"),
]


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", help="table for people, json for scripts (JSON alone on stdout)."),
]


def open_state(settings: Settings) -> StateStore:
    """The state store for a command, or one line saying why it cannot be opened: a data
    folder or state.db that cannot be used (``StoreUnusable``'s line), a server that does
    not answer or a bad URL (the first line of its error)."""
    from beachhead.runtime import StoreUnusable, open_state_store

    try:
        return open_state_store(settings)
    except StoreUnusable as exc:
        raise fail(str(exc)) from exc
    except Exception as exc:
        raise fail(f"cannot open the state store: {exc}".splitlines()[0]) from exc


def fail(reason: str, code: int = 1) -> typer.Exit:
    """Print a one-line reason on stderr and return the Exit to raise."""
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code)
