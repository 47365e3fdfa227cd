"""The Segment-compatible tracking API: ``POST /v1/batch`` and the single-message routes.

What a request goes through (docs/interfaces.md, "Ingest over HTTP"):

1. the write key, from HTTP Basic (key as user name) or ``writeKey`` in the body; unknown,
   missing or revoked: 401. Valid keys are cached for ``KEY_TTL`` seconds, so a revoke
   takes effect within about a second without a database read per request;
2. the body, decompressed incrementally (gzip or deflate) and cut off as soon as it passes
   ``max_request_bytes``, so a gzip bomb costs no more memory than the limit; over it, or a
   message over ``max_message_bytes``: 413 and nothing stored;
3. not JSON, or a batch that is not a list: 400 with a reason, nothing stored;
4. every message normalised; those that fail are kept raw in the rejects table with their
   index and reason, the others go to the group-commit writer. The 200 is sent only after
   both are committed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from beachhead.config import Settings
from beachhead.ingest.message import Message, Reject
from beachhead.ingest.segment import InvalidMessage, normalize
from beachhead.ingest.writer import GroupWriter
from beachhead.runtime import Runtime
from beachhead.store.events import Encoded, RawInput
from beachhead.store.state import StateStore

router = APIRouter(tags=["ingest"])

KEY_TTL = 1.0
SINGLE_TYPES = ("track", "identify", "group", "page", "screen", "alias")


async def startup(app: FastAPI) -> None:
    """Open both stores before the first request, then start the writer thread."""
    settings: Settings = app.state.settings
    runtime: Runtime | None = getattr(app.state, "runtime", None)
    if runtime is None:
        runtime = Runtime(settings)
        app.state.runtime = runtime
        app.state.runtime_owner = "ingest"
    await run_in_threadpool(lambda: (runtime.state, runtime.events))
    writer = GroupWriter(runtime)
    writer.start()
    app.state.ingest_writer = writer
    app.state.key_cache = KeyCache(runtime.state)


async def shutdown(app: FastAPI) -> None:
    writer: GroupWriter | None = getattr(app.state, "ingest_writer", None)
    if writer is not None:
        await run_in_threadpool(writer.stop)
    if getattr(app.state, "runtime_owner", None) == "ingest":
        await run_in_threadpool(app.state.runtime.close)


class KeyCache:
    """Write key -> key name (None: not valid), remembered for ``ttl`` seconds."""

    def __init__(self, state: StateStore, ttl: float = KEY_TTL, size: int = 10_000) -> None:
        self.state = state
        self.ttl = ttl
        self.size = size
        self._seen: dict[str, tuple[str | None, float]] = {}

    async def name(self, key: str) -> str | None:
        now = time.monotonic()
        hit = self._seen.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        name = await run_in_threadpool(self.state.key_name, key)
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[key] = (name, now + self.ttl)
        return name


class IngestError(Exception):
    """An answer other than 200: the status and a reason for the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


_CODES = {400: "bad_request", 401: "unauthorized", 413: "payload_too_large"}


def _error(status: int, reason: str) -> Response:
    """``error`` for people; ``code``/``message`` because the Segment and RudderStack
    libraries read those two keys of an error answer."""
    code = _CODES.get(status, "error")
    return _json({"success": False, "error": reason, "code": code, "message": reason}, status)


