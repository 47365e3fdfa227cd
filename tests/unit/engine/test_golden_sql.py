"""The compiled feature passes of the shipped template, as SQL, pinned in golden files.

What this pins: the shape of the one grouped aggregation per level (a change in it shows
up as a readable diff in review) for DuckDB and PostgreSQL. It compiles unbound Ibis
tables, so no database is needed. Regenerate after an intended change with
``BEACHHEAD_UPDATE_GOLDEN=1 pytest tests/unit/engine/test_golden_sql.py``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import ibis
import pytest

from beachhead.engine.features import compute
from beachhead.engine.snapshot import Uploaded
from beachhead.engine.values import Ctx
from beachhead.rules.load import load_text
from beachhead.rules.model import Level
from beachhead.rules.plan import plan

GOLDEN = Path(__file__).parents[2] / "golden" / "engine"
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)

EVENTS = ibis.table(
    {
        "seq": "int64",
        "message_id": "string",
        "type": "string",
        "event": "string",
        "user_id": "string",
        "anonymous_id": "string",
        "group_id": "string",
        "context_group_id": "string",
        "previous_id": "string",
        "ts": "timestamp",
        "received_at": "timestamp",
        "properties": "json",
        "traits": "json",
        "raw": "json",
        "content_hash": "string",
        "source": "string",
    },
    name="events",
)


def _snapshot_tables() -> Uploaded:
    con = ibis.duckdb.connect()  # only a holder: the tables below are unbound
    return Uploaded(
        con=con,
        names=(),
        map=ibis.table({"raw_id": "string", "map_user": "string"}, name="snap_map"),
        stitched=1,  # with links: the stream goes through the map
        members=ibis.table({"m_account": "string", "m_user": "string"}, name="snap_members"),
        users=ibis.table(
            {"user_id": "string", "u_traits": "string", "primary_account": "string"},
            name="snap_users",
        ),
        accounts=ibis.table({"account_id": "string", "a_traits": "string"}, name="snap_accounts"),
    )


def _template_sql(level: Level, dialect: str) -> str:
    text = (files("beachhead.rules") / "templates" / "beachhead.yml").read_text("utf-8")
    config = load_text(text, "beachhead.yml")
    p = plan(config)
    expr = compute(level, p.features_of(level), EVENTS, _snapshot_tables(), Ctx(AS_OF, dialect))
    assert expr is not None
    return str(ibis.to_sql(expr, dialect=dialect)) + "\n"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize("level", [Level.USER, Level.ACCOUNT])
def test_template_feature_pass_sql(level: Level, dialect: str) -> None:
    sql = _template_sql(level, dialect)
    path = GOLDEN / f"template_{level}_features.{dialect}.sql"
    if os.environ.get("BEACHHEAD_UPDATE_GOLDEN"):
        path.write_text(sql, "utf-8")
    assert path.exists(), f"{path} missing: run with BEACHHEAD_UPDATE_GOLDEN=1"
    assert sql == path.read_text("utf-8")


@pytest.mark.parametrize(
    ("level", "groupings"),
    # plain aggregates: 1; distinct days (both levels): 2 (per key and day, then per key);
    # distinct users (account level): 2 (per key and user, then per key), where the exact
    # plain aggregates (counts, first/last seen) ride along: no plain pass of its own
    [(Level.USER, 3), (Level.ACCOUNT, 4)],
)
def test_one_grouped_aggregation_per_level(level: Level, groupings: int) -> None:
    sql = _template_sql(level, "duckdb")
    assert sql.count("GROUP BY") == groupings
    assert sql.count('FROM "events"') == 1  # the events are read once
