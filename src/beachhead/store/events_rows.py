"""Turning messages into the events store's rows and back, the same for every backend.

``prepare`` does the work that needs no database: the content hash, JSON text of the
JSON columns, and dedupe inside the batch (the first of several copies wins). The backends
then only insert columns and read tuples back.

This is the per-event hot path of HTTP ingest, so it builds each column as one list, uses
one ``orjson.dumps`` per value at most (none for an empty object, none for the raw message
when the caller already has its JSON: ``Encoded``), and converts each distinct datetime
object once (a request's messages share one ``received_at`` and often one ``ts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from beachhead.ingest.derive import Derived, derive_all
from beachhead.ingest.message import Link, MembershipRow, Message, MessageType, TraitRow
from beachhead.ingest.segment import content_hash
from beachhead.store.events import AppendResult, Encoded, RawInput

EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "group_id",
    "context_group_id",
    "previous_id",
    "ts",
    "received_at",
    "properties",
    "traits",
    "raw",
    "content_hash",
    "source",
)
TRAIT_COLUMNS: tuple[str, ...] = ("seq", "kind", "entity_id", "ts", "traits", "source")
LINK_COLUMNS: tuple[str, ...] = ("seq", "from_id", "to_id", "ts")
MEMBERSHIP_COLUMNS: tuple[str, ...] = ("seq", "user_id", "account_id", "ts", "source")

# Columns read back into a Message (raw, content_hash and source stay in the store).
MESSAGE_SELECT: tuple[str, ...] = EVENT_COLUMNS[:13]


def naive_utc(dt: datetime) -> datetime:
    """A datetime as the store keeps it: UTC without a zone."""
    if dt.tzinfo is None:
        return dt
    return dt.astimezone(UTC).replace(tzinfo=None)


def aware_utc(dt: datetime) -> datetime:
    """A stored (zone-less UTC) datetime back as a tz-aware one."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _dumps_obj(value: dict[str, Any]) -> str:
    """``dumps`` of a properties/traits object; ``{}`` without a call when it is empty."""
    return orjson.dumps(value).decode() if value else "{}"


def _naive_column(values: Sequence[datetime]) -> list[datetime]:
    """``naive_utc`` of each value, converting each distinct object once."""
    out: list[datetime] = []
    append = out.append
    last: datetime | None = None
    last_naive: datetime | None = None
    seen: dict[int, datetime] = {}
    for dt in values:
        if dt is last:
            append(cast(datetime, last_naive))
            continue
        key = id(dt)
        got = seen.get(key)
        if got is None:
            got = seen[key] = naive_utc(dt)
        last, last_naive = dt, got
        append(got)
    return out


