"""The events store on both backends (DuckDB file, PostgreSQL): the same answers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from beachhead.config import Settings
from beachhead.ingest.message import MembershipRow, Message, TraitRow
from beachhead.ingest.segment import normalize
from beachhead.store.events import AppendResult, EventStore, StoreBusy, open_event_store

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(minute: int) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat()


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "postgres":
        return Settings(data=tmp_path / "data", database_url=request.getfixturevalue("pg_url"))
    return Settings(data=tmp_path / "data")


@pytest.fixture
def store(settings: Settings) -> Iterator[EventStore]:
    s = open_event_store(settings)
    try:
        yield s
    finally:
        s.close()


def msgs(*raws: dict[str, Any]) -> tuple[list[Message], list[dict[str, Any]]]:
    return [normalize(r, T0) for r in raws], list(raws)


def track(mid: str, minute: int, event: str = "E", **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": mid,
        "userId": "u",
        "event": event,
        "timestamp": at(minute),
        **extra,
    }


def test_append_and_read_back(store: EventStore) -> None:
    ms, raws = msgs(track("m1", 1, properties={"n": 1, "nested": {"x": [1, 2]}}))
    assert store.append(ms, raws, "test") == AppendResult(1, 0, 0)
    (got,) = list(store.messages())
    want = ms[0]
    assert (
        got.message_id,
        got.type,
        got.event,
        got.user_id,
        got.ts,
        got.received_at,
        got.properties,
    ) == (want.message_id, "track", "E", "u", want.ts, T0, {"n": 1, "nested": {"x": [1, 2]}})
    assert got.seq > 0 and got.ts.tzinfo is not None
    assert store.count() == 1


def test_dedupe_within_batch_and_against_store(store: EventStore) -> None:
    ms, raws = msgs(track("m1", 1), track("m1", 1), track("m2", 2))
    assert store.append(ms, raws, "t") == AppendResult(2, 1, 0)
    ms2, raws2 = msgs(track("m2", 2), track("m3", 3))
    assert store.append(ms2, raws2, "t") == AppendResult(1, 1, 0)
    assert store.count() == 3
    assert store.append(ms, raws, "t") == AppendResult(0, 3, 0)


def test_duplicates_that_differ_are_counted(store: EventStore) -> None:
    ms, raws = msgs(track("m1", 1, "A"), track("m1", 1, "B"))
    assert store.append(ms, raws, "t") == AppendResult(1, 1, 1)
    ms2, raws2 = msgs(track("m1", 1, "C"), track("m1", 1, "A"))
    assert store.append(ms2, raws2, "t") == AppendResult(0, 2, 1)
    assert [m.event for m in store.messages()] == ["A"]  # the first one stored stays


def test_raw_bytes_are_accepted(store: EventStore) -> None:
    import orjson

    ms, raws = msgs(track("m1", 1))
    assert store.append(ms, [orjson.dumps(raws[0])], "t").stored == 1
    assert store.append(ms, raws, "t") == AppendResult(0, 1, 0)  # same content hash


def test_order_is_ts_then_store_order(store: EventStore) -> None:
    ms, raws = msgs(track("late", 5), track("b", 1), track("a", 1))
    store.append(ms, raws, "t")
    ms2, raws2 = msgs(track("early", 0), track("c", 1))
    store.append(ms2, raws2, "t")
    assert [m.message_id for m in store.messages()] == ["early", "b", "a", "c", "late"]
    seqs = [m.seq for m in store.messages()]
    assert len(set(seqs)) == 5


def test_as_of_filters_every_table(store: EventStore) -> None:
    ms, raws = msgs(
        {
            "type": "identify",
            "userId": "u",
            "anonymousId": "a",
            "traits": {"k": 1},
            "timestamp": at(1),
        },
        {
            "type": "group",
            "userId": "u",
            "groupId": "g",
            "traits": {"plan": "free"},
            "timestamp": at(2),
        },
        {"type": "alias", "userId": "u", "previousId": "p", "timestamp": at(3)},
        track("t", 4),
    )
    store.append(ms, raws, "t")
    cut = T0 + timedelta(minutes=2)
    assert [m.type for m in store.messages(cut)] == ["identify", "group"]
    assert len(list(store.messages())) == 4
    assert [(r.kind, r.entity_id, r.traits, r.source) for r in store.trait_rows(cut)] == [
        ("user", "u", {"k": 1}, "identify"),
        ("account", "g", {"plan": "free"}, "group"),
    ]
    assert [(lk.from_id, lk.to_id) for lk in store.links(cut)] == [("a", "u")]
    assert [(lk.from_id, lk.to_id) for lk in store.links()] == [("a", "u"), ("p", "u")]
    assert [(m.user_id, m.account_id, m.source) for m in store.memberships(cut)] == [
        ("u", "g", "group")
    ]
    assert store.memberships(T0) == []


def test_derived_rows_only_for_stored_messages(store: EventStore) -> None:
    ident = {
        "type": "identify",
        "userId": "u",
        "messageId": "i1",
        "traits": {"a": 1},
        "timestamp": at(1),
    }
    ms, raws = msgs(ident, {**ident, "traits": {"a": 2}})
    assert store.append(ms, raws, "t") == AppendResult(1, 1, 1)
    store.append(ms, raws, "t")
    rows = store.trait_rows()
    assert [r.traits for r in rows] == [{"a": 1}]
    (msg,) = list(store.messages())
    assert rows[0].seq == msg.seq


def test_append_trait_rows_for_imports(store: EventStore) -> None:
    t = T0 + timedelta(minutes=1)
    n = store.append_trait_rows(
        [
            TraitRow("account", "acme", t, {"plan": "team", "seats": 5}, "import"),
            TraitRow("user", "u1", t, {"email": "a@acme.com"}, "import"),
        ],
        [MembershipRow("u1", "acme", t, "import")],
    )
    assert n == 3
    rows = store.trait_rows()
    assert [(r.kind, r.entity_id, r.traits) for r in rows] == [
        ("account", "acme", {"plan": "team", "seats": 5}),
        ("user", "u1", {"email": "a@acme.com"}),
    ]
    assert rows[0].seq < rows[1].seq
    assert [(m.user_id, m.account_id) for m in store.memberships()] == [("u1", "acme")]
    assert store.trait_rows(T0) == [] and store.count() == 0


def test_reopen_keeps_data_and_schema(settings: Settings) -> None:
    s = open_event_store(settings)
    ms, raws = msgs(track("m1", 1))
    s.append(ms, raws, "t")
    s.close()
    s = open_event_store(settings)
    try:
        assert s.count() == 1
        ms2, raws2 = msgs(track("m2", 2))
        s.append(ms2, raws2, "t")
        seqs = [m.seq for m in s.messages()]
        assert seqs == sorted(seqs) and len(set(seqs)) == 2
    finally:
        s.close()


def test_ibis_reads_the_same_tables(store: EventStore) -> None:
    ms, raws = msgs(track("m1", 1, "A"), track("m2", 2, "B"), track("m3", 3, "A"))
    store.append(ms, raws, "t")
    con = store.ibis()
    t = con.table("events")
    counts = t.group_by("event").aggregate(n=t.count()).order_by("event").execute()
    assert list(counts["event"]) == ["A", "B"] and list(counts["n"]) == [2, 1]
    for name in ("trait_rows", "links", "memberships"):
        assert int(con.table(name).count().execute()) == 0
    ms2, raws2 = msgs(track("m4", 4, "B"))
    store.append(ms2, raws2, "t")
    assert int(con.table("events").count().execute()) == 4  # sees later commits


def test_embedded_store_held_elsewhere_is_busy(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path / "data")
    open_event_store(settings).close()
    code = (
        "import sys, time\n"
        "from beachhead.config import Settings\n"
        "from beachhead.store.events import open_event_store\n"
        f"s = open_event_store(Settings(data={str(settings.data)!r}))\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreBusy) as info:
            open_event_store(settings)
        assert f"PID {holder.pid}" in str(info.value)
        assert str(settings.duckdb_path) in str(info.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


def test_two_embedded_stores_in_one_process_share_seq(tmp_path: Path) -> None:
    settings = Settings(data=tmp_path / "data")
    a, b = open_event_store(settings), open_event_store(settings)
    try:
        a.append(*msgs(track("m1", 1)), "t")
        b.append(*msgs(track("m2", 1)), "t")
        a.append(*msgs(track("m3", 1)), "t")
        assert [m.message_id for m in b.messages()] == ["m1", "m2", "m3"]
    finally:
        a.close()
        b.close()
    c = open_event_store(settings)  # reopened: the counter starts after the largest seq
    try:
        c.append(*msgs(track("m4", 1)), "t")
        assert [m.message_id for m in c.messages()] == ["m1", "m2", "m3", "m4"]
    finally:
        c.close()


def test_nul_inside_json_values_is_stored(store: EventStore) -> None:
    ms, raws = msgs(track("m1", 1, properties={"note": "a\x00b"}))
    assert store.append(ms, raws, "t").stored == 1
    (got,) = list(store.messages())
    assert got.properties["note"] in ("a\x00b", "a\ufffdb")  # PostgreSQL JSONB has no NUL


@pytest.mark.parametrize("text", ["C:\\u0000dir", "\\\\u0000", "ends with \\", "u0000"])
def test_text_that_only_looks_like_a_nul_escape_is_kept_as_it_is(
    store: EventStore, text: str
) -> None:
    """A backslash followed by the text u0000 is no NUL: PostgreSQL's NUL guard rewrote it
    (``C:\\u0000dir`` came back as ``C:\\ufffddir``), while the embedded store kept it."""
    ms, raws = msgs(track("m1", 1, properties={"note": text}))
    assert store.append(ms, raws, "t").stored == 1
    (got,) = list(store.messages())
    assert got.properties["note"] == text


def _stored_raw(store: EventStore) -> list[tuple[str, dict[str, Any], str]]:
    import orjson

    t = store.ibis().table("events")
    df = t.order_by("seq").select("message_id", "raw", "content_hash").execute()
    return [
        (mid, raw if isinstance(raw, dict) else orjson.loads(raw), h)
        for mid, raw, h in zip(df["message_id"], df["raw"], df["content_hash"], strict=True)
    ]


def test_encoded_raw_is_stored_as_the_dict_is(store: EventStore) -> None:
    import orjson

    from beachhead.ingest.segment import content_hash
    from beachhead.store.events import Encoded

    ms, raws = msgs(track("m1", 1, properties={"k": [1, "x"]}), track("m2", 2))
    encoded = [Encoded(r, orjson.dumps(r)) for r in raws]
    assert store.append(ms[:1], encoded[:1], "t") == AppendResult(1, 0, 0)
    assert store.append(ms[1:], raws[1:], "t") == AppendResult(1, 0, 0)
    got = _stored_raw(store)
    assert got == [(r["messageId"], r, content_hash(r)) for r in raws]
    # the same content hash whichever form came first: a re-send is an equal duplicate
    assert store.append(ms, raws, "t") == AppendResult(0, 2, 0)
    assert store.append(ms, encoded, "t") == AppendResult(0, 2, 0)


def test_times_with_an_offset_are_stored_as_utc(store: EventStore) -> None:
    received = datetime(2026, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=5)))
    raw = {**track("m1", 0), "timestamp": "2026-03-01T14:00:00+02:00"}
    store.append([normalize(raw, received)], [raw], "t")
    (got,) = list(store.messages())
    assert got.ts == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert got.received_at == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    df = store.ibis().table("events").select("ts", "received_at").execute()
    assert df["ts"][0].to_pydatetime() == datetime(2026, 3, 1, 12)
    assert df["received_at"][0].to_pydatetime() == datetime(2026, 3, 1, 12, 30)


def test_batch_mixing_stored_and_new_messages_stores_the_new_ones_once(
    store: EventStore,
) -> None:
    ident = {"type": "identify", "userId": "u", "anonymousId": "a", "traits": {"p": 1}}
    ms, raws = msgs(track("m1", 1))
    store.append(ms, raws, "t")
    ms2, raws2 = msgs(
        track("m1", 1), {**ident, "messageId": "i1", "timestamp": at(2)}, track("m3", 3)
    )
    assert store.append(ms2, raws2, "t") == AppendResult(2, 1, 0)
    stored = {m.message_id: m.seq for m in store.messages()}
    assert sorted(stored) == ["i1", "m1", "m3"]
    assert len(set(stored.values())) == 3
    (row,) = store.trait_rows()
    (link,) = store.links()
    assert row.seq == link.seq == stored["i1"] and row.traits == {"p": 1}


def test_named_ids_are_each_visible_id_once_as_the_oracle_names_them(store: EventStore) -> None:
    """``engine.snapshot.named_ids`` and ``store.activity_queries.named_ids`` (the engine's
    and the directory's) give every visible raw id once, sorted, as the oracle's walk over
    the messages does. Ibis once compiled the engine's as ``SELECT DISTINCT raw, ts`` on
    PostgreSQL: one id per message."""
    from beachhead.engine.snapshot import named_ids as engine_ids
    from beachhead.ingest.identity import named_ids as oracle_ids
    from beachhead.store.activity_queries import named_ids as directory_ids

    anon = {"type": "page", "anonymousId": "anon-1", "name": "Docs"}
    ms, raws = msgs(
        *(track(f"m{i}", i) for i in range(5)),  # "u" five times, at five times
        *({**anon, "messageId": f"p{i}", "timestamp": at(10 + i)} for i in range(3)),
        {**track("late", 60), "userId": "later"},  # after as_of: not visible
    )
    store.append(ms, raws, "t")
    as_of = T0 + timedelta(minutes=30)
    want = sorted(set(oracle_ids([m for m in ms if m.ts <= as_of])))
    assert want == ["anon-1", "u"]
    assert engine_ids(store.ibis(), as_of) == want
    assert directory_ids(store.ibis(), as_of) == want


def test_two_duckdb_stores_in_one_process_each_read_their_own_tables(tmp_path: Path) -> None:
    """The directory's queries keep table expressions per Ibis backend. Ibis backends made
    from a DuckDB connection all compare equal (``db_identity``), so a cache keyed by
    backend gave the second store the first one's tables: its counts, or "Connection has
    already been closed" once the first was closed."""
    from beachhead.store.activity_queries import named_ids, table_counts
    from beachhead.store.events_duckdb import DuckDBEventStore

    first = DuckDBEventStore(tmp_path / "first.duckdb")
    ms, raws = msgs(track("a1", 1), track("a2", 2))
    first.append(ms, raws, "t")
    assert table_counts(first.ibis(), ("events",)) == (2,)
    first.close()
    second = DuckDBEventStore(tmp_path / "second.duckdb")
    try:
        ms, raws = msgs({**track("b1", 1), "userId": "other"})
        second.append(ms, raws, "t")
        assert table_counts(second.ibis(), ("events",)) == (1,)
        assert named_ids(second.ibis(), T0 + timedelta(minutes=5)) == ["other"]
    finally:
        second.close()
