"""Events/s through ``POST /v1/batch`` (batches of 100) beside the store's own ceiling.

For each store (embedded DuckDB; PostgreSQL when one answers on 127.0.0.1:5432) this starts
a real ``beachhead serve`` subprocess, has several client *processes* on loopback send
pre-serialised batches over keep-alive connections, and times from the moment all clients
start to the last 200 (each 200 means committed). Beside it, the same rows appended
in-process straight into a fresh store of the same kind, 2,000 per transaction (the group
size of the server's writer): the ceiling HTTP ingest can approach.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import orjson
import psycopg

from beachhead.config import Settings
from beachhead.ingest.segment import normalize
from beachhead.runtime import call_service, find_server
from beachhead.store.events import open_event_store
from beachhead.store.state import StateStore
from bench.table import BenchTable

BATCH = 100
EVENTS = ["Report Created", "Dashboard Shared", "Comment Added", "Logged In", "Export Created"]
PG_ADMIN = os.environ.get("BEACHHEAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


_T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _stamp(client: int, n: int, i: int) -> str:
    """A distinct microsecond time per message, in the SDKs' ISO-8601 form."""
    at = _T0 + timedelta(seconds=client * 100_000 + n, microseconds=i * 997)
    return at.isoformat()


def _message(client: int, n: int, i: int) -> dict[str, Any]:
    """A realistic track call, as the Segment library sends it (~450 bytes)."""
    return {
        "type": "track",
        "messageId": f"c{client}-b{n}-{i}-{uuid.uuid4().hex[:8]}",
        "userId": f"user_{(n * BATCH + i) % 5000}",
        "event": EVENTS[i % len(EVENTS)],
        "properties": {"plan": "team", "charts": i % 7, "shared": i % 2 == 0},
        "context": {
            "library": {"name": "analytics-python", "version": "2.4.0"},
            "groupId": f"acct_{i % 300}",
        },
        # every message its own time, as the SDKs send it (a parse cache cannot help)
        "timestamp": _stamp(client, n, i),
        "integrations": {},
    }


def _batches(client: int, count: int) -> list[list[dict[str, Any]]]:
    return [[_message(client, n, i) for i in range(BATCH)] for n in range(count)]


def _client(
    url: str, key: str, client: int, count: int, conns: int, barrier: Barrier, out: Any
) -> None:
    """One client process: serialise its batches first, then send them back to back over
    ``conns`` keep-alive connections (one thread each), as a busy backend would.

    ``http.client`` rather than httpx: on a 2-core machine the clients share the CPU with
    the server, and the leaner client leaves more of it to what is being measured."""
    import base64
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    bodies = [
        orjson.dumps({"batch": b, "sentAt": datetime.now(UTC).isoformat()})
        for b in _batches(client, count)
    ]
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    failures = [0] * conns
    links = [http.client.HTTPConnection(parts.hostname or "", parts.port) for _ in range(conns)]

    def post(link: http.client.HTTPConnection, body: bytes) -> int:
        link.request("POST", "/v1/batch", body=body, headers=headers)
        answer = link.getresponse()
        answer.read()
        return answer.status

    for link in links:
        post(link, b'{"batch": []}')  # connect and authenticate once

    def send(c: int) -> None:
        for body in bodies[c::conns]:
            if post(links[c], body) != 200:
                failures[c] += 1

    threads = [threading.Thread(target=send, args=(c,)) for c in range(conns)]
    barrier.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for link in links:
        link.close()
    out.put((client, sum(failures), time.perf_counter()))


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[str], str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")} | env
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "beachhead", "serve", "--port", "0"],
            env=full,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    settings = _settings(env)
    deadline = time.monotonic() + 60
    while find_server(settings) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"serve did not start: {log.read_text()}")
        time.sleep(0.05)
    return proc, url


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        data=Path(env["BEACHHEAD_DATA"]), database_url=env.get("BEACHHEAD_DATABASE_URL")
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_rate(
    env: dict[str, str], clients: int, per_client: int, conns: int, log: Path
) -> tuple[float, int, float]:
    """events/s over HTTP, how many requests failed, server CPU microseconds per event."""
    settings = _settings(env)
    settings.data.mkdir(parents=True, exist_ok=True)
    state = StateStore(settings.state_url)
    key, _ = state.create_key("bench")
    state.close()
    proc, url = _serve(env, log)
    try:
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(clients + 1)
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_client, args=(url, key, c, per_client, conns, barrier, out))
            for c in range(clients)
        ]
        for p in procs:
            p.start()
        barrier.wait(timeout=300)
        started = time.perf_counter()
        cpu_before = _cpu_seconds(proc.pid)
        results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(60)
        elapsed = max(r[2] for r in results) - started
        cpu = _cpu_seconds(proc.pid) - cpu_before
        failures = sum(r[1] for r in results)
        stored = int(call_service(settings, "events_count", {})["events"])
        total = clients * per_client * BATCH
        if failures == 0 and stored != total:
            raise RuntimeError(f"{stored} stored of {total} acknowledged")
        return total / elapsed, failures, cpu / total * 1e6
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def append_rate(env: dict[str, str], total_batches: int) -> float:
    """events/s appending the same kind of rows in-process, 2,000 per transaction."""
    now = datetime.now(UTC)
    raws = [m for b in _batches(0, total_batches) for m in b]
    messages = [normalize(m, now, None) for m in raws]
    settings = _settings(env)
    settings.data.mkdir(parents=True, exist_ok=True)
    store = open_event_store(settings)
    try:
        started = time.perf_counter()
        for i in range(0, len(messages), 2000):
            store.append(messages[i : i + 2000], raws[i : i + 2000], "bench")  # as the server does
        elapsed = time.perf_counter() - started
        assert store.count() == len(messages)
    finally:
        store.close()
    return len(messages) / elapsed


