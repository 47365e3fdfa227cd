"""``beachhead demo`` (generate, import, replay, people, serve) and ``beachhead demo generate``.

The bare command is the newcomer's first five minutes: it builds a believable company in
its own folder (``--data``, default ``./.beachhead-demo``) and serves the app on it, printing
the URL and the sign-in. The work is ``demo/run.py``; this module draws a Rich bar per phase
(on stderr) and prints the result (on stdout).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, PortOpt, fail
from beachhead.demo.run import DEFAULT_DIR, REPLAY_DAYS, DemoResult
from beachhead.demo.scale import parse_scale
from beachhead.runtime import ServiceError

demo_app = typer.Typer(
    name="demo",
    help="A realistic demo company: build it and serve the app on it (or only generate its files).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@demo_app.callback()
def demo(
    ctx: typer.Context,
    scale: Annotated[
        str, typer.Option("--scale", help="small (~200k events), medium (~1M), large (~10M) or N.")
    ] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same company.")] = 42,
    host: Annotated[
        str | None, typer.Option("--host", help="[env BEACHHEAD_HOST; 127.0.0.1]")
    ] = None,
    port: PortOpt = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Build everything, then exit (tests, CI).")
    ] = False,
    replay_days: Annotated[
        int,
        typer.Option("--replay-days", help="Days of daily evaluations (0: one at the end)."),
    ] = REPLAY_DAYS,
    password: Annotated[
        str | None,
        typer.Option("--password", help="Password of every demo person [default: a new one]."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Evaluate these definitions instead of the template plus the demo sales org.",
        ),
    ] = None,
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="The demo's own folder; a demo already there is replaced.",
        ),
    ] = DEFAULT_DIR,
    fmt: FormatOpt = Format.table,
) -> None:
    """Make a realistic demo company's data, evaluate it, and serve the app."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        parse_scale(scale)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    from beachhead.config import load_settings
    from beachhead.demo import run
    from beachhead.rules.load import unreadable

    problem = None if config is None else unreadable(config)
    if problem is not None:  # before any work
        raise fail(problem, 2)

    env = load_settings()
    sock = url = None
    try:
        if not no_serve:
            sock, url = run.bind(host or env.host, env.port if port is None else port)
        with _PhaseBars() as bars:
            result = run.build_demo(data, scale, seed, config, replay_days, password, phases=bars)
            if sock is None or url is None:
                bars.stop()
                _report(result, None, fmt)
                return
            bars.begin("serve", None)
            ready_at = time.perf_counter()

            cpu_at = time.process_time()

            def ready(real_url: str) -> None:
                result.timings["serve"] = time.perf_counter() - ready_at
                result.cpu["serve"] = time.process_time() - cpu_at
                bars.end("serve")
                bars.stop()
                _report(result, real_url, fmt)

            run.serve_demo(result.settings, sock, url, ready)
    except (run.DemoError, ServiceError, ValueError) as exc:  # ValueError: a short password
        if sock is not None:
            sock.close()
        raise fail(str(exc).splitlines()[0], 2 if isinstance(exc, run.DemoError) else 1) from None


_LABELS = {
    "generate": "generate  the company's data",
    "import": "import    through the importers",
    "replay": "replay    a day at a time",
    "people": "people    admin and reps",
    "serve": "serve     start the app",
}


class _PhaseBars:
    """A Rich bar per phase on stderr; a phase's bar appears when the phase begins."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self.tasks: dict[str, TaskID] = {}
        self._stopped = False

    def __enter__(self) -> _PhaseBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.tasks and not self._stopped:  # started by the first phase
            self._stopped = True
            self.progress.stop()

    def begin(self, phase: str, total: int | None) -> None:
        if not self.tasks:
            self.progress.start()
        self.tasks[phase] = self.progress.add_task(_LABELS.get(phase, phase), total=total)

    def advance(self, phase: str, done: int, total: int | None = None) -> None:
        task = self.tasks.get(phase)
        if task is not None:
            if total is not None:
                self.progress.update(task, total=total)
            self.progress.update(task, completed=done)

    def end(self, phase: str) -> None:
        task = self.tasks.get(phase)
        if task is not None:
            total = self.progress.tasks[task].total or 1
            self.progress.update(task, total=total, completed=total)
            self.progress.stop_task(task)


def _evaluations(result: DemoResult) -> str:
    if result.evaluations == 1:
        return f"1 evaluation at {result.as_of:%Y-%m-%d}"
    return (
        f"{result.evaluations} daily evaluations, {result.replay_from:%Y-%m-%d} to "
        f"{result.as_of:%Y-%m-%d}"
    )


def _load() -> str:
    """The 1-minute load average ("n/a" where the OS has none): timings depend on it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "n/a"


def _report(result: DemoResult, url: str | None, fmt: Format) -> None:
    """What was built and how to sign in: JSON alone on stdout, or lines for people."""
    if fmt is Format.json:
        typer.echo(orjson.dumps({"url": url, **result.to_json()}).decode())
        return
    out = Console(highlight=False, soft_wrap=True)

    def say(text: str) -> None:
        out.print(text, markup=False)

    if result.note:
        say(f"({result.note})")
    quals = ", ".join(f"{k} {v}" for k, v in result.qualifications.items()) or "none"
    statuses = ", ".join(f"{k} {v}" for k, v in result.statuses.items()) or "none"
    times = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    cpu = ", ".join(f"{k} {v:.1f}s" for k, v in result.cpu.items())
    say(
        f"Built {result.messages:,} messages, {result.accounts:,} accounts and "
        f"{result.users:,} users in {result.root}/ "
        f"({_evaluations(result)}; {result.rejected} rejected lines)"
    )
    say(f"Qualifications: {quals} ({statuses}); {result.stage_moves} stage moves")
    say(f"Timings: {times} (wall clock; load average {_load()})")
    if cpu:
        say(f"CPU:     {cpu} (this process, all threads)")
    say("")
    if url is not None:
        say(f"Beachhead demo is serving on {url}")
    say(f"  Sign in:   {result.admin.email}")
    say(f"  Password:  {result.password}")
    reps = [p for p in result.people if p.role == "rep"]
    if reps:
        say(f"  Reps (same password): {', '.join(f'{p.email} ({p.team})' for p in reps)}")
    say(f"  Definitions: {result.settings.config}")
    if url is not None:
        say("Press Ctrl-C to stop. (The sign-in is kept in " + f"{result.root}/demo.json.)")
    else:
        say(
            f"Serve it later with: beachhead serve --data {result.root} "
            f"--config {result.settings.config}"
        )
    sys.stdout.flush()


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
