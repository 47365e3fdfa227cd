"""``beachhead serve`` (web app + ingest API in one process) and ``beachhead migrate``.

``serve`` binds its socket itself before starting uvicorn, so ``--port 0`` picks a free
port and the printed URL (and ``<data>/serve.json``) name the real one.
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
from typing import Annotated

import typer

from beachhead.cli.common import ConfigOpt, DataOpt, fail


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="[env BEACHHEAD_HOST; 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="[env BEACHHEAD_PORT; 8000; 0 = any]")
    ] = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
) -> None:
    """Serve the web app and the ingest API until interrupted."""
    import uvicorn

    from beachhead.config import load_settings
    from beachhead.runtime import ServerInfo, remove_server_info
    from beachhead.web.app import create_app

    settings = load_settings(config, data)
    host = host or settings.host
    port = settings.port if port is None else port
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound_port = sock.getsockname()[1]
    url = f"http://{f'[{host}]' if ':' in host else host}:{bound_port}"
    web_app = create_app(settings)
    web_app.state.advertise = ServerInfo(os.getpid(), url, secrets.token_urlsafe(32))
    server = uvicorn.Server(
        uvicorn.Config(
            web_app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    # What is loaded by now (every imported module, the app) lives as long as the process.
    # Freezing it keeps the cyclic GC, which the objects of in-flight ingest batches set off
    # often, from rescanning all of it in every full collection (about 6 µs less CPU per
    # event in an in-process run of the ingest work). Only here, in the serving process: a
    # process that builds and drops apps (the tests) would keep their cycles forever.
    gc.collect()
    gc.freeze()
    # A /v1/batch request allocates a few thousand tracked objects (messages, their dicts);
    # at the default threshold (700) a young collection runs several times per request and
    # keeps promoting in-flight batches. 20,000 lets most die young: about 4 µs less server
    # CPU per event in bench ingest_http (A/B alternating, load 4.5-4.9).
    gc.set_threshold(20_000, 20, 100)
    typer.echo(f"Beachhead is serving on {url}", err=True)
    typer.echo(url)
    try:
        server.run(sockets=[sock])
    finally:
        remove_server_info(settings, os.getpid())
        sock.close()


def migrate(config: ConfigOpt = None, data: DataOpt = None) -> None:
    """Create or upgrade both stores now (they are also migrated on first use)."""
    from beachhead.config import load_settings
    from beachhead.runtime import ServiceError, call_service
    from beachhead.store.state import StateStore

    settings = load_settings(config, data)
    if settings.embedded:
        settings.data.mkdir(parents=True, exist_ok=True)
    state = StateStore(settings.state_url)
    state.close()
    typer.echo(f"state store: at revision {state.revision}")
    try:
        result = call_service(settings, "events_count", {})
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"events store: ready ({result['events']} messages)")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("migrate")(migrate)
