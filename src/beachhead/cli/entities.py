"""``beachhead users`` and ``beachhead accounts``: who is in the data, as of a time.

Thin: the work is the ``users``/``accounts`` services in ``entities_service.py``, run in a
live ``beachhead serve`` when there is one (it holds the events store), else here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail

if TYPE_CHECKING:  # rich and the services load in the commands: `--help` stays quick
    from beachhead.cli.tables import PlainTable as Table

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="As of this time (ISO-8601; no zone = UTC) [default: now]."),
]
TRAITS_SHOWN = 4  # the table stays readable; --format json has every trait


def _run(name: str, as_of: str | None, config: Path | None, data: Path | None) -> dict[str, Any]:
    from beachhead.config import load_settings
    from beachhead.entities_service import parse_as_of
    from beachhead.rules.load import unreadable
    from beachhead.runtime import ServiceError, call_service

    settings = load_settings(config, data)
    if Path(settings.config).exists():
        problem = unreadable(settings.config)  # a folder given for the file
        if problem is not None:
            raise fail(problem)
    else:  # listed anyway: traits and members need none
        typer.echo(
            f"warning: no definitions file {settings.config}: listed without scores or "
            "stages (beachhead init writes one)",
            err=True,
        )
    payload: dict[str, Any] = {"config": str(Path(settings.config).resolve())}
    try:
        if as_of is not None:
            parse_as_of(as_of)
            payload["as_of"] = as_of
        return call_service(settings, name, payload)
    except ServiceError as exc:
        raise fail(str(exc)) from exc


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 30 else text[:29] + "…"


def _traits(traits: dict[str, Any]) -> str:
    keys = sorted(traits)
    shown = ", ".join(f"{k}={_short(traits[k])}" for k in keys[:TRAITS_SHOWN])
    return shown + (f", +{len(keys) - TRAITS_SHOWN} more" if len(keys) > TRAITS_SHOWN else "")


def _scores(scores: dict[str, dict[str, Any]]) -> str:
    parts = []
    for key, sv in scores.items():
        band = f" ({sv['band']})" if sv.get("band") else ""
        parts.append(f"{key} {sv['points']}{band}")
    return ", ".join(parts)


def _print(table: Table, count: int, what: str) -> None:
    from rich.console import Console

    console = Console(width=160)
    if count:
        console.print(table)
    typer.echo(f"{count} {what}")


def users(
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Users with their traits, primary account, accounts and scores."""
    result = _run("users", as_of, config, data)
    if fmt is Format.json:
        typer.echo(orjson.dumps(result).decode())
        return
    from beachhead.cli.tables import PlainTable as Table

    table = Table(
        "id", "account", "accounts", "scores", "traits", title=f"Users at {result['as_of']}"
    )
    for u in result["users"]:
        table.add_row(
            u["id"],
            u["account_id"] or "",
            str(len(u["accounts"])),
            _scores(u["scores"]),
            _traits(u["traits"]),
        )
    _print(table, len(result["users"]), "users")


def accounts(
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Accounts with their traits, members, journey stage and scores."""
    result = _run("accounts", as_of, config, data)
    if fmt is Format.json:
        typer.echo(orjson.dumps(result).decode())
        return
    from beachhead.cli.tables import PlainTable as Table

    table = Table(
        "id",
        "plan",
        "stage",
        "members",
        "scores",
        "traits",
        title=f"Accounts at {result['as_of']}",
    )
    for a in result["accounts"]:
        plan = a["traits"].get("plan")  # its own column: the traits cell shows only a few
        table.add_row(
            a["id"],
            "" if plan is None else _short(plan),
            a["stage"] or "",
            str(len(a["members"])),
            _scores(a["scores"]),
            _traits(a["traits"]),
        )
    _print(table, len(result["accounts"]), "accounts")


def register(app: typer.Typer) -> None:
    app.command("users")(users)
    app.command("accounts")(accounts)
