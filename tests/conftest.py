"""Shared fixtures: real PostgreSQL databases made per test, temporary data folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgdb import PG_ADMIN_URL, PG_AVAILABLE, scratch_database

if os.environ.get("CI") and not PG_AVAILABLE:  # CI must test PostgreSQL, never skip it
    raise RuntimeError(f"PostgreSQL is required in CI and {PG_ADMIN_URL} does not answer")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not available")
    with scratch_database() as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty embedded data folder."""
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture(params=["duckdb", "postgres"])
def backend_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a CLI/server run on each backend: embedded, then PostgreSQL."""
    env = {"BEACHHEAD_DATA": str(tmp_path / "data")}
    if request.param == "postgres":
        env["BEACHHEAD_DATABASE_URL"] = request.getfixturevalue("pg_url")
    yield env