def basic_auth_key(request: Request) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header (the write key)."""
    header = request.headers.get("authorization")
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user = decoded.split(":", 1)[0]
    return user or None


def _decompressor(request: Request) -> Any:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise IngestError(400, f"unsupported Content-Encoding {encoding!r} (use gzip)")


async def read_body(request: Request, limit: int) -> bytes:
    """The decompressed body, or 413 as soon as it passes ``limit`` bytes."""
    too_large = IngestError(413, f"request is over the limit of {limit} bytes")
    inflater = _decompressor(request)
    if inflater is None:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise too_large
    out = bytearray()
    wire = 0
    wire_limit = limit + limit // 8 + 1024  # gzip never grows sensible JSON by this much
    try:
        async for chunk in request.stream():
            wire += len(chunk)
            if wire > wire_limit:
                raise too_large
            if inflater is None:
                out += chunk
            else:
                data = chunk
                while data:
                    if inflater.eof:
                        raise IngestError(400, "data after the end of the gzip body")
                    out += inflater.decompress(data, limit + 1 - len(out))
                    if len(out) > limit:
                        raise too_large
                    data = inflater.unconsumed_tail or inflater.unused_data
            if len(out) > limit:
                raise too_large
        if inflater is not None:
            out += inflater.flush(limit + 1 - len(out))
            if len(out) > limit:
                raise too_large
            if not inflater.eof:
                raise IngestError(400, "gzip body is truncated")
    except zlib.error as exc:
        raise IngestError(400, f"body is not valid gzip: {exc}") from exc
    return bytes(out)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise IngestError(400, f"body is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise IngestError(400, "body must be a JSON object")
    return doc


def _messages(doc: dict[str, Any], single_type: str | None) -> list[Any]:
    """The request's messages, as sent (a batch's ``context`` fills each message's)."""
    if single_type is not None:
        msg = {k: v for k, v in doc.items() if k != "writeKey"}
        msg.setdefault("type", single_type)
        return [msg]
    batch = doc.get("batch")
    if not isinstance(batch, list):
        raise IngestError(400, "'batch' must be a list of messages")
    if any(isinstance(m, dict) and "writeKey" in m for m in batch):  # never store a key
        batch = [
            {k: v for k, v in m.items() if k != "writeKey"} if isinstance(m, dict) else m
            for m in batch
        ]
    shared = doc.get("context")
    if isinstance(shared, dict) and shared:
        batch = [
            {**m, "context": {**shared, **m.get("context", {})}}
            if isinstance(m, dict) and isinstance(m.get("context", {}), dict)
            else m
            for m in batch
        ]
    return batch


async def ingest(request: Request, single_type: str | None) -> Response:
    settings: Settings = request.app.state.settings
    keys: KeyCache = request.app.state.key_cache
    try:
        key = basic_auth_key(request)
        key_name = await keys.name(key) if key else None
        if key and key_name is None:
            raise IngestError(401, "unknown or revoked write key")
        doc = _parse(await read_body(request, settings.max_request_bytes))
        if key_name is None:
            body_key = doc.get("writeKey")
            if not isinstance(body_key, str) or not body_key:
                raise IngestError(401, "missing write key (HTTP Basic user name or 'writeKey')")
            key_name = await keys.name(body_key)
            if key_name is None:
                raise IngestError(401, "unknown or revoked write key")
        raw_messages = _messages(doc, single_type)
        sent_at = doc.get("sentAt")
        encoded = [orjson.dumps(m) for m in raw_messages]
        limit = settings.max_message_bytes
        for i, raw in enumerate(encoded):
            if len(raw) > limit:
                raise IngestError(413, f"message {i} is over the limit of {limit} bytes")
    except IngestError as exc:
        return _error(exc.status, exc.reason)

    received_at = datetime.now(UTC)
    batch_sent_at = sent_at if isinstance(sent_at, str) else None
    messages: list[Message] = []
    raws: list[RawInput] = []
    rejects: list[Reject] = []
    where = f"http:{request.url.path} key={key_name}"
    for i, (msg, raw) in enumerate(zip(raw_messages, encoded, strict=True)):
        try:
            messages.append(normalize(msg, received_at, batch_sent_at))
        except InvalidMessage as exc:
            rejects.append(Reject(where, i, exc.reason, raw.decode(), received_at))
            continue
        # The parsed dict (hashed by the store) with the JSON already made for the size
        # check (stored as raw): the store neither re-parses nor re-serialises it.
        raws.append(Encoded(msg, raw))

    waits: list[Any] = []
    if messages:
        writer: GroupWriter = request.app.state.ingest_writer
        waits.append(asyncio.wrap_future(writer.submit(messages, raws, f"http:{key_name}")))
    if rejects:
        state = request.app.state.runtime.state
        waits.append(run_in_threadpool(state.add_rejects, rejects))
    if waits:
        await asyncio.gather(*waits)
    answer: dict[str, Any] = {"success": True}
    if rejects:
        answer["rejected"] = [{"index": r.position, "error": r.reason} for r in rejects]
    return _json(answer)


@router.post("/v1/batch")
async def batch(request: Request) -> Response:
    return await ingest(request, None)


def _single_route(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await ingest(request, kind)

    endpoint.__name__ = f"ingest_{kind}"
    return endpoint


for _kind in SINGLE_TYPES:
    router.add_api_route(f"/v1/{_kind}", _single_route(_kind), methods=["POST"])
