"""The test PostgreSQL server: where it is and whether it answers.

A module of its own (not ``conftest``) so that tests can import it: several folders have a
``conftest.py``, and ``from conftest import ...`` gets whichever one pytest loaded last.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN_URL = os.environ.get("BEACHHEAD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


PG_AVAILABLE = _pg_available()


@contextmanager
def scratch_database(prefix: str = "bh_test") -> Iterator[str]:
    """A fresh, empty database on the test server, dropped (with its sessions) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
