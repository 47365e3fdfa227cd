"""``beachhead demo generate``: write the demo company's data to a folder.

The bare ``beachhead demo`` (generate, import, evaluate and serve in one go) is wired by the
integrator later; until then it says so and exits 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail
from beachhead.demo.scale import parse_scale

demo_app = typer.Typer(
    name="demo",
    help="A realistic demo company: generate its data (and, soon, import and serve it).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@demo_app.callback()
def demo(ctx: typer.Context) -> None:
    """Make a realistic demo company's data, evaluate it, and serve the app."""
    if ctx.invoked_subcommand is None:
        typer.echo(
            "beachhead demo (generate + import + evaluate + serve) is not yet available; "
            "use `beachhead demo generate`.",
            err=True,
        )
        raise typer.Exit(2)


@demo_app.command("generate")
def generate_cmd(
    scale: Annotated[
        str, typer.Option("--scale", help="small (~200k events), medium (~1M), large (~10M) or N.")
    ] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 42,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")] = Path(
        "demo"
    ),
    end: Annotated[
        str,
        typer.Option("--end", help="Exclusive end of the 120-day window (ISO-8601, UTC)."),
    ] = "2026-12-01T00:00:00Z",
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write events.jsonl, accounts.csv, users.csv, sales_org.yml and manifest.json."""
    del config, data  # accepted for uniformity: generating needs neither
    try:
        parse_scale(scale)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    from beachhead.demo import generator  # numpy and pyarrow load only for this command

    try:
        generator.window(end)
    except ValueError as exc:
        raise fail(f"--end must be an ISO-8601 time like 2026-12-01T00:00:00Z ({exc})", 2) from None
    err = Console(stderr=True)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        labels = {"company": "simulating the company", "events": "writing events.jsonl"}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(labels.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        manifest = generator.generate(scale, seed, out, end=end, progress=report)
    seconds = time.perf_counter() - started
    if fmt is Format.json:
        typer.echo(manifest.to_json().decode(), nl=False)
        return
    typer.echo(
        f"wrote {manifest.messages:,} messages, {manifest.accounts:,} accounts and "
        f"{manifest.users:,} users to {out}/ in {seconds:.1f}s "
        f"({manifest.start} .. {manifest.end}, seed {manifest.seed})"
    )
    plans = ", ".join(f"{k} {v}" for k, v in manifest.plans.items())
    typer.echo(f"plans at the end: {plans}; upgrades: {manifest.upgrades}")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command group to the ``beachhead`` app."""
    app.add_typer(demo_app, name="demo")
