"""``beachhead rejects``: messages that failed validation, where they came from and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt

RAW_WIDTH = 60


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _short(text: str, width: int = RAW_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def rejects(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 100,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Messages that failed validation (HTTP and imports), newest first."""
    from beachhead.config import load_settings
    from beachhead.runtime import open_state_store

    settings = load_settings(config, data)
    state = open_state_store(settings)
    try:
        found = state.list_rejects(limit)
    finally:
        state.close()
    if fmt is Format.json:
        rows = [
            {
                "id": r.id,
                "source": r.source,
                "position": r.position,
                "reason": r.reason,
                "received_at": _iso(r.received_at),
                "raw": r.raw,
            }
            for r in found
        ]
        typer.echo(orjson.dumps({"rejects": rows}).decode())
        return
    if not found:
        typer.echo("No rejected messages.")
        return
    from rich.console import Console

    from beachhead.cli.tables import PlainTable as Table

    table = Table("when", "source", "at", "reason", "raw")
    for r in found:
        table.add_row(_iso(r.received_at), r.source, str(r.position), r.reason, _short(r.raw))
    Console(width=200).print(table)


def register(app: typer.Typer) -> None:
    app.command("rejects")(rejects)
