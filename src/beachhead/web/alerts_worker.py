"""Alert delivery inside ``beachhead serve``: the deliverer in a background thread.

No routes (``router`` is empty); the startup hook starts a thread that calls
``Deliverer.run_once()`` every ``BEACHHEAD_ALERT_POLL`` (default 5 s) on its own
``StateStore``, and the shutdown hook stops it (a delivery in flight finishes first, up
to its HTTP timeout). Because every delivery is claimed before it is sent, this is safe
next to ``beachhead deliver`` from cron and next to other servers on one PostgreSQL.

Work that may queue alerts asks for one delivery round at once (``deliver_soon``): serve's
own evaluation rounds (``web/eval_worker.py``), a forwarded service such as
``beachhead evaluate`` (``web/internal.py``) and the rep actions (``web/inbox.act``). The
round runs in a kicker thread of its own, so a poll round stuck on a slow receiver does
not hold it up, and a request never waits for it.
"""

from __future__ import annotations

import logging
import threading

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from beachhead.alerts.deliver import Deliverer
from beachhead.alerts.settings import AlertSettings
from beachhead.config import Settings
from beachhead.store.state import StateStore

router = APIRouter(include_in_schema=False)
log = logging.getLogger("beachhead.alerts")


class DeliveryLoop:
    """Runs the deliverer until stopped; a failing round is logged, not fatal."""

    def __init__(self, settings: Settings, alert_settings: AlertSettings | None = None) -> None:
        self.settings = settings
        self.alert_settings = alert_settings or AlertSettings()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-deliverer", daemon=True)
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        state = StateStore(self.settings.state_url)  # startup made the data folder
        deliverer = Deliverer(state, self.alert_settings)
        try:
            while not self._stop.is_set():
                try:
                    deliverer.run_once()
                except Exception:
                    log.exception("alert delivery round failed; retrying at the next poll")
                self.rounds += 1
                self._stop.wait(self.alert_settings.alert_poll.total_seconds())
        finally:
            deliverer.close()
            state.close()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


class DeliveryKick:
    """One delivery round on request, in its own thread (sends never block evaluations)."""

    def __init__(self, state_url: str, alert_settings: AlertSettings) -> None:
        self.state_url = state_url
        self.alert_settings = alert_settings
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-kick", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def kick(self, _result: object = None) -> None:
        """Ask for one round (``_result``: an evaluation round's, when it calls)."""
        self._wanted.set()

    def _run(self) -> None:
        state = StateStore(self.state_url)
        deliverer = Deliverer(state, self.alert_settings)
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


def deliver_soon(app: FastAPI) -> None:
    """One delivery round soon, in the kicker thread (a no-op without one)."""
    kick: DeliveryKick | None = getattr(app.state, "alerts_kick", None)
    if kick is not None:
        kick.kick()


async def startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.embedded:  # both threads open the state store in the data folder
        settings.data.mkdir(parents=True, exist_ok=True)
    loop = DeliveryLoop(settings)
    loop.start()
    app.state.alerts_loop = loop
    kick = DeliveryKick(settings.state_url, loop.alert_settings)  # the settings read once
    kick.start()
    app.state.alerts_kick = kick


async def shutdown(app: FastAPI) -> None:
    loop: DeliveryLoop | None = getattr(app.state, "alerts_loop", None)
    if loop is not None:
        timeout = loop.alert_settings.alert_timeout.total_seconds() * 2 + 5
        await run_in_threadpool(loop.stop, timeout)
    kick: DeliveryKick | None = getattr(app.state, "alerts_kick", None)
    if kick is not None:
        await run_in_threadpool(kick.stop, 30.0)
