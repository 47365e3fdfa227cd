"""Helpers (no tests here) for the engine's backend tests: load a case into a real store.

The messages go through the real ``EventStore.append`` (which dedupes by messageId and
derives trait rows, links and memberships), import rows through ``append_trait_rows``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from beachhead.ingest.segment import normalize
from beachhead.rules.result import Evaluation
from beachhead.store.events import EventStore
from beachhead.store.events_duckdb import DuckDBEventStore
from beachhead.store.events_postgres import PostgresEventStore
from casefile import Case


def fill(store: EventStore, case: Case) -> None:
    """Store the case's messages (all of them, duplicates too) and import rows."""
    if case.raw_messages:
        received = case.messages[0].received_at if case.messages else case.as_of
        msgs = [replace(normalize(raw, received), seq=0) for raw in case.raw_messages]
        store.append(msgs, list(case.raw_messages), "test")
    if case.trait_rows or case.memberships:
        store.append_trait_rows(case.trait_rows, case.memberships)


@contextmanager
def open_store(kind: str, tmp_path: Path, pg_url: str | None) -> Iterator[EventStore]:
    store: EventStore
    if kind == "duckdb":
        store = DuckDBEventStore(tmp_path / "events.duckdb")
    else:
        assert pg_url is not None
        store = PostgresEventStore(pg_url)
    try:
        yield store
    finally:
        store.close()


def comparable(result: Evaluation) -> dict[str, Any]:
    """An Evaluation as plain data with numbers as floats (5 == 5.0 either way)."""

    def num(x: Any) -> Any:
        return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x

    def entities(d: dict[str, Any]) -> dict[str, Any]:
        return {
            k: {
                "scores": {s: (num(v.points), v.band) for s, v in e.scores.items()},
                "stage": e.stage,
            }
            for k, e in d.items()
        }

    return {
        "as_of": result.as_of,
        "users": entities(result.users),
        "accounts": entities(result.accounts),
        "matches": [
            {
                "pql": m.pql,
                "level": m.level,
                "entity": m.entity_id,
                "account": m.account_id,
                "priority": m.priority,
                "touch": m.touch,
                "evidence": [(e.path, e.held, num(e.value)) for e in m.evidence],
            }
            for m in result.matches
        ],
    }


def sentences(result: Evaluation) -> list[tuple[str, str, str, str]]:
    return [(m.pql, m.entity_id, e.path, e.sentence) for m in result.matches for e in m.evidence]
