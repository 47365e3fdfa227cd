"""Signed webhook deliveries: the JSON body, its bytes and the headers (pure).

Body of one alert: ``{"type", "id", "occurred_at", "qualification"}`` (``qualification``
in ``evaluate --format json``'s shape, ``null`` for a stage change, which adds
``account_id``, ``stage_from`` and ``stage_to``). A digest:
``{"type", "id", "occurred_at", "window": {"start", "end"}, "count", "qualifications": [...]}``
(stage changes in ``"stage_changes"``). ``occurred_at`` of a digest is its latest event's.

Headers: ``Content-Type: application/json``, ``X-Beachhead-Event-Id`` (the idempotency
key, the same on every retry) and, when the target has a ``secret``,
``X-Beachhead-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>``. A receiver
verifies with ``verify(secret, body, header)`` semantics: recompute over the raw bytes it
received (before any JSON parsing) and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson

from beachhead.alerts.events import iso

EVENT_ID_HEADER = "X-Beachhead-Event-Id"
SIGNATURE_HEADER = "X-Beachhead-Signature"


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Does ``header`` carry the signature of ``body`` under ``secret``?"""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def _stage_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": event.get("account_id"),
        "stage_from": event.get("stage_from"),
        "stage_to": event.get("stage_to"),
    }


def event_body(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": event["type"],
        "id": event_id,
        "occurred_at": event["occurred_at"],
        "qualification": event.get("qualification"),
    }
    if event["type"] == "stage_changed":
        body.update(_stage_fields(event))
    return body


def digest_body(
    events: list[dict[str, Any]],
    event_id: str,
    window_start: datetime | None,
    window_end: datetime | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": events[0]["type"] if events else "qualified",
        "id": event_id,
        "occurred_at": max(str(e["occurred_at"]) for e in events) if events else None,
        "window": {
            "start": iso(window_start) if window_start else None,
            "end": iso(window_end) if window_end else None,
        },
        "count": len(events),
        "qualifications": [e["qualification"] for e in events if e.get("qualification")],
    }
    changes = [
        {"occurred_at": e["occurred_at"], **_stage_fields(e)}
        for e in events
        if e["type"] == "stage_changed"
    ]
    if changes:
        body["stage_changes"] = changes
    return body


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return orjson.dumps(body)


def headers(event_id: str, body: bytes, secret: str | None) -> dict[str, str]:
    out = {"Content-Type": "application/json", EVENT_ID_HEADER: event_id}
    if secret:
        out[SIGNATURE_HEADER] = sign(secret, body)
    return out
