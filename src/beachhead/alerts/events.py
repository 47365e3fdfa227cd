"""``AlertEvent``: what the lifecycle tells the alerts outbox has happened.

The lifecycle (``qualify``/``services``) builds one of these for every change an alert can
be about and hands it to ``beachhead.alerts.outbox.enqueue`` inside its own transaction, so
an alert is queued exactly when the change it describes is committed, never otherwise.

Fields:

- ``type``: ``qualified`` | ``assigned`` | ``converted`` | ``expired`` | ``stage_changed``
  (the values of ``beachhead.rules.model.AlertOn``).
- ``occurred_at``: when it happened (UTC; a naive datetime is read as UTC).
- ``qualification``: the qualification in ``evaluate --format json``'s shape (``id``,
  ``pql``, ``level``, ``entity_id``, ``account_id``, ``touch``, ``team``, ``rep``,
  ``evidence`` ...), or ``None`` for events that are not about one (``stage_changed``).
- ``pql`` / ``touch``: what the ``pqls`` and ``touch`` filters of an alert look at; when
  left ``None`` they are read from ``qualification``.
- ``account_id``: the account concerned (read from ``qualification`` when ``None``).
- ``stage_from`` / ``stage_to``: for ``stage_changed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from beachhead.rules.model import AlertOn

EVENT_TYPES: tuple[str, ...] = tuple(str(v) for v in AlertOn)


def iso(t: datetime) -> str:
    """UTC ISO-8601 with a ``Z``, the way every JSON output of the project writes times."""
    aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One change an alert can be about (see the module docstring for each field)."""

    type: str
    occurred_at: datetime
    qualification: dict[str, Any] | None = None
    pql: str | None = None
    touch: str | None = None
    account_id: str | None = None
    stage_from: str | None = None
    stage_to: str | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"alert event type must be one of {', '.join(EVENT_TYPES)}")

    @property
    def effective_pql(self) -> str | None:
        """The PQL the ``pqls`` filter compares: ``pql``, else the qualification's."""
        if self.pql is not None:
            return self.pql
        q = self.qualification or {}
        value = q.get("pql")
        return str(value) if value is not None else None

    @property
    def effective_touch(self) -> str | None:
        """The touch the ``touch`` filter compares: ``touch``, else the qualification's."""
        if self.touch is not None:
            return self.touch
        q = self.qualification or {}
        value = q.get("touch")
        return str(value) if value is not None else None

    @property
    def effective_account_id(self) -> str | None:
        if self.account_id is not None:
            return self.account_id
        q = self.qualification or {}
        value = q.get("account_id")
        return str(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form kept in the outbox (times as UTC ISO-8601 strings)."""
        return {
            "type": self.type,
            "occurred_at": iso(self.occurred_at),
            "qualification": self.qualification,
            "pql": self.effective_pql,
            "touch": self.effective_touch,
            "account_id": self.effective_account_id,
            "stage_from": self.stage_from,
            "stage_to": self.stage_to,
        }
