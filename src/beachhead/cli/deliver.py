"""``beachhead deliver``: send the alerts that are due from the outbox, then exit (for cron).

The outbox lives in the state store, which every process opens directly (SQLite in WAL
mode or PostgreSQL), so this runs safely beside ``beachhead serve`` (which delivers
continuously) and beside other ``deliver`` processes: each delivery is claimed before it
is sent. Failed attempts are not an error of the command (they are retried later, as the
table says); the exit code is non-zero only when the command itself cannot run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, fail, open_state

if TYPE_CHECKING:  # the deliverer and the stores load in the command: `--help` stays quick
    from beachhead.alerts.deliver import DeliveryReport


def report_json(report: DeliveryReport) -> dict[str, Any]:
    from beachhead.alerts.events import iso

    return {
        "delivered": report.delivered,
        "failed": report.failed,
        "gave_up": report.gave_up,
        "waiting": report.waiting,
        "deliveries": [
            {
                "id": o.event_id,
                "target": o.target,
                "kind": o.kind,
                "alerts": o.alerts,
                "result": o.result,
                "attempts": o.attempts,
                "status_code": o.status_code,
                "error": o.error,
                "next_attempt_at": iso(o.next_attempt_at) if o.next_attempt_at else None,
            }
            for o in report.outcomes
        ],
    }


def _print_table(report: DeliveryReport) -> None:
    from rich.console import Console

    from beachhead.alerts.events import iso
    from beachhead.cli.tables import PlainTable as Table

    console = Console(width=140)
    summary = Table("delivered", "failed", "gave up", "waiting", title="Alert deliveries")
    summary.add_row(
        str(report.delivered), str(report.failed), str(report.gave_up), str(report.waiting)
    )
    console.print(summary)
    if not report.outcomes:
        return
    detail = Table("target", "event id", "alerts", "result", "attempt", "detail")
    for o in report.outcomes:
        note = o.error or (f"HTTP {o.status_code}" if o.status_code else "")
        if o.next_attempt_at is not None:
            note += f"; next try {iso(o.next_attempt_at.replace(microsecond=0))}"
        detail.add_row(
            o.target, o.event_id, str(o.alerts), o.result.replace("_", " "), str(o.attempts), note
        )
    console.print(detail)


def deliver(config: ConfigOpt = None, data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Send the alerts that are due (Slack, webhooks), retry failed ones later, and exit."""
    from sqlalchemy.exc import SQLAlchemyError

    from beachhead.alerts.deliver import Deliverer
    from beachhead.alerts.settings import AlertSettings
    from beachhead.config import SettingsError, load_settings, read_settings

    settings = load_settings(config, data)
    try:
        alert_settings = read_settings(AlertSettings)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    state = open_state(settings)
    # each outcome is in the output already; the deliverer's warnings are for ``serve``
    logging.getLogger("beachhead.alerts").setLevel(logging.ERROR)
    deliverer = Deliverer(state, alert_settings)
    try:
        report = deliverer.run_once()
    except SQLAlchemyError as exc:
        raise fail(f"the state store failed: {exc}".splitlines()[0]) from exc
    finally:
        deliverer.close()
        state.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps(report_json(report)).decode())
    else:
        _print_table(report)


def register(app: typer.Typer) -> None:
    app.command("deliver")(deliver)
