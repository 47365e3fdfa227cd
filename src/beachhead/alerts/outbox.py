"""Queue alerts: ``enqueue(session, config, event)`` adds one outbox row per matching target.

Called by the lifecycle inside ITS transaction (nothing is committed here), so an alert
exists exactly when the change it reports is committed: no alert for a rolled-back
evaluation, no change without its alert.

Matching, for every ``alerts:`` entry of the config: ``on`` equals the event's type; when
``pqls`` is given the event's PQL is in it; when ``touch`` is given the event's touch is in
it. Each of the entry's targets (``slack``, ``webhook``; an entry may have both) gets a row,
unless an earlier entry already queued the event for the same destination (the same kind
and URL, as written): one event goes to one destination once, as the first matching entry
in the file says (alone or in its digest). Without that, a broad alert and a filtered one
to the same endpoint would send one event twice under two idempotency keys.

Keys and timing:

- without ``bundle``: a fresh random idempotency key; due at once.
- with ``bundle: 15m``: the window is the aligned 15-minute slot of the enqueue time (UTC,
  counted from the epoch); the key is derived from the target and the window, so every row
  of that target and window shares it and they go as ONE digest once the window has closed.
- ``give_up_at`` = due time + ``BEACHHEAD_ALERT_GIVE_UP``.

Targets are stored as written (``${NAME}`` unresolved; resolved at delivery), so a
secret put in the environment later is picked up by the next retry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.orm import Session

from beachhead.alerts.events import AlertEvent
from beachhead.alerts.settings import AlertSettings
from beachhead.rules.model import Alert, Config
from beachhead.store.outbox_models import PENDING, OutboxRow, add_rows

_EPOCH = datetime(1970, 1, 1)


def _utc_naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def system_now() -> datetime:
    """Now, as the naive UTC the state store keeps."""
    return datetime.now(UTC).replace(tzinfo=None)


def matches(alert: Alert, event: AlertEvent) -> bool:
    """Does ``alert`` want ``event``? (``on``, then the optional ``pqls`` and ``touch``.)"""
    if str(alert.on) != event.type:
        return False
    if alert.pqls is not None and event.effective_pql not in alert.pqls:
        return False
    return alert.touch is None or event.effective_touch in {str(t) for t in alert.touch}


def targets_of(index: int, alert: Alert) -> list[tuple[str, str, dict[str, Any]]]:
    """``(target_key, kind, target)`` for each destination of one ``alerts:`` entry."""
    base = alert.name or f"alerts[{index}]"
    out: list[tuple[str, str, dict[str, Any]]] = []
    if alert.slack is not None:
        out.append((f"{base}.slack", "slack", {"webhook_url": alert.slack.webhook_url}))
    if alert.webhook is not None:
        out.append(
            (
                f"{base}.webhook",
                "webhook",
                {"url": alert.webhook.url, "secret": alert.webhook.secret},
            )
        )
    return out


def slack_names(config: Config, event: AlertEvent) -> dict[str, str]:
    """What a Slack message shows beside the keys, kept with the event: the PQL's name
    (``pql_name``) and the rep's Slack member id (``rep_slack``, from ``teams[].reps[]
    .slack``) for a mention. Webhook bodies do not carry them (``webhook.event_body``)."""
    out: dict[str, str] = {}
    pql = event.effective_pql
    name = next((p.name for p in config.pqls if p.key == pql), None)
    if name:
        out["pql_name"] = name
    rep = (event.qualification or {}).get("rep")
    if rep:
        ids = {
            r.email.lower(): r.slack for t in config.teams for r in t.reps if r.slack is not None
        }
        if (member := ids.get(str(rep).lower())) is not None:
            out["rep_slack"] = member
    return out


def destination(kind: str, target: dict[str, Any]) -> tuple[str, str]:
    """Where a target sends: its kind and URL as written (``${NAME}`` unresolved)."""
    return kind, str(target["webhook_url"] if kind == "slack" else target["url"])


def alert_warnings(config: Config) -> list[str]:
    """What ``beachhead check`` warns about in ``alerts:``: an entry sending where an
    earlier one sends (an event both match goes once, as the earlier says), and filters
    that can never match (a ``stage_changed`` event has no PQL and no touch)."""
    out: list[str] = []
    earlier: dict[tuple[str, str], list[tuple[str, Alert]]] = {}
    for index, alert in enumerate(config.alerts):
        name = alert.name or f"alerts[{index}]"
        if str(alert.on) == "stage_changed":
            filters = [
                k for k, v in (("pqls", alert.pqls), ("touch", alert.touch)) if v is not None
            ]
            if filters:
                out.append(
                    f"{name}: a stage_changed event has no PQL and no touch, so its "
                    f"{' and '.join(filters)} filter never matches and the alert never fires"
                )
        for _key, kind, target in targets_of(index, alert):
            where = destination(kind, target)
            before = earlier.setdefault(where, [])
            other = next((n for n, a in before if _overlap(a, alert)), None)
            if other is not None:
                out.append(
                    f"{name}: sends to the same {kind} URL as {other}; an event both "
                    f"match is sent there once, as {other} says"
                )
            before.append((name, alert))
    return out


def _overlap(a: Alert, b: Alert) -> bool:
    """Whether one event can match both entries: the same ``on``, and ``pqls`` and
    ``touch`` filters that share a value where both have one (entries on different events
    may share a URL freely: nothing is held back)."""
    if str(a.on) != str(b.on):
        return False
    for x, y in ((a.pqls, b.pqls), (a.touch, b.touch)):
        if x is not None and y is not None and not {str(v) for v in x} & {str(v) for v in y}:
            return False
    return True


def window_of(now: datetime, span: timedelta) -> tuple[datetime, datetime]:
    """The aligned ``[start, end)`` slot of length ``span`` holding ``now`` (naive UTC)."""
    step = int(span.total_seconds())
    offset = int((now - _EPOCH).total_seconds())
    start = _EPOCH + timedelta(seconds=offset - offset % step)
    return start, start + timedelta(seconds=step)


def digest_key(target_key: str, target: dict[str, Any], window_start: datetime) -> str:
    """The event id of one target's digest for one window (stable, so all rows share it)."""
    raw = orjson.dumps([target_key, target, window_start.isoformat()], option=orjson.OPT_SORT_KEYS)
    return "dg_" + hashlib.sha256(raw).hexdigest()[:40]


