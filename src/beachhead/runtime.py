"""What a command or the server works with: the settings and the two stores, opened lazily.

It also holds the design that lets several processes share one data folder (see
docs/architecture.md, "One data folder, several processes"):

- DuckDB allows one writing process per file. ``beachhead serve`` keeps the events store
  open and advertises itself in ``<data>/serve.json`` (pid, url, token; mode 0600).
- ``call_service(settings, name, payload)`` runs a named service: inside the live server
  when there is one (``POST /_internal/services/<name>`` with the token), else locally,
  waiting up to ``LOCK_WAIT_SECONDS`` for another CLI process to let go of DuckDB.
- Services are plain functions ``(Runtime, payload) -> dict`` registered in ``services``,
  so the same code runs in the server and in the CLI, and results cross HTTP as JSON.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from beachhead.config import Settings

if TYPE_CHECKING:
    from beachhead.store.events import EventStore
    from beachhead.store.state import StateStore

LOCK_WAIT_SECONDS = 10.0
SERVE_FILE = "serve.json"

Service = Callable[["Runtime", dict[str, Any]], dict[str, Any]]
services: dict[str, Service] = {}

# Modules that register services on import. A missing module is skipped, so the list can
# name modules that other pieces of work are still writing.
SERVICE_MODULES = [
    "beachhead.services",
    "beachhead.ingest.importer",
    "beachhead.ingest.imports",
    "beachhead.lifecycle_service",
    "beachhead.entities_service",  # users, accounts
]


class ServiceError(Exception):
    """A one-line, user-facing failure of a service (bad input, busy store, unknown name)."""


class EventStoreBusy(ServiceError):
    """DuckDB is held by another process and did not come free in time."""


def service(name: str) -> Callable[[Service], Service]:
    """Decorator: register ``fn`` as the service ``name``."""

    def deco(fn: Service) -> Service:
        services[name] = fn
        return fn

    return deco


def load_services() -> dict[str, Service]:
    for mod in SERVICE_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
    return services


def _is_lock_error(exc: BaseException) -> bool:
    msg = str(exc)
    return "Could not set lock" in msg or "Conflicting lock" in msg


def _lock_holder(exc: BaseException) -> str:
    m = re.search(r"\(PID (\d+)\)", str(exc))
    return f"process {m.group(1)}" if m else "another process"


class Runtime:
    """Settings plus the events and state stores, each opened (and migrated) on first use.

    In the server, several threads share one Runtime: hold ``lock`` while using ``events``
    (the DuckDB connection is not safe for concurrent use from several threads).
    """

    def __init__(self, settings: Settings, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.settings = settings
        self.lock_wait = lock_wait
        self.lock = threading.RLock()
        self._open_lock = threading.Lock()
        self._events: EventStore | None = None
        self._state: StateStore | None = None

    @property
    def events(self) -> EventStore:
        if self._events is None:
            with self._open_lock:
                if self._events is None:
                    self._events = self._open_events(self.lock_wait)
        return self._events

    @property
    def state(self) -> StateStore:
        if self._state is None:
            with self._open_lock:
                if self._state is None:
                    from beachhead.store.state import StateStore

                    if self.settings.embedded:
                        self.settings.data.mkdir(parents=True, exist_ok=True)
                    self._state = StateStore(self.settings.state_url)
        return self._state

    def _open_events(self, wait: float) -> EventStore:
        from beachhead.store.events import StoreBusy, open_event_store

        if self.settings.embedded:
            self.settings.data.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        while True:
            try:
                return open_event_store(self.settings)
            except Exception as exc:
                if not isinstance(exc, StoreBusy) and not _is_lock_error(exc):
                    raise
                if time.monotonic() >= deadline:
                    reason = (
                        str(exc)
                        if isinstance(exc, StoreBusy)
                        else (
                            f"the events store {self.settings.duckdb_path} is in use by "
                            f"{_lock_holder(exc)}"
                        )
                    )
                    raise EventStoreBusy(f"{reason}; try again when it finishes") from exc
                time.sleep(0.2)

    def close(self) -> None:
        with self._open_lock:
            if self._events is not None:
                self._events.close()
                self._events = None
            if self._state is not None:
                self._state.close()
                self._state = None


# -- the advertised server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerInfo:
    pid: int
    url: str
    token: str


def serve_file(settings: Settings) -> Path:
    return settings.data / SERVE_FILE


def write_server_info(settings: Settings, info: ServerInfo) -> None:
    """Write ``serve.json`` readable by the owner only (it holds the token)."""
    path = serve_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"pid": info.pid, "url": info.url, "token": info.token}, fh)
    os.replace(tmp, path)


def remove_server_info(settings: Settings, pid: int | None = None) -> None:
    """Remove ``serve.json`` if it is ours (another server may have replaced it)."""
    info = read_server_info(settings)
    if info is not None and (pid is None or info.pid == pid):
        with contextlib.suppress(FileNotFoundError):
            serve_file(settings).unlink()


def read_server_info(settings: Settings) -> ServerInfo | None:
    try:
        raw = json.loads(serve_file(settings).read_text())
        return ServerInfo(int(raw["pid"]), str(raw["url"]), str(raw["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def find_server(settings: Settings, timeout: float = 5.0) -> ServerInfo | None:
    """The server advertised in the data folder, if its pid is alive and it answers."""
    info = read_server_info(settings)
    if info is None or not _pid_alive(info.pid):
        return None
    try:
        r = httpx.get(f"{info.url}/_internal/ping", headers=_auth(info.token), timeout=timeout)
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return info


def _call_server(info: ServerInfo, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(
        f"{info.url}/_internal/services/{name}",
        json=payload,
        headers=_auth(info.token),
        timeout=None,
    )
    if r.status_code == 200:
        result: dict[str, Any] = r.json()
        return result
    try:
        detail = r.json().get("error") or r.text
    except ValueError:
        detail = r.text
    raise ServiceError(str(detail) if r.status_code < 500 else f"the server failed: {detail}")


def run_local(runtime: Runtime, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    fn = load_services().get(name)
    if fn is None:
        raise ServiceError(f"unknown service {name!r}")
    with runtime.lock:  # services need not lock: one runs at a time beside the writer
        return fn(runtime, payload)


def call_service(settings: Settings, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Run a service where the events store is: in the live server, or in this process.

    With PostgreSQL every process opens the stores itself, so nothing is forwarded.
    """
    if not settings.embedded:
        return _local(settings, name, payload)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        info = find_server(settings)
        if info is not None:
            return _call_server(info, name, payload)
        runtime = Runtime(settings, lock_wait=0)
        try:
            try:
                runtime.events  # noqa: B018 - open now, without waiting
            except EventStoreBusy:
                if time.monotonic() >= deadline:
                    raise
            else:
                return run_local(runtime, name, payload)
        finally:
            runtime.close()
        time.sleep(0.2)


def _local(settings: Settings, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    runtime = Runtime(settings)
    try:
        return run_local(runtime, name, payload)
    finally:
        runtime.close()


@contextlib.contextmanager
def open_runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


# -- built-in services -----------------------------------------------------------------------


@service("events_count")
def _events_count(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """How many messages the events store holds (also: opens and migrates it)."""
    return {"events": runtime.events.count()}
