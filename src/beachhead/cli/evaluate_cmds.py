"""``beachhead evaluate`` and ``beachhead qualifications``: the lifecycle from the shell.

Thin: the work is ``lifecycle_service``. ``evaluate`` runs as the ``evaluate`` service, so
with a live ``beachhead serve`` on the same embedded data folder it runs inside the server
(which holds DuckDB). ``qualifications`` only reads the state store, which every process
opens directly (SQLite in WAL mode, or PostgreSQL), so it needs no forwarding.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail, open_state

if TYPE_CHECKING:  # the lifecycle and the stores load in the commands: `--help` stays quick
    from beachhead.config import Settings

AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate at this time (ISO-8601; no zone = UTC) [default: now]."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; record nothing.")
]
ReplayOpt = Annotated[
    str | None,
    typer.Option(
        "--replay-from",
        help="Evaluate at this time, then every --step, up to --as-of (demo, backtests).",
    ),
]
StepOpt = Annotated[
    str | None,
    typer.Option("--step", help="Replay step with --replay-from: 30m, 12h, 1d, 1w [default: 1d]."),
]
StatusOpt = Annotated[
    str | None,
    typer.Option(
        "--status",
        help="open (not closed), new, assigned, working, converted, disqualified, expired.",
    ),
]
PqlOpt = Annotated[str | None, typer.Option("--pql", help="Only this PQL key.")]


def _config_path(settings: Settings) -> str:
    from beachhead.rules.load import unreadable

    path = Path(settings.config)
    problem = unreadable(path)
    if problem is not None:
        raise fail(problem)
    return str(path.resolve())


def inbox_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows as the inbox shows them (definitions.md, ``qualify.lifecycle.inbox``):
    per entity its highest-priority qualification first (ties by PQL key) with the
    entity's others right after it; the entities by that first one. (The JSON stays
    sorted by PQL, then entity, as interfaces.md says.)"""
    from beachhead.qualify.lifecycle import inbox_groups

    groups = inbox_groups(
        rows,
        lambda r: (r["level"], r["entity_id"]),
        lambda r: (-r["priority"], r["pql"], r["entity_id"]),
    )
    return [r for group in groups for r in group]


def _table(rows: list[dict[str, Any]], title: str, created: bool = False) -> None:
    """The inbox table; ``created``: a last column marks what this evaluation created."""
    from rich.console import Console

    from beachhead.cli.tables import PlainTable as Table

    console = Console(width=160)
    if not rows:
        console.print(f"{title}: none", markup=False, highlight=False)
        return
    table = Table(
        "pql",
        "priority",
        "entity",
        "account",
        "status",
        "touch",
        "team",
        "rep",
        "qualified",
        *(["created"] if created else []),
        title=title,
    )
    for r in inbox_order(rows):
        table.add_row(
            r["pql"],
            str(r["priority"]),
            r["entity_id"],
            r["account_id"] or "",
            r["status"],
            r["touch"],
            r["team"] or "",
            r["rep"] or "",
            r["qualified_at"],
            *(["yes" if r["is_new"] else ""] if created else []),
        )
    console.print(table)


def _replay_here(settings: Settings, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Replay in this process with a progress bar, unless a live server holds the store."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from beachhead.lifecycle_service import now_utc, parse_time, read_config, run_replay
    from beachhead.runtime import find_server, open_runtime

    if settings.embedded and find_server(settings) is not None:
        return None
    config = read_config(payload["config"])
    start = parse_time(payload["replay_from"], "--replay-from")
    end = parse_time(payload["as_of"]) if payload.get("as_of") else now_utc()
    step = timedelta(seconds=payload["step_seconds"])
    err = Console(stderr=True)
    with (
        open_runtime(settings) as rt,
        Progress(
            TextColumn("replaying {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar,
    ):
        task = bar.add_task("", total=None)

        def progress(i: int, n: int, t: datetime) -> None:
            bar.update(task, completed=i, total=n, description=t.date().isoformat())

        outcome, steps = run_replay(rt, config, start, end, step, payload["dry_run"], progress)
    return {**outcome.to_json(), "steps": steps}


def _err_progress(text: str) -> None:
    from rich.console import Console

    err = Console(stderr=True)
    if err.is_terminal:
        err.print(text, markup=False, highlight=False)


def evaluate(
    as_of: AsOfOpt = None,
    dry_run: DryRunOpt = False,
    replay_from: ReplayOpt = None,
    step: StepOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Evaluate scores, stages and PQLs; record qualifications, route them, queue alerts."""
    from beachhead.config import load_settings
    from beachhead.lifecycle_service import parse_time
    from beachhead.rules.durations import parse_duration
    from beachhead.runtime import ServiceError, call_service

    if step is not None and replay_from is None:  # a usage error, before any work
        raise fail("--step needs --replay-from (it is the step of a replay)", 2)
    settings = load_settings(config, data)
    payload: dict[str, Any] = {"config": _config_path(settings), "dry_run": dry_run}
    try:
        if as_of is not None:
            parse_time(as_of)
            payload["as_of"] = as_of
        if replay_from is not None:
            parse_time(replay_from, "--replay-from")
            try:
                payload["step_seconds"] = parse_duration(step or "1d").delta.total_seconds()
            except ValueError as exc:
                raise ServiceError(f"--step: {exc}") from exc
            payload["replay_from"] = replay_from
        result = _replay_here(settings, payload) if replay_from is not None else None
        if result is None:
            _err_progress("evaluating…")
            result = call_service(settings, "evaluate", payload)
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    if fmt is Format.json:
        typer.echo(orjson.dumps(result).decode())
        return
    quals = result["qualifications"]
    new = sum(1 for q in quals if q["is_new"])
    verb = "would be created" if dry_run else "created"
    title = f"Open qualifications at {result['as_of']}{' (dry run)' if dry_run else ''}"
    _table(quals, title, created=True)
    if replay_from is not None:
        typer.echo(f"{len(result.get('steps', []))} evaluations replayed")
    typer.echo(f"{len(quals)} open, {new} {verb}")


def qualifications(
    status: StatusOpt = None,
    pql: PqlOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """The inbox from the command line: every qualification, or those of --status/--pql.

    The table is in inbox order (per entity the highest priority first, its other
    qualifications beside it); the JSON is sorted by PQL, then entity. The definitions
    are read (and a bad file is an error), as by every command."""
    from beachhead.config import load_settings
    from beachhead.lifecycle_service import list_qualifications, qualification_json, read_config
    from beachhead.runtime import ServiceError

    settings = load_settings(config, data)
    try:
        definitions = read_config(_config_path(settings))
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    if pql is not None and pql not in {p.key for p in definitions.pqls}:
        # not an error: a PQL taken out of the definitions keeps its qualifications
        typer.echo(f"warning: PQL {pql!r} is not in the definitions", err=True)
    state = open_state(settings)
    try:
        rows = [qualification_json(q) for q in list_qualifications(state, status, pql)]
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    finally:
        state.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps({"qualifications": rows}).decode())
        return
    _table(rows, "Qualifications" + (f" ({status})" if status else ""))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
    app.command("qualifications")(qualifications)
