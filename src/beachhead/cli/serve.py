"""``beachhead serve`` (web app + ingest API in one process) and ``beachhead migrate``.

``serve`` binds its socket itself before starting uvicorn, so ``--port 0`` picks a free
port and the printed URL (and ``<data>/serve.json``) name the real one.
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from beachhead.cli.common import ConfigOpt, DataOpt, Format, FormatOpt, PortOpt, fail, open_state

if TYPE_CHECKING:  # loaded in the command: `--help` stays quick
    from beachhead.config import Settings


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _preflight(settings: Settings) -> None:
    """What would make the server fail as it starts, as one line before it starts (not
    a traceback after "serving on"): a bad evaluation or alert setting, a state store
    that cannot be opened, an embedded data folder another server holds."""
    from beachhead.alerts.settings import AlertSettings
    from beachhead.config import SettingsError, read_settings
    from beachhead.rules.load import unreadable
    from beachhead.runtime import check_event_store, find_server
    from beachhead.scheduler import EvalSettings

    try:
        read_settings(EvalSettings)
        read_settings(AlertSettings)
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    if settings.config.exists():  # a missing file is fine: the app says how to write one
        problem = unreadable(settings.config)  # a folder given for the file
        if problem is not None:
            raise fail(problem)
    if settings.embedded:
        other = find_server(settings, timeout=2.0)
        if other is not None:
            raise fail(
                f"{settings.data} is in use by another beachhead serve (pid {other.pid}, "
                f"{other.url}); stop it or use another --data"
            )
    open_state(settings).close()
    check_event_store(settings)  # StoreUnusable: one line from the entry point


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="[env BEACHHEAD_HOST; 127.0.0.1]")
    ] = None,
    port: PortOpt = None,
    config: ConfigOpt = None,
    data: DataOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Serve the web app and the ingest API until interrupted. Once it listens, stdout
    says where: the URL alone on a line, or with --format json {"url", "pid", "data"}."""
    import uvicorn

    from beachhead.config import load_settings
    from beachhead.runtime import ServerInfo, remove_server_info
    from beachhead.web.app import create_app

    settings = load_settings(config, data)
    _preflight(settings)
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
    if fmt is Format.json:
        where = None if not settings.embedded else str(settings.data.resolve())
        typer.echo(orjson.dumps({"url": url, "pid": os.getpid(), "data": where}).decode())
    else:
        typer.echo(url)
    try:
        server.run(sockets=[sock])
    finally:
        remove_server_info(settings, os.getpid())
        sock.close()


def migrate(config: ConfigOpt = None, data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Create or upgrade both stores now (they are also migrated on first use)."""
    from beachhead.config import load_settings
    from beachhead.runtime import ServiceError, call_service, open_state_store

    settings = load_settings(config, data)
    state = open_state_store(settings)
    state.close()
    if fmt is Format.table:
        typer.echo(f"state store: at revision {state.revision}")
    try:
        result = call_service(settings, "events_count", {})
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    if fmt is Format.json:
        out = {"state_revision": state.revision, "events": result["events"]}
        typer.echo(orjson.dumps(out).decode())
    else:
        typer.echo(f"events store: ready ({result['events']} messages)")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("migrate")(migrate)
