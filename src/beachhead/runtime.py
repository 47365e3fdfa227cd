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


class StoreUnusable(ServiceError):
    """The embedded data folder or a store file in it cannot be used: a file where the
    folder should be, a folder that cannot be made, a file that is not a database. One
    line naming the path (these were tracebacks: FileExistsError, NotADirectoryError,
    duckdb's IOException, sqlite3's DatabaseError)."""


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (made into) a folder we write to, or None. Checked before
    ``mkdir`` so the reason names the culprit: ``path`` itself or an ancestor that is a
    file (``mkdir`` says only "File exists" / "Not a directory")."""
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            return "permission denied"
        return None
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            if p.is_dir():
                return None  # mkdir makes the rest (or says why it cannot)
            return "it is a file, not a folder" if p == path else f"{p} is a file, not a folder"
    return None


def prepare_data_folder(settings: Settings) -> None:
    """Make the embedded data folder (nothing to do with PostgreSQL), or ``StoreUnusable``.

    Every opening of the stores goes through here (``Runtime``, ``open_state_store``), so
    a bad ``--data`` / ``BEACHHEAD_DATA`` is one line whatever the command."""
    if not settings.embedded:
        return
    path = settings.data
    why = folder_problem(path)
    if why is None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = exc.strerror or str(exc)
    if why is not None:
        raise StoreUnusable(f"cannot use the data folder {path}: {why}")


def _store_failure(exc: BaseException) -> bool:
    """An embedded store file that cannot be opened (not a database, unreadable): DuckDB's
    and SQLite's errors, and SQLAlchemy's around SQLite's."""
    for e in (exc, exc.__cause__):
        if e is None:
            continue
        module = type(e).__module__
        if isinstance(e, OSError) or module.startswith(("duckdb", "_duckdb", "sqlite3")):
            return True
        if module.startswith("sqlalchemy") and type(e).__name__ in {
            "DatabaseError",
            "OperationalError",
        }:
            return True
    return False


def _unusable(what: str, path: Path, exc: BaseException) -> StoreUnusable:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = (reason[0] if reason else type(exc).__name__).removeprefix("IO Error: ")
    text = re.sub(r"^\([\w.]+\) ", "", text)  # SQLAlchemy's "(sqlite3.DatabaseError) "
    return StoreUnusable(f"cannot open the {what} store {path}: {text}")


def open_state_store(settings: Settings) -> StateStore:
    """The state store, migrated; the embedded data folder made first. A state.db that
    is not a database is ``StoreUnusable`` (PostgreSQL's errors pass through: the entry
    point says them as "cannot use BEACHHEAD_DATABASE_URL")."""
    from beachhead.store.state import StateStore

    prepare_data_folder(settings)
    try:
        return StateStore(settings.state_url)
    except Exception as exc:
        if settings.embedded and _store_failure(exc):
            raise _unusable("state", settings.data / "state.db", exc) from exc
        raise


def check_event_store(settings: Settings) -> None:
    """Open and close the embedded events store: ``StoreUnusable`` when its file is not a
    database (``serve`` says so before it starts, not in a traceback at startup). A store
    another process holds is left for the server to wait on."""
    if not settings.embedded:
        return
    with contextlib.suppress(EventStoreBusy):
        Runtime(settings)._open_events(wait=0).close()


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
                    self._state = open_state_store(self.settings)
        return self._state

    def _open_events(self, wait: float) -> EventStore:
        from beachhead.store.events import StoreBusy, open_event_store

        prepare_data_folder(self.settings)
        deadline = time.monotonic() + wait
        while True:
            try:
                return open_event_store(self.settings)
            except Exception as exc:
                if not isinstance(exc, StoreBusy) and not _is_lock_error(exc):
                    if self.settings.embedded and _store_failure(exc):
                        raise _unusable("events", self.settings.duckdb_path, exc) from exc
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
