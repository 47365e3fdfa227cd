"""Test support for alerts: a real HTTP receiver on 127.0.0.1 and config/event builders.

``Receiver`` is a threaded ``http.server`` that records every request (path, headers, raw
body) and answers from a script: a list of ``Reply`` (status, optional stall) consumed
in order, the last one repeating. A stalled reply holds the request open until
``release()``, which is how tests catch a deliverer mid-request.

Imported by tests in other folders too (they put this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from beachhead.alerts.events import AlertEvent
from beachhead.rules.load import load_text
from beachhead.rules.model import Config

PQLS_YAML = """
version: 1
pqls:
  - key: free_to_paid
    level: user
    when: {trait: account.plan, in: [free]}
  - key: enterprise_conversion
    level: account
    when: {trait: account.plan, in: [business]}
"""


def config_with(alerts_yaml: str) -> Config:
    """A valid config with two PQLs and the given ``alerts:`` section (YAML text)."""
    return load_text(PQLS_YAML + "\n" + alerts_yaml)


def qualification(
    pql: str = "free_to_paid",
    entity_id: str = "u_17",
    account_id: str | None = "acme",
    touch: str = "high",
    qid: str = "q_1",
) -> dict[str, Any]:
    """A qualification in evaluate's JSON shape."""
    return {
        "id": qid,
        "pql": pql,
        "level": "user" if entity_id.startswith("u_") else "account",
        "entity_id": entity_id,
        "account_id": account_id,
        "priority": 10,
        "status": "new",
        "is_new": True,
        "qualified_at": "2026-03-01T00:00:00Z",
        "touch": touch,
        "team": "mid_market",
        "rep": "ana@example.com",
        "evidence": [
            {
                "path": "when.all[0]",
                "held": True,
                "value": "free",
                "sentence": "Account plan is free",
            },
            {
                "path": "when.all[1]",
                "held": True,
                "value": 3,
                "sentence": "Upgrade Clicked 3 times in the last 14 days",
            },
        ],
    }


def qualified(
    pql: str = "free_to_paid", touch: str = "high", qid: str = "q_1", entity_id: str = "u_17"
) -> AlertEvent:
    return AlertEvent(
        type="qualified",
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        qualification=qualification(pql=pql, touch=touch, qid=qid, entity_id=entity_id),
    )


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    stall: bool = False
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


class Receiver:
    """A loopback HTTP server recording requests and answering from a script."""

    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies = list(replies or [Reply()])
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self.stalled = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    reply = receiver.replies[min(receiver._served, len(receiver.replies) - 1)]
                    receiver._served += 1
                if reply.stall:
                    receiver.stalled.set()
                    receiver._release.wait(60)
                if reply.delay:
                    time.sleep(reply.delay)
                record = Recorded(self.path, dict(self.headers.items()), body, reply.status)
                with receiver._lock:  # recorded before answering, so a client never waits
                    receiver.requests.append(record)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    with receiver._lock:  # the answer never left: not acknowledged
                        i = next(j for j, r in enumerate(receiver.requests) if r is record)
                        receiver.requests[i] = Recorded(record.path, record.headers, body, 0)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._served = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def release(self) -> None:
        self._release.set()

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def ok_requests(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]


def running(replies: list[Reply] | None = None) -> Iterator[Receiver]:
    """Generator for a fixture: a started receiver, stopped afterwards."""
    r = Receiver(replies).start()
    try:
        yield r
    finally:
        r.stop()
