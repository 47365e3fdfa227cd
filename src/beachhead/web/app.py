"""The ASGI app: ingest API, JSON API and web pages in one FastAPI application.

Routers live in their own modules, each exposing ``router`` (an ``APIRouter``) and optionally
``startup(app)`` / ``shutdown(app)`` hooks, ``exception_handlers`` (exception class ->
handler) and ``asgi_middleware`` (ASGI middleware classes). A module not written yet is
skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from beachhead.config import Settings

ROUTER_MODULES = [
    "beachhead.web.ingest",  # /v1/* Segment-compatible tracking API
    "beachhead.web.internal",  # /_internal/*: CLI commands forwarded to a running server
    "beachhead.web.api",  # /api/v1 JSON API
    "beachhead.web.layout",  # /static/* (app.css, app.js)
    "beachhead.web.auth",  # /, /signin, /signout
    "beachhead.web.inbox",  # /inbox: qualifications, rep actions, saved views
    "beachhead.web.settings_pages",  # /settings: keys, teams and reps (away), alerts
    "beachhead.web.accounts_pages",  # /accounts, /accounts/<id>: the account (PQA) view
    "beachhead.web.users_pages",  # /users, /users/<id>: one person's view
    "beachhead.web.journey",  # /journey: the board of stages
    "beachhead.web.definitions_pages",  # /definitions: see, check, preview and save
    "beachhead.web.pages",  # the web app
    "beachhead.web.alerts_worker",  # alert delivery in the background (no routes)
    "beachhead.web.eval_worker",  # continuous evaluation in the background (no routes)
]


def _modules() -> list[Any]:
    mods = []
    for name in ROUTER_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # pragma: no cover - only while a module is missing
            if exc.name != name:
                raise
    return mods


def create_app(settings: Settings) -> FastAPI:
    mods = _modules()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for mod in mods:
            if hasattr(mod, "startup"):
                await mod.startup(app)
        try:
            yield
        finally:
            for mod in reversed(mods):
                if hasattr(mod, "shutdown"):
                    await mod.shutdown(app)

    app = FastAPI(title="Beachhead", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    for mod in mods:
        app.include_router(mod.router)
        for exc_class, handler in getattr(mod, "exception_handlers", {}).items():
            app.add_exception_handler(exc_class, handler)
        for middleware in getattr(mod, "asgi_middleware", ()):
            app.add_middleware(middleware)
    return app
