"""The deliverer: claim what is due in the outbox, send it, record the outcome.

``Deliverer(state).run_once()`` sends every delivery due when it starts and returns a
``DeliveryReport``; ``beachhead deliver`` calls it once (cron), ``serve`` calls it every
few seconds (``web/alerts_worker.py``).

One delivery is one group of outbox rows sharing an idempotency key (an alert, or a
digest of a bundle window). For each:

1. claim it (``store.outbox_models.claim_due``: rows go to ``sending`` under a lease,
   committed before anything is sent);
2. resolve ``${NAME}`` in the URL and secret (a missing variable is a failed attempt with
   that reason, retried like any other: setting the variable later fixes it);
3. POST it (Slack: the Block Kit message; webhook: the signed body) with a timeout;
4. any 2xx: ``delivered``; otherwise (another status, including a 3xx, which is not
   followed; a timeout; a refused connection) ``pending`` again at now + backoff, or
   ``gave_up`` when the give-up time has passed.

At the end of a run, settled rows older than ``BEACHHEAD_ALERT_KEEP`` are deleted.

Backoff: ``BEACHHEAD_ALERT_BACKOFF * 2**(attempts-1)``, capped at
``BEACHHEAD_ALERT_BACKOFF_MAX``, times a jitter factor in [0.5, 1) (``rand``); never later
than the give-up time, so the last try happens at it. A ``Retry-After`` answer (Slack's
429) is honoured as the least delay. ``clock`` and ``rand`` are injectable for tests.

What "never sent twice" means here, honestly: the project sends a delivery again only
when it does not know it arrived. If the process dies after the receiver answered 2xx
but before the outcome is committed, the lease runs out and a later run sends it again
with the SAME ``X-Beachhead-Event-Id``; receivers deduplicate on that header. Two live
deliverers never hold the same delivery at once (the claim), provided the lease is longer
than one attempt (``AlertSettings.effective_lease`` ensures it).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from beachhead.alerts import slack, webhook
from beachhead.alerts.outbox import system_now
from beachhead.alerts.settings import AlertSettings
from beachhead.rules.model import MissingEnvVar, resolve_env
from beachhead.store.outbox_models import (
    Claim,
    OutboxRow,
    claim_due,
    counts,
    finish_delivered,
    finish_failed,
    prune,
)
from beachhead.store.state import StateStore

log = logging.getLogger("beachhead.alerts")

DELIVERED = "delivered"
FAILED = "failed"
GAVE_UP = "gave_up"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one delivery in this run."""

    event_id: str
    target: str
    kind: str
    alerts: int
    result: str  # delivered | failed | gave_up
    attempts: int
    error: str | None = None
    status_code: int | None = None
    next_attempt_at: datetime | None = None


@dataclass(slots=True)
class DeliveryReport:
    outcomes: list[Outcome] = field(default_factory=list)
    waiting: int = 0

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def delivered(self) -> int:
        return self.count(DELIVERED)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def gave_up(self) -> int:
        return self.count(GAVE_UP)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request ready to go (URLs and secrets resolved)."""

    url: str
    body: bytes
    headers: dict[str, str]


class DeliveryError(Exception):
    """A failed attempt, with the least delay the receiver asked for (Retry-After)."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


def build_request(claim: Claim, settings: AlertSettings) -> Request:
    """The request of one claimed delivery; ``MissingEnvVar`` when a variable is unset."""
    first = claim.rows[0]
    target: dict[str, Any] = orjson.loads(first.target)
    events = [orjson.loads(r.payload) for r in claim.rows]
    bundled = first.bundle_seconds is not None
    if first.target_kind == "slack":
        url = resolve_env(str(target["webhook_url"]))
        payload = (
            slack.digest_payload(events, settings.public_url)
            if bundled
            else slack.event_payload(events[0], settings.public_url)
        )
        body = orjson.dumps(payload)
        hdrs = {"Content-Type": "application/json", webhook.EVENT_ID_HEADER: claim.key}
        return Request(url, body, hdrs)
    url = resolve_env(str(target["url"]))
    secret = resolve_env(str(target["secret"])) if target.get("secret") else None
    if bundled:
        end = first.window_end
        start = end - timedelta(seconds=first.bundle_seconds or 0) if end else None
        data = webhook.digest_body(events, claim.key, start, end)
    else:
        data = webhook.event_body(events[0], claim.key)
    body = webhook.encode(data)
    return Request(url, body, webhook.headers(claim.key, body, secret))


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


