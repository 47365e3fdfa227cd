"""Crash safety of HTTP ingest: a 200 means committed, even when the server is SIGKILLed.

Client threads send batches with unique messageIds and record which got a 200. The server
is killed mid-load, restarted, and every client re-sends everything it sent (as a library
retrying would). Then every acknowledged message is stored, and none twice.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from test_serve import Server, create_key, stored_messages

THREADS = 4
BATCH = 50
MAX_BATCHES = 400  # per thread: bounds the test when the machine is fast
LOAD_SECONDS = 2.0


def _batch(thread: int, n: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "track",
                "userId": f"u{thread}",
                "event": "Report Created",
                "messageId": f"t{thread}-b{n}-m{i}",
                "properties": {"n": n, "i": i},
            }
            for i in range(BATCH)
        ]
    }


@pytest.mark.slow
def test_every_acknowledged_message_survives_sigkill(
    backend_env: dict[str, str], tmp_path: Path
) -> None:
    env = backend_env
    key = create_key(env)
    srv = Server(env, tmp_path / "serve.log").start()
    acked: list[set[str]] = [set() for _ in range(THREADS)]
    sent: list[int] = [0] * THREADS
    stop = threading.Event()

    def load(t: int) -> None:
        with httpx.Client(auth=(key, ""), timeout=10) as client:
            for n in range(MAX_BATCHES):
                if stop.is_set():
                    return
                body = _batch(t, n)
                sent[t] = n + 1
                try:
                    r = client.post(f"{srv.url}/v1/batch", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    acked[t].update(m["messageId"] for m in body["batch"])  # type: ignore[attr-defined]

    threads = [threading.Thread(target=load, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    time.sleep(LOAD_SECONDS)
    srv.kill()
    stop.set()
    for th in threads:
        th.join(30)
    acknowledged = set().union(*acked)
    assert len(acknowledged) >= 10 * BATCH, "too little load reached the server before the kill"

    after_crash = {m.message_id for m in stored_messages(env)}
    missing = acknowledged - after_crash
    assert not missing, f"{len(missing)} acknowledged messages were lost"

    # restart and re-send everything each client sent: nothing is stored twice
    srv = Server(env, tmp_path / "serve2.log").start()
    try:
        with httpx.Client(auth=(key, ""), timeout=30) as client:
            for t in range(THREADS):
                for n in range(sent[t]):
                    assert client.post(f"{srv.url}/v1/batch", json=_batch(t, n)).status_code == 200
    finally:
        srv.stop()
    ids = Counter(m.message_id for m in stored_messages(env))
    assert max(ids.values()) == 1
    assert set(ids) == {m for t in range(THREADS) for n in range(sent[t]) for m in _ids(t, n)}


def _ids(thread: int, n: int) -> list[str]:
    return [f"t{thread}-b{n}-m{i}" for i in range(BATCH)]
