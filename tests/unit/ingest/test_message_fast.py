"""The hot-path pieces of normalisation give what the plain code gives."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta

import pytest

from beachhead.ingest.message import Message, new_message
from beachhead.ingest.segment import InvalidMessage, normalize

T = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_new_message_is_the_dataclass_with_every_field() -> None:
    values = (
        "m", "group", T, T + timedelta(seconds=1), "e", "u", "a", "g", "cg", "p",
        {"k": 1}, {"t": 2},
    )  # fmt: skip
    fast = new_message(*values)  # type: ignore[arg-type]
    plain = Message(*values)  # type: ignore[arg-type]
    assert fast == plain and type(fast) is Message
    assert [getattr(fast, f.name) for f in fields(Message)] == [*values, 0]
    with pytest.raises(FrozenInstanceError):
        fast.seq = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"messageId": "m\x00"}, "'messageId' contains a NUL character"),
        ({"anonymousId": "a\x00"}, "'anonymousId' contains a NUL character"),
        ({"userId": True}, "'userId' must be a string or a number"),
        ({"context": {"groupId": []}}, "'context.groupId' must be a string or a number"),
        ({"timestamp": ""}, "'timestamp' is not an ISO-8601 time: ''"),
        ({"timestamp": "yesterday"}, "'timestamp' is not an ISO-8601 time: 'yesterday'"),
        ({"originalTimestamp": 5}, "'originalTimestamp' is not an ISO-8601 time: 5"),
    ],
)
def test_fast_paths_keep_the_checks(extra: dict[str, object], reason: str) -> None:
    raw = {"type": "track", "event": "E", "userId": "u", **extra}
    with pytest.raises(InvalidMessage) as info:
        normalize(raw, T)
    assert info.value.reason == reason


def test_bad_batch_sent_at_is_refused_even_with_a_timestamp() -> None:
    raw = {"type": "track", "event": "E", "userId": "u", "timestamp": "2026-03-01T00:00:00Z"}
    with pytest.raises(InvalidMessage) as info:
        normalize(raw, T, "soon")
    assert info.value.reason == "'sentAt' is not an ISO-8601 time: 'soon'"


def test_ids_of_other_forms_are_still_normalised() -> None:
    raw = {
        "type": "track",
        "event": "E",
        "userId": 12,
        "anonymousId": "",
        "messageId": 7.0,
        "context": {"groupId": 3},
        "timestamp": "2026-03-01T14:00:00+02:00",
    }
    m = normalize(raw, T)
    assert (m.user_id, m.anonymous_id, m.message_id, m.context_group_id) == ("12", None, "7", "3")
    assert m.ts == T
