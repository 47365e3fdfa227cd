"""Reading accounts/users CSVs row by row: malformed rows are rejected on their own line
(``csv_rows_cases.yaml``), and the rows around them are read."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead.ingest.importers import CELL_LIMIT, ImportFailed, ImportReport, _csv_rows, text_lines

CASES: list[dict[str, Any]] = YAML(typ="safe").load(
    Path(__file__).with_name("csv_rows_cases.yaml").read_text()
)


def _bytes(text: str) -> bytes:
    text = text.replace("@BIG@", "x" * (CELL_LIMIT + 1)).replace("@LONG@", "y" * 200_000)
    return text.encode("latin-1")  # \xe9 in the YAML stands for the byte 0xe9


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_csv_rows(case: dict[str, Any]) -> None:
    report = ImportReport()
    raw_of: dict[int, str] = {}
    lines = text_lines(io.BytesIO(_bytes(case["csv"])))
    rows = _csv_rows("accounts", lines, datetime(2026, 1, 1, tzinfo=UTC), report, raw_of)
    if "error" in case:
        with pytest.raises(ImportFailed) as err:
            list(rows)
        assert case["error"] in str(err.value)
        return
    got = [r.derived.trait_rows[0].entity_id for r in rows]
    assert got == case["ids"]
    assert [list(r) for r in report.rejected] == case["rejected"]
    for line, _why in report.rejected:  # the raw text kept for the rejected list
        kept = raw_of[line]
        assert kept and "\x00" not in kept and kept.encode("utf-8")