def _pg_database() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            name = f"bh_bench_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop_pg(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(quick: bool = False) -> list[BenchTable]:
    clients = 4
    conns = 8  # connections per client process
    per_client = 12 if quick else 150
    total = clients * per_client * BATCH
    table = BenchTable(
        f"HTTP ingest: /v1/batch, batches of {BATCH}, {clients} client processes x "
        f"{conns} connections, "
        f"{total:,} events (cores: {os.cpu_count()})",
        ["store", "path", "events/s", "share of ceiling", "server CPU µs/event", "failed requests"],
    )
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="bh-bench-") as tmp:
        stores: list[tuple[str, dict[str, str], dict[str, str]]] = [
            (
                "DuckDB (embedded)",
                {"BEACHHEAD_DATA": f"{tmp}/duck-http"},
                {"BEACHHEAD_DATA": f"{tmp}/duck-raw"},
            )
        ]
        pg_dbs = [_pg_database(), _pg_database()]
        if pg_dbs[0] and pg_dbs[1]:
            stores.append(
                (
                    "PostgreSQL",
                    {"BEACHHEAD_DATA": f"{tmp}/pg-http", "BEACHHEAD_DATABASE_URL": pg_dbs[0]},
                    {"BEACHHEAD_DATA": f"{tmp}/pg-raw", "BEACHHEAD_DATABASE_URL": pg_dbs[1]},
                )
            )
        else:
            table.notes.append("PostgreSQL on 127.0.0.1:5432 did not answer: not measured")
        try:
            for name, http_env, raw_env in stores:
                ceiling = append_rate(raw_env, clients * per_client)
                rate, failed, cpu_us = http_rate(
                    http_env, clients, per_client, conns, Path(tmp) / "serve.log"
                )
                table.add(
                    name, "in-process append, 2,000/commit (ceiling)", ceiling, "100%", "-", "-"
                )
                table.add(
                    name, "HTTP /v1/batch via serve", rate, f"{rate / ceiling:.0%}", cpu_us, failed
                )
        finally:
            for db in pg_dbs:
                if db:
                    _drop_pg(db)
    table.notes.append("aim: >= 20,000 events/s over HTTP on 2 cores with the embedded store")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.notes.append(
        f"load average at the start {load_start:.1f}, at the end {load:.1f} (the clients share "
        "the machine with the server; other work on it lowers every row; server CPU per event "
        "is the steadier figure)"
    )
    return [table]


if __name__ == "__main__":  # pragma: no cover
    for t in run(quick="--quick" in sys.argv):
        t.print()
