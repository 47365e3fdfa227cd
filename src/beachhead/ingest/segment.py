"""Segment-spec message -> ``Message``: validation and normalisation, pure and fast.

This sits on the hot path of HTTP ingest (thousands of messages a second), so it works on
the plain ``dict`` that ``orjson`` gives, builds no pydantic model, and caches the parse of
timestamp strings (a batch usually repeats its ``sentAt`` and many close timestamps).

Rules (``docs/architecture.md``, the specs' definitions and interfaces):

- ``type`` is one of track identify group page screen alias; a message needs ``userId`` or
  ``anonymousId``; track needs ``event``, group ``groupId``, alias ``previousId``.
- ids are strings: ``123`` and ``"123"`` are one id; an empty string is no id.
- a timestamp that is present must parse as ISO-8601; a time without a zone is UTC.
- the time is ``timestamp``; else ``originalTimestamp`` corrected by the clock skew
  ``received_at - sentAt`` (``sentAt`` of the message, else of the batch); else received_at.
- a missing ``messageId`` is derived from a hash of the content, so re-sending or
  re-importing the same message stores it once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

import orjson

from beachhead.ingest.message import Message, MessageType, new_message

TYPES: frozenset[str] = frozenset({"track", "identify", "group", "page", "screen", "alias"})
_TYPES_TEXT = ", ".join(sorted(TYPES))

# Keys that a sender or a relay may change between two sends of the same message; they are
# left out of the content hash so the same message hashes the same.
HASH_EXCLUDED: frozenset[str] = frozenset({"sentAt", "receivedAt", "writeKey"})

# Prefix of derived message ids, so a reader can tell them from a library's own.
DERIVED_ID_PREFIX = "h-"


class InvalidMessage(ValueError):
    """A message that cannot be stored; ``reason`` names the field and what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=65536)
def _parse_iso(text: str) -> datetime | None:
    """ISO-8601 text -> tz-aware UTC datetime, or None when it does not parse (cached)."""
    s = text.strip()
    if s.endswith("z"):
        s = s[:-1] + "Z"
    try:
        dt = datetime.fromisoformat(s)
        if dt.tzinfo is None:
            return dt.replace(tzinfo=UTC)
        # an offset at the ends of the calendar (0001-01-01T00:00+01:00) has no UTC time
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parses_without_utc(text: str) -> bool:
    """An ISO-8601 time whose offset takes it past the calendar's ends in UTC."""
    try:
        datetime.fromisoformat(text.strip().removesuffix("z").removesuffix("Z"))
    except ValueError:
        return False
    return True


def parse_time(value: object, field: str) -> datetime | None:
    """A present timestamp field -> UTC datetime; absent (None) -> None; bad -> InvalidMessage."""
    if value is None:
        return None
    if isinstance(value, str) and value:
        dt = _parse_iso(value)
        if dt is not None:
            return dt
        if _parses_without_utc(value):
            raise InvalidMessage(f"'{field}' falls outside the calendar in UTC: {_short(value)}")
    raise InvalidMessage(f"'{field}' is not an ISO-8601 time: {_short(value)}")


