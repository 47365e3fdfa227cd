"""``beachhead init [DIR]`` and ``beachhead check``: write and validate ``beachhead.yml``."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail

if TYPE_CHECKING:  # the rules load in the commands: `beachhead --help` stays quick
    from beachhead.rules.model import Config


def template_text() -> str:
    """The shipped template: the four standard motions, fit and usage scores, stages."""
    return (
        resources.files("beachhead.rules")
        .joinpath("templates/beachhead.yml")
        .read_text(encoding="utf-8")
    )


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Folder to write beachhead.yml into (default: where --config points, "
            "else the current folder).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing beachhead.yml.")
    ] = False,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Write a beachhead.yml with the four standard PQLs (free-to-paid, seat expansion,
    enterprise conversion, enterprise expansion), fit and usage scores, and journey stages.

    Edit it, then run `beachhead check`. An existing file is kept unless --force is given.
    """
    from beachhead.config import load_settings

    target = directory / "beachhead.yml" if directory else load_settings(config, data).config
    if target.is_dir():  # even with --force: a folder is never replaced
        raise fail(
            f"cannot write the definitions {target}: it is a folder, not a file"
            f" (`beachhead init {target}` writes {target / 'beachhead.yml'})"
        )
    if target.exists() and not force:
        raise fail(f"{target} already exists (use --force to overwrite it)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template_text(), encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write the definitions {target}: {exc.strerror or exc}") from exc
    if fmt is Format.json:
        typer.echo(orjson.dumps({"written": str(target)}).decode())
        return
    typer.echo(f"Wrote {target}. Next: edit it, then run `beachhead check`.")


def _summary(cfg: Config) -> dict[str, Any]:
    from beachhead.rules.model import iter_leaves
    from beachhead.rules.plan import plan

    p = plan(cfg)
    return {
        "valid": True,
        "scores": [
            {
                "key": s.key,
                "name": s.name,
                "level": str(s.level),
                "rules": len(s.rules),
                "bands": s.bands is not None,
            }
            for s in cfg.scores.values()
        ],
        "pqls": [
            {
                "key": q.key,
                "name": q.name,
                "level": str(q.level),
                "motion": str(q.motion),
                "priority": q.priority,
                "leaves": len(iter_leaves(q.when)),
                "touch": [str(t.level) for t in q.touch] or ["high"],
                "expires_after": q.expires_after.text,
                "cooldown": q.cooldown.text,
            }
            for q in cfg.pqls
        ],
        "stages": [{"key": s.key, "name": s.name} for s in cfg.stages],
        "teams": [
            {"key": t.key, "assign": str(t.assign), "reps": len(t.reps), "capacity": t.capacity}
            for t in cfg.teams
        ],
        "routing": len(cfg.routing),
        "alerts": len(cfg.alerts),
        "plans": list(cfg.plans),
        "features": len(p.features),
    }


def _unset_env(cfg: Config) -> list[str]:
    from beachhead.rules.model import env_refs

    names: list[str] = []
    for a in cfg.alerts:
        for text in (
            a.slack.webhook_url if a.slack else None,
            a.webhook.url if a.webhook else None,
            a.webhook.secret if a.webhook else None,
        ):
            for name in env_refs(text or ""):
                if name not in os.environ and name not in names:
                    names.append(name)
    return names


def _routing_warnings(cfg: Config) -> list[str]:
    """PQLs whose work would go to a team (low or high touch; without ``touch``: high)
    while no routing rule names one: their qualifications are recorded unassigned."""
    if cfg.routing:
        return []
    routed = [
        p.key for p in cfg.pqls if not p.touch or any(str(r.level) != "none" for r in p.touch)
    ]
    if not routed:
        return []
    return [
        f"no routing rules: qualifications of {', '.join(routed)} (low or high touch) are "
        "recorded without a team or rep (add teams: and routing:)"
    ]


def _table(path: Path, summary: dict[str, Any]) -> None:
    from rich.console import Console

    from beachhead.cli.tables import PlainTable as Table

    console = Console()
    table = Table(title=f"{path}: valid", title_justify="left")
    for col in ("kind", "key", "name", "level", "details"):
        table.add_column(col)
    for s in summary["scores"]:
        bands = "bands" if s["bands"] else "no bands"
        table.add_row(
            "score", s["key"], s["name"] or "", s["level"], f"{s['rules']} rules, {bands}"
        )
    for q in summary["pqls"]:
        kind = "pqa" if q["level"] == "account" else "pql"
        details = (
            f"{q['motion']}, priority {q['priority']}, {q['leaves']} leaves, "
            f"touch {'/'.join(q['touch'])}, expires {q['expires_after']}"
        )
        table.add_row(kind, q["key"], q["name"], q["level"], details)
    for i, s in enumerate(summary["stages"]):
        table.add_row("stage", s["key"], s["name"], "account", f"#{i + 1}")
    for t in summary["teams"]:
        cap = f"capacity {t['capacity']}" if t["capacity"] else "no cap"
        table.add_row("team", t["key"], "", "", f"{t['assign']}, {t['reps']} reps, {cap}")
    console.print(table)
    console.print(
        f"{summary['routing']} routing rules, {summary['alerts']} alerts, "
        f"{summary['features']} distinct features to compute; plans: {', '.join(summary['plans'])}"
    )


def check(config: ConfigOpt = None, data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Validate the definitions file (--config, default ./beachhead.yml).

    On success prints what it defines. On errors prints every one as
    file:line:column: path: message on stderr (e.g. `beachhead.yml:12:9:
    pqls[0].when.all[1].count: ...`) and exits 1; nothing is evaluated from an invalid file.
    """
    from beachhead.config import load_settings
    from beachhead.rules.load import ConfigError, load_config, unreadable

    path = load_settings(config, data).config
    problem = unreadable(path)
    if problem is not None:
        raise fail(problem)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        for d in exc.diagnostics:
            typer.echo(str(d), err=True)
        n = len(exc.diagnostics)
        if fmt is Format.json:
            body = {"valid": False, "errors": [d.to_dict() for d in exc.diagnostics]}
            typer.echo(orjson.dumps(body).decode())
        else:
            typer.echo(f"{n} error{'s' if n != 1 else ''} in {path}", err=True)
        raise typer.Exit(1) from None
    from beachhead.alerts.outbox import alert_warnings

    summary = _summary(cfg)
    warnings = (
        [f"environment variable {name} is not set (used by alerts)" for name in _unset_env(cfg)]
        + alert_warnings(cfg)
        + _routing_warnings(cfg)
    )
    for text in warnings:
        typer.echo(f"warning: {text}", err=True)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"file": str(path), **summary, "warnings": warnings}).decode())
        return
    _table(path, summary)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("check")(check)
