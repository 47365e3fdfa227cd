"""``/_internal/*``: CLI commands executed by the running server on its own Runtime.

DuckDB admits one writing process, so while ``beachhead serve`` holds the events store a
CLI command on the same data folder sends its work here instead (``runtime.call_service``).
Every call carries the token from ``<data>/serve.json`` (mode 0600), so only someone who
can read the data folder can use these routes. The server advertises itself once its
stores are open (startup hook) and withdraws at shutdown.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from beachhead.runtime import (
    Runtime,
    ServerInfo,
    ServiceError,
    load_services,
    remove_server_info,
    run_local,
    write_server_info,
)
from beachhead.web.alerts_worker import deliver_soon

router = APIRouter(prefix="/_internal", include_in_schema=False)


async def startup(app: FastAPI) -> None:
    load_services()
    info: ServerInfo | None = getattr(app.state, "advertise", None)
    if info is not None:
        app.state.internal_token = info.token
        write_server_info(app.state.settings, info)


async def shutdown(app: FastAPI) -> None:
    info: ServerInfo | None = getattr(app.state, "advertise", None)
    if info is not None:
        remove_server_info(app.state.settings, info.pid)


def _authorise(request: Request) -> None:
    token: str | None = getattr(request.app.state, "internal_token", None)
    given = request.headers.get("authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(status_code=403, detail="bad or missing internal token")


@router.get("/ping")
async def ping(request: Request) -> dict[str, Any]:
    _authorise(request)
    return {"ok": True, "pid": os.getpid()}


@router.post("/services/{name}")
async def run_service(name: str, request: Request) -> JSONResponse:
    _authorise(request)
    if name not in load_services():
        return JSONResponse({"error": f"unknown service {name!r}"}, status_code=404)
    try:
        payload = await request.json()
    except ValueError:
        return JSONResponse({"error": "payload is not JSON"}, status_code=400)
    if not isinstance(payload, dict):
        return JSONResponse({"error": "payload must be a JSON object"}, status_code=400)
    runtime: Runtime = request.app.state.runtime
    try:
        result = await run_in_threadpool(run_local, runtime, name, payload)
    except ServiceError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    except Exception as exc:
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)
    deliver_soon(request.app)  # what it queued (a forwarded evaluate's alerts) goes now
    return JSONResponse(result)
