"""Event-to-alert latency of ``beachhead serve`` under a background load of 1,000 events/s.

A real ``serve`` subprocess on loopback (embedded DuckDB; PostgreSQL too when one answers
on 127.0.0.1:5432), with definitions that qualify a user on one "Probe Clicked" and a
webhook alert for each new qualification to a receiver in this process. A load generator
process sends batches of 100 ordinary track calls (2,000 users, none of them qualifying)
at 1,000 events/s, bounded in count and time. Meanwhile this process sends probes: one
"Probe Clicked" for a fresh user every ``GAP`` seconds. A probe's latency runs from the
200 of its ``/v1/batch`` (the event is committed) to the arrival of the webhook request
naming that user at the receiver; both instants are read on this process's clock.

Nothing calls ``beachhead evaluate``: the server's continuous evaluation (ingest-triggered,
incremental) qualifies the probe, and its delivery kick sends the webhook. The aim is p95
under 2 s.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

from beachhead.config import Settings
from beachhead.runtime import find_server
from bench.table import BenchTable

PG_ADMIN = os.environ.get("BEACHHEAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RATE = 1000  # background events per second
BATCH = 100
GAP = 1.5  # seconds between probes
CONNS = 2  # load connections
EVENTS = ["Logged In", "Report Created", "Dashboard Shared", "Comment Added", "Export Created"]
CONFIG = """
version: 1
pqls:
  - key: probe_intent
    name: Probe intent
    motion: free_to_paid
    level: user
    priority: 10
    when: {event: Probe Clicked, within: 1d}
  - key: heavy_reporter
    name: Heavy reporter
    motion: custom
    level: user
    priority: 5
    when: {event: Report Created, within: 1d, count: {gte: 1000000}}
teams:
  - key: sales
    assign: round_robin
    reps: [{email: ana@example.com}, {email: bo@example.com}]
routing:
  - {team: sales}
alerts:
  - on: qualified
    pqls: [probe_intent]
    webhook: {url: "${HOOK_URL}/hook", secret: s3cret}
"""


class Receiver:
    """Loopback webhook receiver: entity id -> arrival time (``time.monotonic``)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.monotonic()
                entity = json.loads(body).get("qualification", {}).get("entity_id", "")
                with me.lock:
                    me.arrivals.setdefault(entity, at)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _load(url: str, key: str, seconds: float, out: Any) -> None:
    """The background load: ``RATE`` events/s in batches over ``CONNS`` connections, each
    on its own schedule, for at most ``seconds`` (a slow answer delays only its own)."""
    import base64
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    per_second = RATE // BATCH // CONNS
    total = int(seconds * per_second)
    start = time.monotonic()
    sent = [0] * CONNS

    def worker(c: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        for n in range(total):
            due = start + n / per_second + c / (per_second * CONNS)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() > start + seconds + 5:
                break
            batch = [
                {
                    "type": "track",
                    "messageId": f"load-{c}-{n}-{i}-{uuid.uuid4().hex[:6]}",
                    "userId": f"user_{(n * BATCH + i + c * 7) % 2000}",
                    "event": EVENTS[i % len(EVENTS)],
                    "properties": {"n": i},
                }
                for i in range(BATCH)
            ]
            body = json.dumps({"batch": batch}).encode()
            headers = {"Content-Type": "application/json", "Authorization": auth}
            conn.request("POST", "/v1/batch", body, headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                sent[c] += BATCH

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(CONNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((sum(sent), time.monotonic() - start))


def _cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "beachhead", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return proc.stdout


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(label: str, database_url: str | None, probes: int, table: BenchTable) -> None:
    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="bh-bench-latency-") as tmp:
        cfg = Path(tmp) / "beachhead.yml"
        cfg.write_text(CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
        env.update(
            {
                "BEACHHEAD_DATA": str(Path(tmp) / "data"),
                "BEACHHEAD_CONFIG": str(cfg),
                "HOOK_URL": receiver.url,
                "BEACHHEAD_EVAL_INTERVAL": "60s",
            }
        )
        if database_url:
            env["BEACHHEAD_DATABASE_URL"] = database_url
        key = _cli(env, "keys", "create", "--name", "bench").strip().splitlines()[-1]
        log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "beachhead", "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            settings = Settings(data=Path(tmp) / "data", database_url=database_url)
            deadline = time.monotonic() + 60
            while database_url is None and find_server(settings) is None:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
            seconds = probes * GAP + 3
            queue: Any = mp.Queue()
            load = mp.Process(target=_load, args=(url, key, seconds, queue))
            load.start()
            time.sleep(2.0)  # the load is running before the first probe
            sent_at: dict[str, float] = {}
            with httpx.Client(base_url=url, auth=(key, ""), timeout=60) as client:
                for i in range(probes):
                    user = f"probe_{i}"
                    r = client.post(
                        "/v1/batch",
                        json={
                            "batch": [{"type": "track", "userId": user, "event": "Probe Clicked"}]
                        },
                    )
                    assert r.status_code == 200, r.text
                    sent_at[user] = time.monotonic()
                    time.sleep(GAP)
            load.join(seconds + 60)
            sent, took = queue.get(timeout=5) if not queue.empty() else (0, seconds)
            deadline = time.monotonic() + 15
            while len(receiver.arrivals) < probes and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            log.close()
            receiver.stop()
        got = [receiver.arrivals[u] - t for u, t in sent_at.items() if u in receiver.arrivals]
        missing = probes - len(got)
        if not got:
            table.add(label, probes, missing, 0.0, 0.0, 0.0, sent / took if took else 0.0)
            return
        table.add(
            label,
            probes,
            missing,
            statistics.median(got),
            _pct(got, 0.95),
            max(got),
            sent / took if took else 0.0,
        )


def _pg() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            name = f"bh_bench_lat_{uuid.uuid4().hex[:8]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(quick: bool = False) -> list[BenchTable]:
    table = BenchTable(
        "Event-to-alert latency under 1,000 events/s (serve, webhook to loopback)",
        ["store", "probes", "missing", "p50 s", "p95 s", "max s", "background ev/s"],
    )
    probes = 6 if quick else 20
    measure("DuckDB (embedded)", None, probes, table)
    pg = _pg()
    if pg is not None:
        try:
            measure("PostgreSQL", pg, probes, table)
        finally:
            _drop(pg)
    table.notes.append(
        "latency: from the 200 of the probe's /v1/batch to its webhook at the receiver; "
        f"aim p95 < 2 s. Load average at the end: {os.getloadavg()[0]:.1f} (2 cores)."
    )
    return [table]
