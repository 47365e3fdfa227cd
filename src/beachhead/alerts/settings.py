"""Settings of alert delivery, read from the environment (prefix ``BEACHHEAD_``).

| env | default | meaning |
|---|---|---|
| BEACHHEAD_PUBLIC_URL | http://127.0.0.1:8000 | base of the links to the app in Slack messages |
| BEACHHEAD_ALERT_GIVE_UP | 24h | how long after it is due an alert is retried before giving up |
| BEACHHEAD_ALERT_BACKOFF | 30s | the first retry's delay; each later one doubles it |
| BEACHHEAD_ALERT_BACKOFF_MAX | 1h | the longest delay between two attempts |
| BEACHHEAD_ALERT_TIMEOUT | 10s | HTTP timeout of one attempt |
| BEACHHEAD_ALERT_LEASE | 2m | how long a claimed delivery is held before another may retry it |
| BEACHHEAD_ALERT_POLL | 5s | how often ``serve`` looks for due alerts |
| BEACHHEAD_ALERT_WORKERS | 4 | deliveries sent at once by one process |
| BEACHHEAD_ALERT_KEEP | 30d | settled alerts (delivered, given up) are deleted after this |

Spans are written like ``30s``, ``15m``, ``12h``, ``1d`` (seconds allowed, unlike
definitions). The lease must exceed the timeout: a deliverer that is still waiting on a
receiver must not see its claim taken over (``effective_lease`` is at least twice the
timeout). The give-up time is fixed when an alert is queued (changing the setting
affects alerts queued afterwards).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SPAN = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_span(text: str) -> timedelta:
    """``"90s"`` -> 90 seconds. Raises ``ValueError`` naming what was expected."""
    m = _SPAN.match(text)
    if not m:
        raise ValueError(f"expected a span like 30s, 15m, 12h or 1d, got {text!r}")
    return timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2)])


class AlertSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEACHHEAD_", extra="ignore")

    public_url: str = "http://127.0.0.1:8000"
    alert_give_up: timedelta = timedelta(hours=24)
    alert_backoff: timedelta = timedelta(seconds=30)
    alert_backoff_max: timedelta = timedelta(hours=1)
    alert_timeout: timedelta = timedelta(seconds=10)
    alert_lease: timedelta = timedelta(minutes=2)
    alert_poll: timedelta = timedelta(seconds=5)
    alert_workers: int = Field(4, ge=1)  # 0 or less is an error, not quietly 1
    alert_keep: timedelta = timedelta(days=30)

    @field_validator(
        "alert_give_up",
        "alert_backoff",
        "alert_backoff_max",
        "alert_timeout",
        "alert_lease",
        "alert_poll",
        "alert_keep",
        mode="before",
    )
    @classmethod
    def _span(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_span(value)
        return value

    @property
    def effective_lease(self) -> timedelta:
        """The lease, at least twice the timeout (one attempt plus its bookkeeping)."""
        return max(self.alert_lease, self.alert_timeout * 2)
