"""Continuous evaluation: what ``beachhead serve`` runs in the background.

``ContinuousEvaluator.run_once()`` is one recorded evaluation at "now": the Evaluation
from the ``IncrementalEvaluator`` (only the entities that can have changed since its last
step are recomputed; identical to a full evaluation), then the same lifecycle step as
``beachhead evaluate`` (``qualify.lifecycle.evaluate_step``: create, expire, convert,
route) and the alert outbox, in one transaction under the lifecycle lock.

``EvaluationLoop`` calls it on a schedule (``BEACHHEAD_EVAL_INTERVAL``, default 60 s; 0
turns continuous evaluation off) and soon after ingest: when the ingest writer commits new
messages, an evaluation follows once ingest has been quiet for ``BEACHHEAD_EVAL_QUIET``
(default 0.1 s) or at most ``BEACHHEAD_EVAL_DEBOUNCE`` (default 0.3 s) after the first
commit it has not seen. After an evaluation that queued alerts, the outbox is delivered
at once (a deliverer of its own, next to the polling one; deliveries are claimed, so the
two never send one twice).

Several processes on one PostgreSQL: ``store.eval_lock.evaluation_lock`` serialises the
evaluations (the ``as_of`` is chosen once the lock is held), and the lifecycle lock and its
unique index make each qualification, assignment and outbox row exist once. An evaluation
whose ``as_of`` is before the latest recorded one (another process's clock, or a
``beachhead evaluate --as-of`` in the future) is skipped, not an error.

Choices: ``as_of`` has millisecond precision (a whole second would add up to a second of
latency); a missing or invalid definitions file
skips the round with a warning (logged once per version of the file).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ibis
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from beachhead.alerts.settings import parse_span
from beachhead.engine.incremental import IncrementalEvaluator, StepInfo
from beachhead.ingest.freemail import load_free_mail
from beachhead.lifecycle_service import (
    _activity_truths,
    account_facts,
    entity_now,
    facts_builder,
    record_step,
    routing_config,
)
from beachhead.qualify import lifecycle as lc
from beachhead.rules.load import ConfigError, load_config
from beachhead.rules.model import Config
from beachhead.runtime import Runtime
from beachhead.store.eval_lock import evaluation_lock
from beachhead.store.qualifications import QualificationStore

log = logging.getLogger("beachhead.scheduler")


class EvalSettings(BaseSettings):
    """``BEACHHEAD_EVAL_*``: spans like ``60s`` or ``300ms``, or plain seconds."""

    model_config = SettingsConfigDict(env_prefix="BEACHHEAD_", extra="ignore")

    eval_interval: timedelta = timedelta(seconds=60)
    eval_debounce: timedelta = timedelta(milliseconds=300)
    eval_quiet: timedelta = timedelta(milliseconds=100)

    @field_validator("eval_interval", "eval_debounce", "eval_quiet", mode="before")
    @classmethod
    def _span(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return parse_span(value)
        return value


def now_ms() -> datetime:
    """Now, UTC, to the millisecond."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


@dataclass
class RunResult:
    """One round: what was evaluated and what the lifecycle did with it."""

    as_of: datetime
    recorded: bool
    skipped: str = ""
    created: int = 0
    alerts: int = 0
    step: StepInfo | None = None
    seconds: float = 0.0


