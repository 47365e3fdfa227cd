"""The app shell: Jinja templates, ``render()``, the navigation and the static files.

Every page extends ``templates/base.html`` (landmarks, skip link, navigation, the
sign-out form) and is rendered with ``render(request, "name.html", {...}, user=user)``,
which adds the user, the CSRF token (``csrf`` in templates: put
``<input type="hidden" name="csrf_token" value="{{ csrf }}">`` in every form), the
navigation and safe response headers. Static files (``/static/app.css``, ``/static/app.js``)
are served from ``web/static`` with a version in the URL, so browsers cache them for good.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy.exc
from fastapi import APIRouter, HTTPException, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Route

from beachhead.store.app_users import AppUser

HERE = Path(__file__).parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str
    role: str  # the least role that sees it


# Shown only when the app has a page at ``path`` and the user has the role.
NAV = (
    NavItem("/inbox", "Inbox", "rep"),
    NavItem("/journey", "Journey", "rep"),
    NavItem("/accounts", "Accounts", "rep"),
    NavItem("/users", "Users", "rep"),
    NavItem("/definitions", "Definitions", "admin"),
    NavItem("/settings", "Settings", "manager"),
)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``{{ n | plural('account') }}``: "1 account", "2 accounts" (``many``: an irregular
    plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


templates.env.filters["plural"] = plural


def _version(name: str) -> str:
    try:
        return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


STATIC_VERSIONS = {p.name: _version(p.name) for p in STATIC.glob("*") if p.is_file()}


def static_url(name: str) -> str:
    return f"/static/{name}?v={STATIC_VERSIONS.get(name, '0')}"


def iter_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, also inside included routers (FastAPI may keep those as one lazy
    route holding ``original_router``; the app includes routers without a prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from iter_routes(inner.routes)
        else:
            yield route


def nav(request: Request, user: AppUser | None) -> list[dict[str, Any]]:
    if user is None:
        return []
    paths = {r.path for r in iter_routes(request.app.routes) if isinstance(r, Route)}
    here = request.url.path
    return [
        {
            "path": n.path,
            "label": n.label,
            "current": here == n.path or here.startswith(n.path + "/"),
        }
        for n in NAV
        if n.path in paths and user.can(n.role)
    ]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    user: AppUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from ``templates/name`` with the shell's context and security headers."""
    ctx: dict[str, Any] = {
        "user": user,
        "csrf": user.csrf if user is not None else "",
        "nav": nav(request, user),
        "static_url": static_url,
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


API_PREFIXES = ("/api/", "/v1/", "/_internal/")


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors of pages as pages (with the shell and a way back); of the API as JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(API_PREFIXES) or exc.status_code < 400:
        return await http_exception_handler(request, exc)
    from beachhead.web import deps

    user = deps.optional_user(request)
    response = render(
        request,
        "error.html",
        {"status": exc.status_code, "detail": exc.detail},
        user=user,
        status_code=exc.status_code,
    )
    for k, v in (exc.headers or {}).items():
        response.headers[k] = v
    return response


async def data_error(request: Request, exc: Exception) -> Response:
    """A value the database refuses (PostgreSQL stores no NUL character in text; an id
    past its integer range) is the request's fault: 422 naming it, nothing stored (the
    transaction rolled back), as a page or as JSON like any other error."""
    text = str(getattr(exc, "orig", None) or exc)
    if "NUL" in text or "0x00" in text:
        detail = "a value contains a NUL character, which cannot be stored"
    else:
        detail = "a value cannot be stored: " + (text.strip().splitlines() or ["?"])[0]
    return await http_error(request, StarletteHTTPException(422, detail))


def _invalid(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body", "header")]
    name = ".".join(loc) or "a value"
    if error.get("type") in ("int_parsing", "int_from_float"):
        return f"{name} must be a whole number (got {str(error.get('input'))[:40]!r})"
    return f"{name}: {error.get('msg', 'not valid')}"


async def validation_error(request: Request, exc: Exception) -> Response:
    """A parameter FastAPI cannot read (``?page=abc``): JSON for the API, as before; a
    page naming the parameter (422) for the web pages, instead of raw JSON."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith(API_PREFIXES):
        return await request_validation_exception_handler(request, exc)
    detail = "; ".join(_invalid(e) for e in exc.errors()) or "the request is not valid"
    return await http_error(request, StarletteHTTPException(422, detail))


exception_handlers = {
    StarletteHTTPException: http_error,
    RequestValidationError: validation_error,
    sqlalchemy.exc.DataError: data_error,
    psycopg.DataError: data_error,
}


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Browsers ask for it whatever the page links: the same icon as ``/static/favicon.svg``."""
    return FileResponse(
        STATIC / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """Only files directly in ``web/static`` (no paths), cached for a year (URLs are versioned)."""
    if name not in STATIC_VERSIONS:
        raise HTTPException(404, "no such file")
    return FileResponse(
        STATIC / name, headers={"Cache-Control": "public, max-age=31536000, immutable"}
    )
