"""``beachhead keys create|list|revoke``: write keys for the ingest API.

Keys live in the state store, which every process opens directly (SQLite in WAL mode or
PostgreSQL), so these commands work while ``beachhead serve`` runs on the same data.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail

if TYPE_CHECKING:  # the stores load in the commands: `beachhead --help` stays quick
    from beachhead.store.state import StateStore

keys_app = typer.Typer(
    name="keys", help="Write keys for the ingest API (/v1/*).", no_args_is_help=True
)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def _check_name(name: str) -> None:
    """A name given with ``--name``: not empty, one line of printable text, and the store's
    own rule (``state.label``: its length, as the web form and the API have it); else a
    one-line error (exit 1, as the other key errors) before the store is opened."""
    from beachhead.store.state import label

    if not name.strip():
        raise fail("--name: a write key's name cannot be empty (leave --name out for a dated one)")
    bad = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise fail(f"--name: a write key's name cannot hold control characters (found {bad!r})")
    try:
        label(name, "a write key's name")
    except ValueError as exc:
        raise fail(f"--name: {exc}") from exc


def _state(config: ConfigOpt, data: DataOpt) -> StateStore:
    from beachhead.config import load_settings
    from beachhead.runtime import open_state_store

    settings = load_settings(config, data)
    return open_state_store(settings)


@keys_app.command("create")
def create(
    name: Annotated[
        str | None, typer.Option("--name", help="A label, e.g. web or backend.")
    ] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Create a write key. It is printed once, alone on the last line; only a hash is kept."""
    if name is not None:
        _check_name(name)
    state = _state(config, data)
    try:
        key, label = state.create_key(name)
    finally:
        state.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps({"key": key, "name": label}).decode())
        return
    typer.echo(f"Created write key {label!r}. It is shown only this once:")
    typer.echo(key)


@keys_app.command("list")
def list_keys(
    config: ConfigOpt = None, data: DataOpt = None, fmt: FormatOpt = Format.table
) -> None:
    """List write keys (their prefixes: the keys themselves are never shown again)."""
    state = _state(config, data)
    try:
        keys = state.list_keys()
    finally:
        state.close()
    rows = [
        {
            "prefix": k.prefix,
            "name": k.name,
            "created_at": _iso(k.created_at),
            "revoked_at": _iso(k.revoked_at),
            "active": k.revoked_at is None,
        }
        for k in keys
    ]
    if fmt is Format.json:
        typer.echo(orjson.dumps({"keys": rows}).decode())
        return
    if not rows:
        typer.echo("No write keys yet: beachhead keys create --name web")
        return
    from rich.console import Console

    from beachhead.cli.tables import PlainTable as Table

    table = Table("key", "name", "created", "status")
    for r in rows:
        status = "active" if r["active"] else f"revoked {r['revoked_at']}"
        table.add_row(f"{r['prefix']}…", str(r["name"]), str(r["created_at"]), status)
    Console(width=120).print(table)


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The full write key.")],
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Revoke a write key: the ingest API refuses it (401) within about a second (a
    running server keeps the keys it checked for a second)."""
    state = _state(config, data)
    try:
        done = state.revoke_key(key)
    finally:
        state.close()
    if not done:
        raise fail("no active write key matches that key")
    if fmt is Format.json:
        typer.echo(orjson.dumps({"revoked": True, "prefix": key[:10]}).decode())
    else:
        typer.echo(f"Revoked write key {key[:10]}…")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app)
