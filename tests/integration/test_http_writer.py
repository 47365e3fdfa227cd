"""The group-commit writer behind /v1/*: many requests, one transaction, futures resolved
only after the commit, and a failed append reported to exactly the requests it held."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from beachhead.config import Settings
from beachhead.ingest.message import Message
from beachhead.ingest.segment import normalize
from beachhead.ingest.writer import GroupWriter
from beachhead.runtime import Runtime

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _job(n: int, size: int = 10) -> tuple[list[Message], list[bytes | dict[str, object]]]:
    raws = [
        {"type": "track", "userId": f"u{n}", "event": "Logged In", "messageId": f"j{n}-{i}"}
        for i in range(size)
    ]
    return [normalize(r, NOW) for r in raws], [orjson.dumps(r) for r in raws]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(Settings(data=tmp_path / "data"))
    yield rt
    rt.close()


def test_pending_requests_share_one_commit(runtime: Runtime) -> None:
    writer = GroupWriter(runtime, max_messages=2000)
    futures = [writer.submit(*_job(n), source="http:web") for n in range(30)]  # queued first
    writer.start()
    results = [f.result(timeout=60) for f in futures]
    writer.stop()
    assert writer.stats.commits == 1 and writer.stats.jobs == 30
    assert results[0].stored == 300 and all(r is results[0] for r in results)
    assert runtime.events.count() == 300


def test_groups_are_capped_by_max_messages(runtime: Runtime) -> None:
    writer = GroupWriter(runtime, max_messages=50)
    futures = [writer.submit(*_job(n), source="http:web") for n in range(12)]
    writer.start()
    for f in futures:
        f.result(timeout=60)
    writer.stop()
    assert writer.stats.commits == 3  # 5 + 5 + 2 jobs of 10 messages
    assert runtime.events.count() == 120


def test_a_failed_append_fails_only_its_requests(runtime: Runtime) -> None:
    writer = GroupWriter(runtime)
    good = writer.submit(*_job(1), source="http:a")
    messages, raws = _job(2)
    bad = writer.submit(messages, raws[:3], source="http:b")  # raws do not match messages
    writer.start()
    assert good.result(timeout=60).stored == 10
    assert bad.exception(timeout=60) is not None
    writer.stop()
    assert runtime.events.count() == 10
    late = writer.submit(*_job(3), source="http:a")  # after stop: refused, not lost silently
    assert isinstance(late.exception(timeout=5), RuntimeError)