class ContinuousEvaluator:
    """Recorded evaluations at increasing times, each as cheap as the changes allow."""

    def __init__(self, runtime: Runtime, clock: Callable[[], datetime] = now_ms) -> None:
        self.runtime = runtime
        self.clock = clock
        free_mail = frozenset(load_free_mail(runtime.settings.free_mail_file))
        self.incremental = IncrementalEvaluator(free_mail)
        self._lock = threading.Lock()
        self._config: tuple[tuple[float, int], Config] | None = None
        self._bad_config: tuple[float, int] | None = None
        self._con: ibis.BaseBackend | None = None

    def _backend(self) -> ibis.BaseBackend:
        """An Ibis connection of the evaluator's own, so ingest never waits on it.

        DuckDB: a cursor (another connection to the same database in this process; the
        writer keeps committing while the evaluation reads). PostgreSQL: a connection.
        """
        if self._con is None:
            shared = self.runtime.events.ibis()
            if shared.name == "duckdb":
                self._con = ibis.duckdb.from_connection(shared.con.cursor())
            else:
                self._con = ibis.connect(str(self.runtime.settings.database_url))
        return self._con

    def close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(Exception):
                self._con.disconnect()
            self._con = None

    def config(self) -> Config | None:
        """The definitions, re-read when the file changes; None when missing or invalid."""
        path = Path(self.runtime.settings.config)
        try:
            st = path.stat()
        except OSError:
            return None
        key = (st.st_mtime, st.st_size)
        if self._config is not None and self._config[0] == key:
            return self._config[1]
        try:
            config = load_config(path)
        except (ConfigError, OSError) as exc:
            if self._bad_config != key:
                log.warning("not evaluating: %s", str(exc).splitlines()[0])
                self._bad_config = key
            return None
        self._config = (key, config)
        return config

    def run_once(self, as_of: datetime | None = None) -> RunResult:
        """Evaluate at ``as_of`` (default: now, chosen once the lock is held) and record."""
        started = time.perf_counter()
        config = self.config()
        if config is None:
            return RunResult(as_of or self.clock(), False, "no valid definitions")
        runtime = self.runtime
        config = routing_config(runtime.state, config)  # reps marked away, as evaluate does
        store = QualificationStore(runtime.state)
        with self._lock, evaluation_lock(runtime.state):
            when = as_of or self.clock()
            with runtime.state.session() as s:
                latest = store.latest_as_of(s)
            if latest is not None and when < latest:
                return RunResult(when, False, f"before the latest recorded {latest.isoformat()}")
            info = self.incremental.step(self._backend(), config, when)
            with runtime.lock:  # the oracle reads runtime.events (only for such routing)
                truths = _activity_truths(runtime, config, info.evaluation.as_of)
            facts = facts_builder(info.evaluation, info.snapshot, truths)
            accounts = account_facts(info.evaluation, info.snapshot)
            with store.locked() as s:
                prior = store.load_prior(s)
                if prior.last_as_of is not None and when < prior.last_as_of:
                    return RunResult(when, False, "overtaken by another evaluation", step=info)
                moved = entity_now(info.evaluation, info.snapshot)
                step = lc.evaluate_step(config, prior, info.evaluation, accounts, facts, moved)
                record_step(store, s, config, step)  # also refreshes open ones' scores
        return RunResult(
            when,
            True,
            "",
            len(step.created),
            len(step.alerts) if config.alerts else 0,
            info,
            time.perf_counter() - started,
        )


class EvaluationLoop:
    """The background thread: evaluate on the schedule and soon after ingest commits.

    ``commits`` returns a counter that grows when the ingest writer commits (the writer's
    ``stats.messages``); ``after`` is called with each recorded round (delivery kick).
    """

    POLL = 0.05

    def __init__(
        self,
        evaluator: ContinuousEvaluator,
        settings: EvalSettings,
        commits: Callable[[], int],
        after: Callable[[RunResult], None] | None = None,
    ) -> None:
        self.evaluator = evaluator
        self.settings = settings
        self.commits = commits
        self.after = after
        self.rounds: list[RunResult] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="beachhead-evaluator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _due(self, now: float, pending: float | None, last_change: float, tick: float) -> bool:
        if now >= tick:
            return True
        if pending is None:
            return False
        return (
            now - pending >= self.settings.eval_debounce.total_seconds()
            or now - last_change >= self.settings.eval_quiet.total_seconds()
        )

    def _run(self) -> None:
        interval = self.settings.eval_interval.total_seconds()
        tick = time.monotonic() + interval
        seen = self.commits()
        pending: float | None = None
        last_change = 0.0
        while not self._stop.wait(self.POLL):
            now = time.monotonic()
            current = self.commits()
            if current != seen:
                seen = current
                last_change = now
                if pending is None:
                    pending = now
            if not self._due(now, pending, last_change, tick):
                continue
            pending = None
            tick = now + interval
            try:
                result = self.evaluator.run_once()
            except Exception:
                log.exception("background evaluation failed; retrying at the next round")
                self.evaluator.incremental.reset()
                continue
            self.rounds = [*self.rounds[-99:], result]
            if result.step is not None:
                log.info(
                    "evaluated at %s: %s, %d users and %d accounts in %.3f s, %d created",
                    result.as_of.isoformat(),
                    result.step.reason,
                    result.step.users,
                    result.step.accounts,
                    result.seconds,
                    result.created,
                )
            if self.after is not None and result.alerts:
                self.after(result)
        self.evaluator.close()
