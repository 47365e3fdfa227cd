"""``snapshot.duckdb_arrow``: a query planned once, its rows as DuckDB's relation API gives them.

The engine fetches with ``execute()`` rather than ``sql().to_arrow_table()`` (which plans a
query twice, docs/architecture.md). These cases (``tests/data/engine/duckdb_arrow_types.yaml``)
check that the two give the same schema and rows, so a DuckDB release that changes one
path's types shows here, and that the warning DuckDB gives for the copy is the only one
silenced.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from ruamel.yaml import YAML

from beachhead.engine.snapshot import duckdb_arrow

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    (Path(__file__).parents[2] / "data" / "engine" / "duckdb_arrow_types.yaml").read_text()
)


@pytest.fixture
def con() -> Any:
    c = duckdb.connect()
    yield c
    c.close()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_schema_and_rows_as_the_relation_api(con: Any, case: dict[str, Any]) -> None:
    got = duckdb_arrow(con, case["select"])
    want = con.sql(case["select"]).to_arrow_table()
    assert got.schema == want.schema
    assert got.to_pylist() == want.to_pylist()


def test_only_the_copy_warning_is_silenced() -> None:
    """Importing the engine adds one filter, for DuckDB's Arrow-copy message only (a
    process-wide filter: ``catch_warnings`` around each call is not thread-safe). Run in
    a fresh interpreter where every warning is shown (pytest installs its own filters)."""
    code = (
        "import warnings, duckdb\n"
        "from beachhead.engine.snapshot import duckdb_arrow\n"
        "c = duckdb.connect()\n"
        "duckdb_arrow(c, 'SELECT 1 AS n')\n"
        "c.execute('SELECT 1 AS n').to_arrow_table()\n"
        "warnings.warn('another warning', UserWarning)\n"
    )
    r = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "another warning" in r.stderr and "Arrow output" not in r.stderr
