"""Writing millions of Segment messages fast: lines assembled column-wise with Arrow.

``json.dumps`` per message is far too slow for 10M lines, and a generic JSON writer would
print ``null`` for the fields a message type does not have. So every line is a join of
string columns, each taken from a small table by index: the type's head, the message id,
the timestamp (day, time of day and milliseconds tables), and either the pieces of a
track/page message (user id, event, properties, context) or a pre-rendered body (identify,
group, anonymous page). Arrow's kernels run without the GIL, so chunks are built on two
threads and written in order: the bytes do not depend on the thread timing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from beachhead.demo import vocab

DAY_MS = 86_400_000
CHUNK = 400_000
TYPES: tuple[str, ...] = ("track", "page", "identify", "group")
TRACK, PAGE, IDENTIFY, GROUP = range(4)


@dataclass(frozen=True, slots=True)
class Rows:
    """All messages as columns; ``order`` lists the row indexes in file (time) order.

    ``special`` >= 0 points into ``bodies`` (identify, group, anonymous page); else the row is
    a track/page by ``user`` with ``code``, ``prop`` and context ``group`` (-1: none).
    """

    order: np.ndarray
    ts: np.ndarray
    kind: np.ndarray  # index into TYPES
    user: np.ndarray
    code: np.ndarray
    prop: np.ndarray
    group: np.ndarray
    special: np.ndarray
    bodies: pa.Array


@dataclass(frozen=True, slots=True)
class Tables:
    """The lookup tables that lines are taken from."""

    user_ids: Sequence[str]
    group_ids: Sequence[str]
    start_day: int  # days since epoch of the first row's day
    n_days: int


def _str_array(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def bodies_array(bodies: Sequence[str]) -> pa.Array:
    """Pre-rendered message bodies (the fields after the timestamp) with the line's end.

    Built from one joined buffer: ``pa.array`` on a list of Python strings is several times
    slower.
    """
    encoded = [b.encode() + b"}\n" for b in bodies]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


class LineBuilder:
    """Turns row chunks into the UTF-8 bytes of their lines.

    A line is six pieces: type head with the id prefix, the id, the day (with the
    ``timestamp`` key), the time of day, the milliseconds, and the rest: for a track/page
    the user, the event with its properties, and the context with the line's end; else a
    pre-rendered body. Fewer, larger table entries mean fewer kernel passes per chunk.
    """

    def __init__(self, tables: Tables, id_prefix: str) -> None:
        self.head = _str_array([f'{{"type":"{t}","messageId":"{id_prefix}' for t in TYPES])
        self.uid = _str_array([f'"userId":"{u}' for u in tables.user_ids])
        ends = [f',"context":{{"groupId":"{g}"}}}}\n' for g in tables.group_ids]
        self.ctx = _str_array(["}\n", *ends])
        code_of_prop = [c for c in range(len(vocab.ACTIVITY)) for _ in range(*vocab.PROP_RANGE[c])]
        self.event_props = _str_array(
            [
                f'","{"name" if vocab.is_page(c) else "event"}":"{vocab.ACTIVITY[c]}"'
                f',"properties":{text}'
                for c, text in zip(code_of_prop, vocab.PROPS, strict=True)
            ]
        )
        self.days = _str_array(
            [
                '","timestamp":"'
                + datetime.fromtimestamp((tables.start_day + d) * 86_400, tz=UTC).strftime(
                    "%Y-%m-%dT"
                )
                for d in range(tables.n_days)
            ]
        )
        self.start_day = tables.start_day
        self.tod = _str_array(
            [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
        )
        self.ms = _str_array([f'.{m:03d}Z",' for m in range(1000)])

    def build(self, rows: Rows, lo: int, hi: int) -> pa.Array:
        """The lines of rows ``lo:hi`` (message ids count from 1 in file order)."""
        idx = rows.order[lo:hi]
        ts = rows.ts[idx]
        day = ts // DAY_MS - self.start_day
        in_day = ts % DAY_MS
        special = rows.special[idx]
        rest = pc.binary_join_element_wise(
            pc.take(self.uid, rows.user[idx]),
            pc.take(self.event_props, rows.prop[idx]),
            pc.take(self.ctx, rows.group[idx] + 1),
            "",
        )
        if len(rows.bodies):
            body = pc.take(rows.bodies, np.maximum(special, 0))
            rest = pc.if_else(pa.array(special >= 0), body, rest)
        ids = pc.cast(pa.array(np.arange(lo + 1, hi + 1)), pa.string())
        return pc.binary_join_element_wise(
            pc.take(self.head, rows.kind[idx]),
            ids,
            pc.take(self.days, day),
            pc.take(self.tod, in_day // 1000),
            pc.take(self.ms, in_day % 1000),
            rest,
            "",
        )


def _write_values(f: BinaryIO, arr: pa.Array | pa.ChunkedArray) -> None:
    """Write the concatenated string values of an Arrow string array (no copies)."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for ch in chunks:
        _, offsets_buf, data = ch.buffers()
        offsets = np.frombuffer(
            offsets_buf, dtype=np.int32, count=len(ch) + 1, offset=ch.offset * 4
        )
        f.write(memoryview(data)[int(offsets[0]) : int(offsets[-1])])


def write_lines(
    path: Path,
    rows: Rows,
    builder: LineBuilder,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 2,
) -> int:
    """Write every row as one JSON line; returns the number of lines."""
    n = len(rows.order)
    bounds = [(lo, min(lo + CHUNK, n)) for lo in range(0, n, CHUNK)]
    with path.open("wb") as f, ThreadPoolExecutor(max_workers=threads) as pool:
        pending: list[Future[pa.Array]] = []
        nxt = 0
        done = 0
        while nxt < len(bounds) or pending:
            while nxt < len(bounds) and len(pending) < threads + 1:
                lo, hi = bounds[nxt]
                pending.append(pool.submit(builder.build, rows, lo, hi))
                nxt += 1
            _write_values(f, pending.pop(0).result())
            done += 1
            if progress:
                progress(bounds[done - 1][1], n)
    return n
