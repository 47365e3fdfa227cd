"""FastAPI dependencies every web page and JSON API route builds on.

Use them like this (WEB-B: the account view, Journey and definitions pages do the same)::

    from beachhead.web import deps

    @router.get("/journey")
    def journey(request: Request, user: deps.User = Depends(deps.current_user)) -> Response:
        ...

    @router.post("/definitions")
    async def save(request: Request, user: deps.User = Depends(deps.admin_csrf)) -> Response:
        ...

- ``current_user``: the signed-in ``AppUser`` (``.email``, ``.role``, ``.team``, ``.csrf``,
  ``.can(role)``). Not signed in: a page request is redirected (303) to
  ``/signin?next=<path>``; a request under ``/api/`` gets 401.
- ``require_role("manager")`` / ``manager_user`` / ``admin_user``: the same, plus 403
  when the role is not enough. Roles nest: admin > manager > rep.
- ``csrf_user`` / ``manager_csrf`` / ``admin_csrf``: for every state-changing request
  (POST/PUT/PATCH/DELETE): the user, after checking the CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``) against the session's; a mismatch is 403.
- ``runtime`` / ``state`` / ``users`` / ``config``: the shared ``Runtime``, its state
  store, the app user repository, and the definitions (re-read when the file changes,
  with reps' away state from the app applied, so routing and the pages agree);
  ``config_strict``: the same, but 503 when the file cannot be read (for writes).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request

from beachhead.rules.model import Config
from beachhead.runtime import Runtime
from beachhead.store.app_users import AppUser, AppUserStore, with_away
from beachhead.store.state import StateStore
from beachhead.web import csrf

User = AppUser
SESSION_COOKIE = "bh_session"


def runtime(request: Request) -> Runtime:
    """The server's shared Runtime (set up by the ingest startup hook)."""
    rt: Runtime | None = getattr(request.app.state, "runtime", None)
    if rt is None:  # pragma: no cover - only when the app runs without its startup hooks
        raise HTTPException(503, "the server is starting")
    return rt


def state(request: Request) -> StateStore:
    return runtime(request).state


def users(request: Request) -> AppUserStore:
    return AppUserStore(state(request))


class _ConfigCache:
    """The definitions by file mtime: pages read them often, the file changes rarely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[float, Config | None, str | None]] = {}

    def get(self, path: Path) -> tuple[Config | None, str | None]:
        from beachhead.lifecycle_service import read_config
        from beachhead.runtime import ServiceError

        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None, f"no definitions at {path} (beachhead init writes them)"
        with self._lock:
            hit = self._seen.get(path)
            if hit is not None and hit[0] == mtime:
                return hit[1], hit[2]
        try:
            found: tuple[Config | None, str | None] = (read_config(path), None)
        except ServiceError as exc:
            found = (None, str(exc))
        with self._lock:
            self._seen[path] = (mtime, *found)
        return found


_configs = _ConfigCache()


def config_or_error(request: Request) -> tuple[Config, str | None]:
    """The definitions (empty when they cannot be read) and why they could not be."""
    rt = runtime(request)
    found, error = _configs.get(Path(rt.settings.config))
    base = found if found is not None else Config()
    return with_away(base, AppUserStore(rt.state).away_overrides()), error


def config(request: Request) -> Config:
    """The definitions; empty ones when the file cannot be read (pages show why)."""
    return config_or_error(request)[0]


def config_strict(request: Request) -> Config:
    """The definitions, or 503 naming the problem: for actions that route or send."""
    found, error = config_or_error(request)
    if error is not None:
        raise HTTPException(503, f"the definitions cannot be read: {error}")
    return found


def optional_user(request: Request) -> AppUser | None:
    """The user of the session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return users(request).session_user(token)


def _sign_in_required(request: Request) -> HTTPException:
    if request.url.path.startswith("/api/"):
        return HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Session"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        303, "sign in first", headers={"Location": f"/signin?next={quote(target)}"}
    )


def current_user(request: Request) -> AppUser:
    user = optional_user(request)
    if user is None:
        raise _sign_in_required(request)
    return user


def require_role(role: str) -> Callable[[Request], AppUser]:
    """A dependency: the signed-in user, who must have ``role`` (or a bigger one)."""

    def dep(request: Request) -> AppUser:
        user = current_user(request)
        if not user.can(role):
            raise HTTPException(403, f"this needs the {role} role")
        return user

    return dep


manager_user = require_role("manager")
admin_user = require_role("admin")


def _csrf_checked(role: str) -> Callable[[Request], Awaitable[AppUser]]:
    role_dep = require_role(role)

    async def dep(request: Request) -> AppUser:
        user = role_dep(request)
        await csrf.verify(request, user.csrf)
        return user

    return dep


csrf_user = _csrf_checked("rep")
manager_csrf = _csrf_checked("manager")
admin_csrf = _csrf_checked("admin")

CurrentUser = Depends(current_user)
