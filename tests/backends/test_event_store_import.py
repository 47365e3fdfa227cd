"""The import service functions against a real store (both backends): batching, strict,
reject records, progress."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from beachhead.config import Settings
from beachhead.ingest.importers import ImportFailed, import_accounts, import_events
from beachhead.ingest.message import Reject
from beachhead.store.events import EventStore, open_event_store

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        return Settings(data=tmp_path / "data", database_url=request.getfixturevalue("pg_url"))
    return Settings(data=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> Iterator[EventStore]:
    s = open_event_store(settings)
    yield s
    s.close()


def lines(n: int, bad_every: int = 0) -> list[bytes]:
    out = []
    for i in range(1, n + 1):
        if bad_every and i % bad_every == 0:
            out.append(b'{"type": "track", "userId": "u"}\n')
        else:
            msg = {"type": "track", "userId": f"u{i % 7}", "event": "E", "messageId": f"m{i}"}
            out.append(orjson.dumps(msg) + b"\n")
    return out


class Sink:
    def __init__(self) -> None:
        self.calls: list[list[Reject]] = []

    def __call__(self, rejects: list[Reject]) -> None:
        self.calls.append(rejects)

    @property
    def positions(self) -> list[int]:
        return [r.position for call in self.calls for r in call]


def test_batches_count_across_commits(store: EventStore) -> None:
    sink, seen = Sink(), []
    report = import_events(
        store,
        sink,
        lines(95, bad_every=10),
        "import:f",
        progress=seen.append,
        received_at=NOW,
        batch_lines=20,
    )
    assert (report.stored, report.duplicates) == (86, 0)
    assert [n for n, _ in report.rejected] == list(range(10, 91, 10))
    assert sink.positions == list(range(10, 91, 10)) and len(sink.calls) > 1
    assert all(r.source == "import:f" and r.received_at == NOW for c in sink.calls for r in c)
    assert seen == sorted(seen) and seen[-1] == 95  # progress: lines done, increasing
    assert store.count() == 86
    again = import_events(store, Sink(), lines(95), "import:f", batch_lines=30)
    assert (again.stored, again.duplicates) == (9, 86)  # the lines that were bad before


def test_strict_stores_nothing_then_everything(store: EventStore) -> None:
    sink = Sink()
    report = import_events(store, sink, lines(50, bad_every=25), "s", strict=True, batch_lines=7)
    assert report.strict_aborted and report.stored == 0 and store.count() == 0
    assert sink.positions == [25, 50]
    ok = import_events(store, Sink(), iter(lines(50)), "s", strict=True, batch_lines=7)
    assert (ok.stored, ok.rejected, ok.strict_aborted) == (50, [], False)


def test_blank_lines_keep_numbering(store: EventStore) -> None:
    data = [b"\n", *lines(2), b"   \n", b'{"type": "alias", "userId": "u"}']
    report = import_events(store, Sink(), data, "s")
    assert report.stored == 2 and report.rejected == [(5, "alias message needs 'previousId'")]


def test_csv_without_id_column_fails_whole(store: EventStore) -> None:
    with pytest.raises(ImportFailed, match="'id' column"):
        import_accounts(store, Sink(), ["name\n", "x\n"], "a")
    with pytest.raises(ImportFailed, match="empty"):
        import_accounts(store, Sink(), [], "a")


def test_csv_quoted_multiline_cells_keep_line_numbers(store: EventStore) -> None:
    text = 'id,notes\nacme,"two\nlines"\n,missing\n'
    sink = Sink()
    report = import_accounts(store, sink, text.splitlines(keepends=True), "a", now=NOW)
    assert report.stored == 1 and report.rejected == [(4, "row needs 'id'")]
    assert sink.calls[0][0].raw == ",missing"
    (row,) = store.trait_rows()
    assert row.traits == {"notes": "two\nlines"} and row.ts == NOW


def test_concurrent_writers_dedupe(settings: Settings) -> None:
    """Two stores writing overlapping ids at once (PostgreSQL: two connections; DuckDB: two
    stores in one process) store every id once and count the rest as duplicates."""
    stores = [open_event_store(settings), open_event_store(settings)]
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def work(s: EventStore) -> None:
        try:
            r = import_events(s, Sink(), lines(600), "c", batch_lines=50)
            results.append((r.stored, r.duplicates))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors
        assert sum(r[0] for r in results) == 600
        assert sum(r[1] for r in results) == 600
        assert stores[0].count() == 600
        seqs = [m.seq for m in stores[0].messages()]
        assert len(set(seqs)) == 600
    finally:
        for s in stores:
            s.close()


# (line, the message's time or the reason it is rejected): a line's own receivedAt, not
# the import's time, dates a message without timestamp and corrects originalTimestamp
RECEIVED_CASES = [
    ({"receivedAt": "2026-02-10T08:00:00Z"}, "2026-02-10T08:00:00+00:00"),
    ({}, NOW.isoformat()),
    (
        {
            "originalTimestamp": "2026-02-10T07:50:00Z",
            "sentAt": "2026-02-10T07:55:00Z",
            "receivedAt": "2026-02-10T08:00:00Z",
        },
        "2026-02-10T07:55:00+00:00",  # the device's clock was 5 minutes behind
    ),
    (
        {"timestamp": "2026-02-01T00:00:00Z", "receivedAt": "2026-02-10T08:00:00Z"},
        "2026-02-01T00:00:00+00:00",
    ),
    ({"receivedAt": "yesterday"}, "'receivedAt' is not an ISO-8601 time: 'yesterday'"),
]


@pytest.mark.parametrize(("extra", "want"), RECEIVED_CASES)
def test_a_lines_received_at_dates_it(store: EventStore, extra: dict[str, str], want: str) -> None:
    msg = {"type": "track", "userId": "u", "event": "E", "messageId": "m1", **extra}
    report = import_events(store, Sink(), [orjson.dumps(msg)], "s", received_at=NOW)
    if want.startswith("'"):
        assert (report.stored, report.rejected) == (0, [(1, want)])
        return
    [stored] = list(store.messages())
    assert stored.ts.isoformat() == want
