"""Continuous evaluation inside ``beachhead serve`` (no routes).

The startup hook (after ``web/ingest.py``'s, which opens the shared Runtime and starts the
ingest writer) starts ``scheduler.EvaluationLoop``: an evaluation every
``BEACHHEAD_EVAL_INTERVAL`` and soon after each ingest commit. When a round queues
alerts, a small kicker thread runs one delivery round at once instead of waiting for the
deliverer's next poll. ``BEACHHEAD_EVAL_INTERVAL=0`` turns it all off.
"""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from beachhead.alerts.deliver import Deliverer
from beachhead.alerts.settings import AlertSettings
from beachhead.runtime import Runtime
from beachhead.scheduler import ContinuousEvaluator, EvalSettings, EvaluationLoop, RunResult
from beachhead.store.state import StateStore

router = APIRouter(include_in_schema=False)
log = logging.getLogger("beachhead.scheduler")


class DeliveryKick:
    """One delivery round on request, in its own thread (sends never block evaluations)."""

    def __init__(self, state_url: str) -> None:
        self.state_url = state_url
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-kick", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self, _result: RunResult | None = None) -> None:
        self._wanted.set()

    def _run(self) -> None:
        state = StateStore(self.state_url)
        deliverer = Deliverer(state, AlertSettings())
        try:
            while True:
                self._wanted.wait()
                if self._stop.is_set():
                    break
                self._wanted.clear()
                try:
                    deliverer.run_once()
                except Exception:
                    log.exception("immediate delivery failed; the deliverer's poll retries it")
        finally:
            deliverer.close()
            state.close()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


async def startup(app: FastAPI) -> None:
    settings = EvalSettings()
    if settings.eval_interval.total_seconds() <= 0:
        return
    runtime: Runtime = app.state.runtime
    writer = getattr(app.state, "ingest_writer", None)

    def commits() -> int:
        return writer.stats.commits if writer is not None else 0

    kick = DeliveryKick(app.state.settings.state_url)
    kick.start()
    loop = EvaluationLoop(ContinuousEvaluator(runtime), settings, commits, kick.kick)
    loop.start()
    app.state.eval_loop = loop
    app.state.eval_kick = kick


async def shutdown(app: FastAPI) -> None:
    loop: EvaluationLoop | None = getattr(app.state, "eval_loop", None)
    if loop is not None:
        await run_in_threadpool(loop.stop, 120.0)
    kick: DeliveryKick | None = getattr(app.state, "eval_kick", None)
    if kick is not None:
        await run_in_threadpool(kick.stop, 30.0)
