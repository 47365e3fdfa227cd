"""The evaluation lock: one recorded evaluation at a time across processes.

Several ``beachhead serve`` processes on one PostgreSQL each evaluate on their own
schedule. The lifecycle's row lock (``QualificationStore.locked``) already makes their
*records* take turns; this lock also serialises the choice of ``as_of`` and the
computation, so a process never computes an evaluation that another one has overtaken
(which would then be refused as going back). It is a session-level PostgreSQL advisory
lock on a connection of its own, held for one evaluation. The embedded store has one
server per data folder, so there it is a no-op (the scheduler's thread lock suffices).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import text

from beachhead.store.state import StateStore

EVALUATION_LOCK = 727_301  # advisory lock key (migrations use 727_101)


@contextlib.contextmanager
def evaluation_lock(state: StateStore) -> Iterator[None]:
    """Hold the evaluation lock (waiting for it) until the block ends."""
    if state.engine.dialect.name != "postgresql":
        yield
        return
    with state.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": EVALUATION_LOCK})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": EVALUATION_LOCK})
