"""Alembic environment: always run with a live connection handed over by ``StateStore``.

``store/state.py`` opens the engine, takes a migration lock and passes the connection in
``config.attributes["connection"]``; there is no alembic.ini and no URL in this file, so
the same scripts run on SQLite and PostgreSQL, from the CLI or the server.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from beachhead.store.state_models import all_models


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=all_models().metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through beachhead (beachhead migrate), not alembic directly")
_run(connection)
