"""Options every command shares, so each accepts them after its own name."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

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


class Format(enum.StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[
    Format,
    typer.Option("--format", help="table for people, json for scripts (JSON alone on stdout)."),
]


def fail(reason: str, code: int = 1) -> typer.Exit:
    """Print a one-line reason on stderr and return the Exit to raise."""
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(code)
