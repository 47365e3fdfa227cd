"""Segment normalisation, driven by segment_cases.yaml, plus content-derived message ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from beachhead.ingest.segment import (
    DERIVED_ID_PREFIX,
    InvalidMessage,
    content_hash,
    normalize,
)

CASES_FILE = Path(__file__).with_name("segment_cases.yaml")
CASES: list[dict[str, Any]] = YAML(typ="safe").load(CASES_FILE.read_text())
DEFAULT_RECEIVED = "2026-03-01T12:00:00Z"
TIME_FIELDS = {"ts", "received_at"}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_normalize_case(case: dict[str, Any]) -> None:
    received = _when(case.get("received_at", DEFAULT_RECEIVED))
    if "error" in case:
        with pytest.raises(InvalidMessage) as info:
            normalize(case["raw"], received, case.get("sent_at"))
        assert info.value.reason == case["error"]
        return
    msg = normalize(case["raw"], received, case.get("sent_at"))
    for name, want in case["expect"].items():
        got = getattr(msg, name)
        if name in TIME_FIELDS:
            assert got == _when(want), name
            assert got.tzinfo is not None and got.utcoffset().total_seconds() == 0
        else:
            assert got == want, name


def test_cases_cover_every_type_and_both_outcomes() -> None:
    types = {
        c["raw"].get("type")
        for c in CASES
        if isinstance(c["raw"], dict) and isinstance(c["raw"].get("type"), str)
    }
    assert {"track", "identify", "group", "page", "screen", "alias"} <= types
    assert any("error" in c for c in CASES) and any("expect" in c for c in CASES)


RECEIVED = datetime(2026, 3, 1, 12, tzinfo=UTC)
BASE = {"type": "track", "event": "Signed Up", "userId": "u1", "properties": {"a": 1, "b": [1, 2]}}


def test_missing_message_id_is_derived_from_content() -> None:
    msg = normalize(BASE, RECEIVED)
    assert msg.message_id == DERIVED_ID_PREFIX + content_hash(BASE)
    assert msg.message_id.startswith(DERIVED_ID_PREFIX) and len(msg.message_id) > 20


def test_derived_id_ignores_key_order_and_send_time_fields() -> None:
    reordered = {
        "properties": {"b": [1, 2], "a": 1},
        "userId": "u1",
        "event": "Signed Up",
        "type": "track",
    }
    resent = {
        **BASE,
        "sentAt": "2026-03-01T11:00:00Z",
        "writeKey": "k",
        "receivedAt": "2026-03-01T12:00:00Z",
    }
    later = datetime(2027, 1, 1, tzinfo=UTC)
    ids = {
        normalize(m, r).message_id
        for m, r in [(BASE, RECEIVED), (reordered, RECEIVED), (resent, later)]
    }
    assert len(ids) == 1


def test_derived_id_changes_with_content() -> None:
    other = {**BASE, "properties": {"a": 2, "b": [1, 2]}}
    assert normalize(BASE, RECEIVED).message_id != normalize(other, RECEIVED).message_id


def test_given_message_id_is_kept() -> None:
    assert normalize({**BASE, "messageId": "abc"}, RECEIVED).message_id == "abc"


def test_naive_received_at_is_taken_as_utc() -> None:
    msg = normalize(BASE, datetime(2026, 3, 1, 12))
    assert msg.ts == RECEIVED and msg.received_at == RECEIVED
