"""The replay's identity (``lifecycle_service.Identity``): read once, the engine's snapshot.

A small demo company is generated and imported for real (DuckDB); at every day of its window
``Identity.at`` must equal what the engine resolves from the tables itself, a day where no
identity row became visible reuses the previous snapshot, and a message stored meanwhile
makes it read the rows again.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from beachhead.config import Settings
from beachhead.demo import generate
from beachhead.demo.generator import window
from beachhead.engine.snapshot import resolve_from_tables
from beachhead.ingest.importers import run_import
from beachhead.lifecycle_service import Identity, iso
from beachhead.runtime import Runtime


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("identity") / "files"
    generate(4000, 3, out)
    return out


@pytest.fixture(scope="module")
def runtime(demo_files: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    data = tmp_path_factory.mktemp("identity") / "data"
    rt = Runtime(Settings(data=data, database_url=None))
    for kind, name in (("events", "events.jsonl"), ("accounts", "accounts.csv")):
        body = (demo_files / name).read_bytes()
        run_import(kind, rt.events, rt.state.add_rejects, io.BytesIO(body), name)
    yield rt
    rt.close()


def _end(demo_files: Path) -> datetime:
    manifest = orjson.loads((demo_files / "manifest.json").read_bytes())
    return window(manifest["end"])[1] - timedelta(seconds=1)


def test_every_day_equals_the_engines_own_snapshot(runtime: Runtime, demo_files: Path) -> None:
    end = _end(demo_files)
    identity = Identity(runtime, end)
    con = runtime.events.ibis()
    sizes = []
    for days_back in range(120, -1, -12):
        t = end - timedelta(days=days_back)
        mine = identity.at(t)
        assert mine == resolve_from_tables(con, t, identity.free_mail), iso(t)
        sizes.append(len(mine.users))
    assert sizes[0] < sizes[-1]  # the company grows: the days really differ
    assert identity.reads == 1


def test_a_day_with_nothing_new_reuses_the_snapshot(runtime: Runtime, demo_files: Path) -> None:
    end = _end(demo_files)
    identity = Identity(runtime, end)
    first = identity.at(end - timedelta(days=200))  # before the data: nothing visible
    again = identity.at(end - timedelta(days=150))
    assert again is first and identity.resolves == 1
    assert first.users == {}
    later = identity.at(end)
    assert later is not first and identity.resolves == 2
    assert identity.at(end) is later and identity.resolves == 2


def _message(n: int, user: str, at: datetime) -> bytes:
    message = {
        "type": "identify",
        "userId": user,
        "messageId": f"m-{n}",
        "timestamp": iso(at),
        "traits": {"email": f"{user}@example.org"},
    }
    return orjson.dumps(message) + b"\n"


def test_a_message_stored_meanwhile_is_read(tmp_path: Path) -> None:
    end = datetime(2026, 3, 10, tzinfo=UTC)
    rt = Runtime(Settings(data=tmp_path / "data", database_url=None))
    try:
        body = _message(1, "early", end - timedelta(days=5))
        run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "first")
        identity = Identity(rt, end)
        assert set(identity.at(end).users) == {"early"}
        body = _message(2, "late", end - timedelta(days=3))
        run_import("events", rt.events, rt.state.add_rejects, io.BytesIO(body), "late")
        snap = identity.at(end)
        assert identity.reads == 2
        assert snap.users["late"]["email"] == "late@example.org"
        assert snap == resolve_from_tables(rt.events.ibis(), end, identity.free_mail)
        assert set(identity.at(end - timedelta(days=4)).users) == {"early"}
    finally:
        rt.close()


def test_a_time_after_what_was_read_is_refused(runtime: Runtime, demo_files: Path) -> None:
    end = _end(demo_files)
    identity = Identity(runtime, end - timedelta(days=10))
    with pytest.raises(ValueError, match="read up to"):
        identity.at(end)