def send(client: httpx.Client, request: Request) -> int:
    """POST; the status code on 2xx, else ``DeliveryError``."""
    try:
        response = client.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc
    if 200 <= response.status_code < 300:
        return response.status_code
    snippet = response.text[:200].strip()
    raise DeliveryError(
        f"HTTP {response.status_code}" + (f": {snippet}" if snippet else ""),
        response.status_code,
        _retry_after(response),
    )


def backoff(
    attempts: int, settings: AlertSettings, rand: Callable[[], float], least: float = 0
) -> timedelta:
    """The delay before the next try after ``attempts`` failed ones (jittered)."""
    base = settings.alert_backoff.total_seconds() * 2 ** max(0, attempts - 1)
    capped = min(base, settings.alert_backoff_max.total_seconds())
    return timedelta(seconds=max(capped * (0.5 + 0.5 * rand()), least))


class Deliverer:
    """Sends due deliveries from one state store (thread-safe; one per process is enough)."""

    def __init__(
        self,
        state: StateStore,
        settings: AlertSettings | None = None,
        *,
        clock: Callable[[], datetime] = system_now,
        rand: Callable[[], float] = random.random,
        client: httpx.Client | None = None,
        workers: int | None = None,
    ) -> None:
        self.state = state
        self.settings = settings or AlertSettings()
        self.clock = clock
        self.rand = rand
        self.workers = max(1, self.settings.alert_workers if workers is None else workers)
        self._own_client = client is None
        self.client = client or httpx.Client(
            timeout=self.settings.alert_timeout.total_seconds(), follow_redirects=False
        )
        self._rand_lock = threading.Lock()

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _claim(self, due_as_of: datetime) -> Claim | None:
        now = self.clock()
        with self.state.session() as s:
            claims = claim_due(s, min(now, due_as_of), now + self.settings.effective_lease, 1)
        return claims[0] if claims else None

    def deliver(self, claim: Claim) -> Outcome:
        """Send one claimed delivery and record how it went."""
        first: OutboxRow = claim.rows[0]
        attempts = max(r.attempts for r in claim.rows) + 1
        status: int | None = None
        try:
            status = send(self.client, build_request(claim, self.settings))
        except MissingEnvVar as exc:
            error: str = str(exc)
            least = 0.0
        except DeliveryError as exc:
            error, status, least = str(exc), exc.status, exc.retry_after
        except (ValueError, KeyError, TypeError) as exc:  # a row that cannot be rendered
            error, least = f"cannot build the request: {type(exc).__name__}: {exc}", 0.0
        else:
            with self.state.session() as s:
                finish_delivered(s, claim, self.clock())
            return Outcome(
                event_id=claim.key,
                target=first.target_key,
                kind=first.target_kind,
                alerts=len(claim.rows),
                result=DELIVERED,
                attempts=attempts,
                status_code=status,
            )
        now = self.clock()
        give_up_at = min(r.give_up_at for r in claim.rows)
        next_at: datetime | None = None
        if now < give_up_at:
            with self._rand_lock:
                delay = backoff(attempts, self.settings, self.rand, least)
            next_at = min(now + delay, give_up_at)
        with self.state.session() as s:
            finish_failed(s, claim, error, next_at)
        result = FAILED if next_at is not None else GAVE_UP
        log.warning("alert %s to %s: %s (%s)", claim.key, first.target_key, error, result)
        return Outcome(
            event_id=claim.key,
            target=first.target_key,
            kind=first.target_kind,
            alerts=len(claim.rows),
            result=result,
            attempts=attempts,
            error=error,
            status_code=status,
            next_attempt_at=next_at,
        )

    def _worker(self, due_as_of: datetime, out: list[Outcome], lock: threading.Lock) -> None:
        while True:
            claim = self._claim(due_as_of)
            if claim is None:
                return
            outcome = self.deliver(claim)
            with lock:
                out.append(outcome)

    def run_once(self) -> DeliveryReport:
        """Send everything due now (not what falls due while this runs), then report."""
        started = self.clock()
        outcomes: list[Outcome] = []
        lock = threading.Lock()
        if self.workers == 1:
            self._worker(started, outcomes, lock)
        else:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="alerts") as pool:
                futures = [
                    pool.submit(self._worker, started, outcomes, lock) for _ in range(self.workers)
                ]
                for f in futures:
                    f.result()
        with self.state.session() as s:
            prune(s, self.clock() - self.settings.alert_keep)
        with self.state.session() as s:
            tally = counts(s, self.clock())
        # waiting: pending ones, and ones another (or a dead) deliverer holds under a lease
        return DeliveryReport(
            outcomes, waiting=tally.pending_waiting + tally.pending_due + tally.sending
        )