def _loads_obj(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return cast(dict[str, Any], orjson.loads(value))


@dataclass(slots=True)
class Prepared:
    """A batch ready to insert: unique messages (first copy wins) and their column values.

    ``later_copies`` holds, per message_id seen more than once in the batch, the content
    hashes of the copies after the first: they are duplicates whatever the store holds.
    """

    messages: list[Message] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    raw_json: list[str] = field(default_factory=list)
    later_copies: dict[str, list[str]] = field(default_factory=dict)

    def columns(
        self, seqs: Sequence[int], source: str, aware_ok: bool = False
    ) -> dict[str, list[Any]]:
        """Column name -> values, in ``EVENT_COLUMNS`` order, seq assigned from ``seqs``.

        ``aware_ok``: leave ``ts`` and ``received_at`` tz-aware, for a consumer that turns
        them into UTC itself (Arrow's ``timestamp("us")`` does: it stores the UTC instant).
        """
        ms = self.messages
        ts = [m.ts for m in ms]
        received = [m.received_at for m in ms]
        if not aware_ok:
            ts = _naive_column(ts)
            received = _naive_column(received)
        return {
            "seq": list(seqs),
            "message_id": [m.message_id for m in ms],
            "type": [m.type for m in ms],
            "event": [m.event for m in ms],
            "user_id": [m.user_id for m in ms],
            "anonymous_id": [m.anonymous_id for m in ms],
            "group_id": [m.group_id for m in ms],
            "context_group_id": [m.context_group_id for m in ms],
            "previous_id": [m.previous_id for m in ms],
            "ts": ts,
            "received_at": received,
            "properties": [_dumps_obj(m.properties) for m in ms],
            "traits": [_dumps_obj(m.traits) for m in ms],
            "raw": self.raw_json,
            "content_hash": self.hashes,
            "source": [source] * len(ms),
        }

    def result(self, stored: set[str], existing: dict[str, str]) -> AppendResult:
        """Counts, given the ids inserted now and the stored hash of the others.

        A duplicate "differs" when its content hash is not that of the copy the store keeps
        (the one stored earlier, or the first copy of this batch).
        """
        if not self.later_copies and len(stored) == len(self.messages):
            return AppendResult(len(stored), 0, 0)  # all new, no copies: the common case
        duplicates = 0
        differing = 0
        for m, h in zip(self.messages, self.hashes, strict=True):
            mid = m.message_id
            kept = h if mid in stored else existing.get(mid, h)
            if mid not in stored:
                duplicates += 1
                differing += kept != h
            for other in self.later_copies.get(mid, ()):
                duplicates += 1
                differing += kept != other
        return AppendResult(len(stored), duplicates, differing)


def prepare(messages: Sequence[Message], raws: Sequence[RawInput]) -> Prepared:
    """Hash and serialise each message once; set aside later copies of a message_id."""
    if len(messages) != len(raws):
        raise ValueError(f"append needs one raw per message ({len(messages)} != {len(raws)})")
    out = Prepared()
    seen: set[str] = set()
    for m, raw in zip(messages, raws, strict=True):
        if isinstance(raw, Encoded):
            raw_text = raw.text.decode()
            h = content_hash(raw.doc)
        elif isinstance(raw, bytes | bytearray | memoryview):
            raw_text = bytes(raw).decode()
            parsed = orjson.loads(raw_text)
            h = content_hash(parsed) if isinstance(parsed, dict) else content_hash({"_": parsed})
        else:
            raw_text = dumps(raw)
            h = content_hash(raw)
        mid = m.message_id
        if mid in seen:
            out.later_copies.setdefault(mid, []).append(h)
            continue
        seen.add(mid)
        out.messages.append(m)
        out.hashes.append(h)
        out.raw_json.append(raw_text)
    return out


def derived_of_stored(prepared: Prepared, seqs: Sequence[int], stored: set[str]) -> Derived:
    """Trait rows, links and memberships of the messages that were actually stored."""
    kept = [
        replace(m, seq=s)
        for m, s in zip(prepared.messages, seqs, strict=True)
        if m.type in ("identify", "alias", "group") and m.message_id in stored
    ]
    return derive_all(kept)


def trait_columns(
    rows: Sequence[TraitRow], seqs: Sequence[int] | None = None
) -> dict[str, list[Any]]:
    return {
        "seq": list(seqs) if seqs is not None else [r.seq for r in rows],
        "kind": [r.kind for r in rows],
        "entity_id": [r.entity_id for r in rows],
        "ts": [naive_utc(r.ts) for r in rows],
        "traits": [dumps(r.traits) for r in rows],
        "source": [r.source for r in rows],
    }


def link_columns(rows: Sequence[Link]) -> dict[str, list[Any]]:
    return {
        "seq": [r.seq for r in rows],
        "from_id": [r.from_id for r in rows],
        "to_id": [r.to_id for r in rows],
        "ts": [naive_utc(r.ts) for r in rows],
    }


def membership_columns(
    rows: Sequence[MembershipRow], seqs: Sequence[int] | None = None
) -> dict[str, list[Any]]:
    return {
        "seq": list(seqs) if seqs is not None else [r.seq for r in rows],
        "user_id": [r.user_id for r in rows],
        "account_id": [r.account_id for r in rows],
        "ts": [naive_utc(r.ts) for r in rows],
        "source": [r.source for r in rows],
    }


def message_from_row(row: Sequence[Any]) -> Message:
    """A tuple in ``MESSAGE_SELECT`` order -> Message."""
    (seq, mid, mtype, event, uid, aid, gid, cgid, pid, ts, rec, props, traits) = row
    return Message(
        message_id=mid,
        type=cast(MessageType, mtype),
        ts=aware_utc(ts),
        received_at=aware_utc(rec),
        event=event,
        user_id=uid,
        anonymous_id=aid,
        group_id=gid,
        context_group_id=cgid,
        previous_id=pid,
        properties=_loads_obj(props),
        traits=_loads_obj(traits),
        seq=int(seq),
    )


def trait_row_from_row(row: Sequence[Any]) -> TraitRow:
    seq, kind, entity_id, ts, traits, source = row
    return TraitRow(kind, entity_id, aware_utc(ts), _loads_obj(traits), source, int(seq))


def link_from_row(row: Sequence[Any]) -> Link:
    seq, from_id, to_id, ts = row
    return Link(from_id, to_id, aware_utc(ts), int(seq))


def membership_from_row(row: Sequence[Any]) -> MembershipRow:
    seq, user_id, account_id, ts, source = row
    return MembershipRow(user_id, account_id, aware_utc(ts), source, int(seq))