def build_rows(
    config: Config,
    event: AlertEvent,
    now: datetime,
    settings: AlertSettings,
) -> list[OutboxRow]:
    """The outbox rows ``event`` needs under ``config`` (pure: nothing is stored)."""
    rows: list[OutboxRow] = []
    payload = orjson.dumps({**event.to_dict(), **slack_names(config, event)}).decode()
    queued: set[tuple[str, str]] = set()  # the destinations this event goes to already
    for index, alert in enumerate(config.alerts):
        if not matches(alert, event):
            continue
        for target_key, kind, target in targets_of(index, alert):
            where = destination(kind, target)
            if where in queued:
                continue
            queued.add(where)
            bundle_seconds: int | None = None
            window_end: datetime | None = None
            if alert.bundle is not None:
                start, window_end = window_of(now, alert.bundle.delta)
                bundle_seconds = int(alert.bundle.delta.total_seconds())
                key = digest_key(target_key, target, start)
                due = window_end
            else:
                key = "ev_" + uuid.uuid4().hex
                due = now
            rows.append(
                OutboxRow(
                    idempotency_key=key,
                    target_key=target_key,
                    target_kind=kind,
                    target=orjson.dumps(target).decode(),
                    event_type=event.type,
                    payload=payload,
                    bundle_seconds=bundle_seconds,
                    window_end=window_end,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=due,
                    created_at=now,
                    give_up_at=due + settings.alert_give_up,
                )
            )
    return rows


def enqueue(
    session: Session,
    config: Config,
    event: AlertEvent,
    *,
    clock: Callable[[], datetime] = system_now,
    settings: AlertSettings | None = None,
) -> int:
    """Insert one outbox row per matching alert target in the caller's transaction.

    Returns how many rows were added (0 when no alert matches). Does not commit: the
    rows become visible to deliverers when the caller commits.
    """
    rows = build_rows(config, event, _utc_naive(clock()), settings or AlertSettings())
    if rows:
        add_rows(session, rows)
    return len(rows)