def _short(value: object) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_id(value: object, field: str) -> str | None:
    """An id field -> its string form (``123`` -> ``"123"``); empty, blank (only white
    space: a template that filled in nothing) or absent -> None. Other ids are kept as
    they are, spaces included: ids are compared exactly."""
    if value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidMessage(f"'{field}' contains a NUL character")
        return None if not value or value.isspace() else value
    if isinstance(value, bool):
        raise InvalidMessage(f"'{field}' must be a string or a number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise InvalidMessage(f"'{field}' must be a string or a number")


def _plain_id(v: str) -> bool:
    """The common case, taken as it is: not empty, not blank, no NUL (a first character
    that is not white space settles blankness)."""
    return bool(v) and not v[0].isspace() and "\x00" not in v


def _object(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise InvalidMessage(f"'{field}' must be an object")


def canonical_json(raw: dict[str, Any]) -> bytes:
    """The message's content as canonical JSON: sorted keys, without the send-time keys."""
    if HASH_EXCLUDED.isdisjoint(raw):
        content = raw
    else:
        content = {k: v for k, v in raw.items() if k not in HASH_EXCLUDED}
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def content_hash(raw: dict[str, Any]) -> str:
    """A stable hash of the message's content (the ``content_hash`` column)."""
    return hashlib.blake2b(canonical_json(raw), digest_size=16).hexdigest()


def derived_message_id(raw: dict[str, Any]) -> str:
    """The id given to a message that has none: deterministic in its content."""
    return DERIVED_ID_PREFIX + content_hash(raw)


def normalize(raw: object, received_at: datetime, sent_at: str | None = None) -> Message:
    """Validate one raw Segment message and normalise it (see the module docstring).

    ``sent_at`` is the batch's ``sentAt`` (a message's own ``sentAt`` wins). Raises
    ``InvalidMessage`` with a reason naming the field.
    """
    if not isinstance(raw, dict):
        raise InvalidMessage("message must be a JSON object")
    get = raw.get
    mtype = get("type")
    if mtype is None or mtype == "":
        raise InvalidMessage("message needs 'type'")
    if not isinstance(mtype, str) or mtype not in TYPES:  # a list or object is no type
        raise InvalidMessage(f"unknown type {_short(mtype)} (expected one of {_TYPES_TEXT})")

    # ids: a non-empty str without NUL is the common case and is taken as it is
    v = get("userId")
    user_id = v if v.__class__ is str and _plain_id(v) else as_id(v, "userId")
    v = get("anonymousId")
    anonymous_id = v if v.__class__ is str and _plain_id(v) else as_id(v, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise InvalidMessage(f"{mtype} message needs 'userId' or 'anonymousId'")

    context = _object(get("context"), "context")
    properties = _object(get("properties"), "properties")
    traits: dict[str, Any] = {}
    event: str | None = None
    group_id: str | None = None
    previous_id: str | None = None

    if mtype == "track":
        ev = get("event")
        if ev is None or ev == "":
            raise InvalidMessage("track message needs 'event'")
        if not isinstance(ev, str):
            raise InvalidMessage("'event' must be a string")
        if "\x00" in ev:
            raise InvalidMessage("'event' contains a NUL character")
        event = ev
    elif mtype == "identify":
        ctx_traits = _object(context.get("traits"), "context.traits")
        own = _object(get("traits"), "traits")
        traits = {**ctx_traits, **own} if ctx_traits else own
    elif mtype == "group":
        group_id = as_id(get("groupId"), "groupId")
        if group_id is None:
            raise InvalidMessage("group message needs 'groupId'")
        traits = _object(get("traits"), "traits")
    elif mtype == "alias":
        previous_id = as_id(get("previousId"), "previousId")
        if previous_id is None:
            raise InvalidMessage("alias message needs 'previousId'")
    else:  # page, screen
        name = get("name")
        if name is None or name == "":
            name = properties.get("name")
        if name is not None and name != "":
            if not isinstance(name, str) or "\x00" in name:
                raise InvalidMessage(f"{mtype} 'name' must be a string without NUL characters")
            event = name

    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    ts = _message_time(raw, received_at, sent_at)

    v = get("messageId")
    message_id = v if v.__class__ is str and v and "\x00" not in v else as_id(v, "messageId")
    if message_id is None:
        message_id = derived_message_id(raw)
    v = context.get("groupId")
    context_group_id = None if v is None else as_id(v, "context.groupId")

    return new_message(
        message_id,
        cast(MessageType, mtype),
        ts,
        received_at,
        event,
        user_id,
        anonymous_id,
        group_id,
        context_group_id,
        previous_id,
        properties,
        traits,
    )


def _message_time(
    raw: dict[str, Any], received_at: datetime, batch_sent_at: str | None
) -> datetime:
    """The message's time per the spec; every present timestamp field must parse."""
    get = raw.get
    value = get("timestamp")
    # the common case, a str that parsed before, costs one cache lookup
    timestamp = _parse_iso(value) if value.__class__ is str and value else None
    if timestamp is None:
        timestamp = parse_time(value, "timestamp")
    value = get("originalTimestamp")
    original = None if value is None else parse_time(value, "originalTimestamp")
    own_sent = get("sentAt")
    if own_sent is not None:
        sent = parse_time(own_sent, "sentAt")
    else:
        sent = None if batch_sent_at is None else parse_time(batch_sent_at, "sentAt")
    if timestamp is not None:
        return timestamp
    if original is not None:
        if sent is None:
            return original
        try:
            return original + (received_at - sent)
        except OverflowError:
            raise InvalidMessage(
                "'originalTimestamp' corrected by the clock skew between 'sentAt' and the"
                " time received falls outside the calendar"
            ) from None
    return received_at.astimezone(UTC)
