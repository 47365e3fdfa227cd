"""Signing in and out of the web app.

``POST /signin`` checks the email and password (argon2), starts a server-side session and
sets its random token as the ``bh_session`` cookie (HttpOnly, SameSite=Lax, Secure over
HTTPS). ``POST /signout`` ends it. Both forms are CSRF-protected: the sign-in form with a
double-submit cookie (there is no session yet), the sign-out form with the session's token.
A wrong email and a wrong password get the same answer, in the same time; ten failures for
one email within five minutes make it wait (429) until the window passes.
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from beachhead.store.app_users import AppUser
from beachhead.web import csrf, deps
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)


class Throttle:
    """At most ``limit`` failed sign-ins per email within ``window`` seconds (in memory,
    per process): password guessing gets slow, and a person who mistyped waits briefly."""

    def __init__(self, limit: int = 10, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._fails.get(key, []) if now - t < self.window]
        if kept:
            self._fails[key] = kept
        else:
            self._fails.pop(key, None)
        return kept

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._recent(key, time.monotonic())) >= self.limit

    def failed(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._fails[key] = [*self._recent(key, now), now]
            if len(self._fails) > 100_000:  # bounded memory under a spray of emails
                self._fails.clear()

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)


_make_lock = threading.Lock()


def throttle_of(request: Request) -> Throttle:
    """The app's throttle (one per app, so separate apps in one process do not share)."""
    found: Throttle | None = getattr(request.app.state, "signin_throttle", None)
    if found is None:
        with _make_lock:
            found = getattr(request.app.state, "signin_throttle", None)
            if found is None:
                found = Throttle()
                request.app.state.signin_throttle = found
    return found


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a full URL): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


def _signin_page(request: Request, error: str | None, email: str, status: int) -> Response:
    token = csrf.pre_session_token(request)
    response = render(
        request,
        "signin.html",
        {
            "signin_csrf": token,
            "error": error,
            "email": email,
            "next": safe_next(request.query_params.get("next")),
        },
        status_code=status,
    )
    csrf.set_pre_session_cookie(request, response, token)
    return response


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/signin")
def signin_form(request: Request) -> Response:
    if deps.optional_user(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _signin_page(request, None, "", 200)


@router.post("/signin")
async def signin(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/inbox"),
) -> Response:
    await csrf.verify_pre_session(request)
    key = email.strip().lower()
    throttle = throttle_of(request)
    if throttle.blocked(key):
        return _signin_page(
            request,
            "Too many failed attempts for this email: try again in a few minutes.",
            email,
            429,
        )
    store = deps.users(request)
    user = await run_in_threadpool(store.authenticate, email, password)
    if user is None:
        throttle.failed(key)
        return _signin_page(request, "That email and password do not match.", email, 401)
    throttle.succeeded(key)
    token, _ = await run_in_threadpool(store.start_session, user)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        deps.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=60 * 60 * 24 * 14,
        path="/",
    )
    response.delete_cookie(csrf.PRE_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request, user: AppUser = Depends(deps.csrf_user)) -> Response:
    token = request.cookies.get(deps.SESSION_COOKIE, "")
    await run_in_threadpool(deps.users(request).end_session, token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(deps.SESSION_COOKIE, path="/")
    return response
