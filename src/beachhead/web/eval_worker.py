"""Continuous evaluation inside ``beachhead serve`` (no routes).

The startup hook (after ``web/ingest.py``'s, which opens the shared Runtime and starts the
ingest writer) starts ``scheduler.EvaluationLoop``: an evaluation every
``BEACHHEAD_EVAL_INTERVAL`` and soon after each ingest commit. After each recorded round
``web/alerts_worker.py``'s kick runs one delivery round at once instead of waiting for the
deliverer's next poll. ``BEACHHEAD_EVAL_INTERVAL=0`` turns continuous evaluation off.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from beachhead.runtime import Runtime
from beachhead.scheduler import ContinuousEvaluator, EvalSettings, EvaluationLoop
from beachhead.web.alerts_worker import DeliveryKick

router = APIRouter(include_in_schema=False)
log = logging.getLogger("beachhead.scheduler")


async def startup(app: FastAPI) -> None:
    settings = EvalSettings()
    if settings.eval_interval.total_seconds() <= 0:
        return
    runtime: Runtime = app.state.runtime
    writer = getattr(app.state, "ingest_writer", None)

    def commits() -> int:
        return writer.stats.commits if writer is not None else 0

    kick: DeliveryKick | None = getattr(app.state, "alerts_kick", None)
    after = kick.kick if kick is not None else None
    loop = EvaluationLoop(ContinuousEvaluator(runtime), settings, commits, after)
    loop.start()
    app.state.eval_loop = loop


async def shutdown(app: FastAPI) -> None:
    loop: EvaluationLoop | None = getattr(app.state, "eval_loop", None)
    if loop is not None:
        await run_in_threadpool(loop.stop, 120.0)
