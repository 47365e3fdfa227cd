"""The state store on SQLite and PostgreSQL: migrations, write keys, rejects."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from beachhead.config import sqlalchemy_url
from beachhead.ingest.message import Reject
from beachhead.store.state import StateStore, head_revision, migrate, scripted_head
from beachhead.store.state_models import all_models


@pytest.fixture(params=["sqlite", "postgres"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return sqlalchemy_url(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def state(state_url: str) -> Iterator[StateStore]:
    store = StateStore(state_url)
    try:
        yield store
    finally:
        store.close()


def test_migrated_schema_matches_the_models(state: StateStore) -> None:
    assert state.revision == head_revision()
    with state.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), all_models().metadata)
    assert diffs == []
    assert {"write_keys", "rejects", "alembic_version"} <= set(
        inspect(state.engine).get_table_names()
    )
    assert migrate(state.engine) == head_revision()  # a second run is a no-op


def test_fast_head_agrees_with_alembic() -> None:
    """The head read from the files (no alembic import) is alembic's head."""
    assert scripted_head() == head_revision() is not None


def test_write_keys_lifecycle(state: StateStore) -> None:
    key, name = state.create_key("web")
    other, default_name = state.create_key(None)
    assert name == "web" and default_name.startswith("key-")
    assert key != other and key.startswith("bh_") and len(key) > 30
    assert state.key_name(key) == "web"
    assert state.key_name("bh_unknown") is None
    listed = state.list_keys()
    assert [k.name for k in listed] == ["web", default_name]
    assert listed[0].prefix == key[:10] and listed[0].revoked_at is None
    with state.engine.connect() as conn:  # only a hash is stored
        dump = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM write_keys"))
    assert key not in dump and other not in dump

    assert state.revoke_key(key) is True
    assert state.revoke_key(key) is False
    assert state.revoke_key("bh_unknown") is False
    assert state.key_name(key) is None
    assert state.key_name(other) == default_name
    revoked = state.list_keys()[0].revoked_at
    assert revoked is not None and revoked.tzinfo is not None


def test_rejects_round_trip_newest_first(state: StateStore) -> None:
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rejects = [
        Reject(
            "http:/v1/batch key=web", i, f"reason {i}", f'{{"i": {i}}}', t0 + timedelta(seconds=i)
        )
        for i in range(5)
    ]
    state.add_rejects(rejects[:3])
    state.add_rejects(rejects[3:])
    state.add_rejects([])
    found = state.list_rejects()
    assert [r.position for r in found] == [4, 3, 2, 1, 0]
    assert found[0].received_at == t0 + timedelta(seconds=4)
    assert (found[-1].source, found[-1].reason, found[-1].raw) == (
        "http:/v1/batch key=web",
        "reason 0",
        '{"i": 0}',
    )
    assert [r.position for r in state.list_rejects(limit=2)] == [4, 3]


def test_concurrent_first_use_migrates_once(state_url: str) -> None:
    """Several processes opening a fresh store at once all succeed (the lock serialises)."""
    code = (
        "import sys; from beachhead.store.state import StateStore; "
        "s = StateStore(sys.argv[1]); s.create_key('p'); s.close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, state_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    store = StateStore(state_url)
    try:
        assert len(store.list_keys()) == 4
    finally:
        store.close()
