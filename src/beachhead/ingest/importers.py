"""Importing files: Segment messages (JSON lines) and accounts/users (CSV).

Service functions, no CLI: they take an open events store, a sink for rejected lines
and the lines themselves, and return an ``ImportReport``. Commits are batched (a few
thousand lines each): one transaction per line would be a hundred times slower, one for
the whole file would hold everything in memory. With ``strict`` every line is checked
first and nothing is stored unless all are valid.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, TypeVar

import orjson

from beachhead.ingest.csvcells import MISSING, cell_value
from beachhead.ingest.derive import Derived, account_row, user_row
from beachhead.ingest.message import Message, Reject
from beachhead.ingest.segment import InvalidMessage, normalize, parse_time
from beachhead.store.events import EventStore

T = TypeVar("T")
BATCH_LINES = 2000
RAW_LIMIT = 32 * 1024  # longest raw text kept in a reject record
UTF8_BOM = b"\xef\xbb\xbf"

RejectsSink = Callable[[list[Reject]], None]
Progress = Callable[[int], None]  # called with the number of lines done so far


class ImportFailed(ValueError):
    """The file as a whole cannot be imported (e.g. a CSV without an ``id`` column)."""


class _Unreadable(Exception):
    """Reading the input failed part way (a gzip stream cut short, bytes that are not
    UTF-8 in a CSV, a read error): ``cause`` says why."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


# what reading an input can raise part way: a truncated or corrupt gzip stream (EOFError,
# zlib.error, gzip.BadGzipFile is an OSError), a failing read, a CSV's bytes not UTF-8
_READ_ERRORS = (EOFError, zlib.error, OSError, UnicodeDecodeError)


# what importing the whole file again does with the rows an import that broke off stored
_EVENTS_AGAIN = "importing the whole file again later stores nothing twice"
_CSV_AGAIN = "importing the whole file again later sets the same traits again"

# the longest CSV cell read (Python's csv module stops at 131,072 characters by default);
# a longer one rejects its row
CELL_LIMIT = 1024 * 1024


def _reading(lines: Iterable[T]) -> Iterator[T]:
    """``lines``, with a failure to read the next one raised as ``_Unreadable``."""
    it = iter(lines)
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except _READ_ERRORS as exc:
            raise _Unreadable(exc) from exc
        yield line


def _why(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"the bytes are not UTF-8 text ({exc.reason}, byte 0x{exc.object[exc.start]:02x})"
    if isinstance(exc, EOFError):
        return "the compressed file ends too early (cut short?)"
    return str(exc) or type(exc).__name__


def _cut_short(
    after: int, stored: int, exc: BaseException, strict: bool, again: str = _EVENTS_AGAIN
) -> ImportFailed:
    """The one-line error for an input that could not be read past line ``after``
    (``again``: what importing the whole file again does with the rows stored now)."""
    kept = (
        "nothing was stored (--strict)"
        if strict
        else f"{stored} stored from the lines before it ({again})"
    )
    where = f"past line {after}" if after else "from its first line"
    return ImportFailed(f"cannot read the input {where}: {_why(exc)}; {kept}")


@dataclass(slots=True)
class ImportReport:
    """What an import did; ``rejected`` holds (1-based line number, reason)."""

    stored: int = 0
    duplicates: int = 0
    duplicates_differing: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    strict_aborted: bool = False  # --strict and some line was invalid: nothing stored

    def to_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "duplicates_differing": self.duplicates_differing,
            "rejected": [{"line": n, "error": reason} for n, reason in self.rejected],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            stored=int(data["stored"]),
            duplicates=int(data["duplicates"]),
            duplicates_differing=int(data["duplicates_differing"]),
            rejected=[(int(r["line"]), str(r["error"])) for r in data["rejected"]],
        )


def _raw_text(line: bytes) -> str:
    """The line as kept in the rejected list: cut to RAW_LIMIT, NUL made visible (a
    PostgreSQL text column cannot hold it)."""
    text = line[:RAW_LIMIT].decode("utf-8", errors="replace").rstrip("\r\n")
    return text.replace("\x00", "\ufffd")


def _raw_str(text: str) -> str:
    """Text as kept in the rejected list: cut to RAW_LIMIT, without its line break, NUL
    and bytes that were not UTF-8 made visible (neither store's text column takes them)."""
    text = text[:RAW_LIMIT].rstrip("\r\n").replace("\x00", "\ufffd")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _reject(source: str, line_no: int, reason: str, line: bytes, now: datetime) -> Reject:
    return Reject(source, line_no, reason, _raw_text(line), now)


def _parse_line(line: bytes, now: datetime) -> tuple[Message, dict[str, Any]] | str:
    """One JSON line -> (message, raw dict), or the reason it is rejected.

    A line's own ``receivedAt`` (a Segment or RudderStack export has one) is when it was
    received: it, not the import's time, dates a message without ``timestamp`` and
    corrects an ``originalTimestamp``. Over HTTP the server's clock decides instead."""
    try:
        raw = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"not JSON: {exc}"
    try:
        received = raw.get("receivedAt") if isinstance(raw, dict) else None
        at = now if received is None else (parse_time(received, "receivedAt") or now)
        return normalize(raw, at), raw
    except InvalidMessage as exc:
        return exc.reason


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line) for the lines that are not blank; a UTF-8 byte order
    mark opening the first line (as some Windows tools write) is dropped, as for CSV."""
    for n, line in enumerate(lines, start=1):
        if n == 1 and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]
        if line.strip():
            yield n, line


def _checked(
    lines: Iterable[bytes], now: datetime, source: str, report: ImportReport, rejects: list[Reject]
) -> Iterator[tuple[int, bytes, tuple[Message, dict[str, Any]] | None]]:
    """Each non-blank line with its number and parsed message; a line that fails is
    recorded in ``report`` and ``rejects`` and comes with None (reading stops with
    ``_Unreadable`` where the input breaks off)."""
    for n, line in _numbered(_reading(lines)):
        got = _parse_line(line, now)
        if isinstance(got, str):
            report.rejected.append((n, got))
            rejects.append(_reject(source, n, got, line, now))
            yield n, line, None
        else:
            yield n, line, got


def import_events(
    store: EventStore,
    rejects_sink: RejectsSink,
    lines: Iterable[bytes],
    source: str,
    strict: bool = False,
    progress: Progress | None = None,
    received_at: datetime | None = None,
    batch_lines: int = BATCH_LINES,
) -> ImportReport:
    """Store the Segment messages of a JSON-lines file (blank lines are skipped).

    A message without ``timestamp`` and ``originalTimestamp`` gets the import's time.
    """
    now = received_at or datetime.now(UTC)
    if strict:
        return _import_events_strict(store, rejects_sink, lines, source, progress, now, batch_lines)
    report = ImportReport()
    messages: list[Message] = []
    raws: list[dict[str, Any]] = []
    rejects: list[Reject] = []
    done = 0

    def flush() -> None:
        if messages:
            res = store.append(messages, raws, source)
            report.stored += res.stored
            report.duplicates += res.duplicates
            report.duplicates_differing += res.duplicates_differing
            messages.clear()
            raws.clear()
        if rejects:
            rejects_sink(list(rejects))
            rejects.clear()
        if progress is not None:
            progress(done)

    try:
        for n, _line, got in _checked(lines, now, source, report, rejects):
            done = n
            if got is not None:
                messages.append(got[0])
                raws.append(got[1])
            if len(messages) + len(rejects) >= batch_lines:
                flush()
    except _Unreadable as exc:
        flush()  # the whole lines read before the break are kept, as any valid line
        raise _cut_short(done, report.stored, exc.cause, False) from exc
    flush()
    return report


def _import_events_strict(
    store: EventStore,
    rejects_sink: RejectsSink,
    lines: Iterable[bytes],
    source: str,
    progress: Progress | None,
    now: datetime,
    batch_lines: int,
) -> ImportReport:
    """Check every line (spooling them, so stdin works too), then store only if all pass."""
    report = ImportReport()
    rejects: list[Reject] = []
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        done = 0
        try:
            for n, line, got in _checked(lines, now, source, report, rejects):
                done = n
                if got is not None and not rejects:
                    spool.write(line if line.endswith(b"\n") else line + b"\n")
        except _Unreadable as exc:
            raise _cut_short(done, 0, exc.cause, True) from exc
        if rejects:
            rejects_sink(rejects)
            report.strict_aborted = True
            return report
        spool.seek(0)
        stored = import_events(
            store, rejects_sink, spool, source, False, progress, now, batch_lines
        )
    stored.rejected = report.rejected
    return stored


# -- CSV ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    derived: Derived


_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, surrogateescape'd


def _not_utf8(text: str) -> str | None:
    """Why ``text`` (decoded with ``surrogateescape``) is not UTF-8, or None when it is."""
    bad = _ESCAPED.search(text)
    if bad is None:
        return None
    return f"the bytes are not UTF-8 text (byte 0x{ord(bad.group()) - 0xDC00:02x})"


def _csv_error(exc: csv.Error, start: int, end: int) -> str:
    """A reader error as a reject reason (the reader goes on at the next line)."""
    why = str(exc)
    if why.startswith("unexpected end of data"):
        return f"a quoted cell opened here is never closed (it runs to the file's end, line {end})"
    if why.startswith("field larger than field limit"):
        return f"a cell is longer than {CELL_LIMIT:,} characters"
    if "expected after" in why:
        return 'a quoted cell has text after its closing quote (write a quote inside one as "")'
    return f"the row is not valid CSV ({why})"


def _csv_rows(
    kind: str, text: Iterable[str], now: datetime, report: ImportReport, raw_of: dict[int, str]
) -> Iterator[_Row]:
    """Parse an accounts/users CSV into derived rows; bad rows go to ``report.rejected``.

    ``text`` is decoded with ``surrogateescape`` (``text_lines``): a row with bytes that
    are not UTF-8 is rejected on its own line, and the rows after it are read."""
    lines: list[str] = []  # the physical lines of the record being read (for rejects)

    def physical() -> Iterator[str]:
        for line in _reading(text):
            lines.append(line)
            yield line

    if csv.field_size_limit() < CELL_LIMIT:
        csv.field_size_limit(CELL_LIMIT)
    # strict: a malformed quote is an error on its row, not text silently glued together
    reader = csv.reader(physical(), strict=True)
    header: list[str] = []
    line_no = 0
    while not any(h.strip() for h in header):  # blank lines before the header are skipped
        lines.clear()
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFailed(
                "the CSV file is empty (it needs a header with an 'id' column)"
            ) from None
        except csv.Error as exc:
            why = _csv_error(exc, reader.line_num, reader.line_num)
            raise ImportFailed(f"the CSV header cannot be read: {why}") from None
        line_no = reader.line_num
    header = [h.strip() for h in header]
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    bad_text = _not_utf8("".join(header))
    if bad_text is not None:
        raise ImportFailed(f"the CSV header (line {line_no}) cannot be read: {bad_text}")
    if "id" not in header:
        raise ImportFailed(f"the CSV header needs an 'id' column (found: {', '.join(header)})")
    dupes = {h for h in header if h and header.count(h) > 1}
    if dupes:
        raise ImportFailed(f"the CSV header repeats {', '.join(sorted(dupes))}")
    id_col = header.index("id")
    while True:
        start = line_no + 1
        lines.clear()
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line_no = reader.line_num
            raw_of[start] = _raw_str("".join(lines))
            report.rejected.append((start, _csv_error(exc, start, line_no)))
            continue
        line_no = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        raw_of[start] = _raw_str("".join(lines))
        if any("\x00" in c for c in cells):
            report.rejected.append((start, "row contains a NUL character"))
            continue
        bad_text = _not_utf8("".join(cells))
        if bad_text is not None:
            report.rejected.append((start, bad_text))
            continue
        if len(cells) != len(header):
            report.rejected.append(
                (start, f"row has {len(cells)} cells, the header has {len(header)}")
            )
            continue
        pairs = enumerate(zip(header, cells, strict=True))
        unnamed = [i + 1 for i, (h, c) in pairs if not h and c.strip()]
        if unnamed:
            report.rejected.append(
                (start, f"column {unnamed[0]} has a value but no name in the header")
            )
            continue
        entity_id = cells[id_col].strip()
        if not entity_id:
            report.rejected.append((start, "row needs 'id'"))
            continue
        traits: dict[str, Any] = {}
        ts = now
        account_id: str | None = None
        bad: str | None = None
        for name, cell in zip(header, cells, strict=True):
            if name == "id" or not name:
                continue
            if name == "updated_at":
                try:
                    ts = parse_time(cell.strip() or None, "updated_at") or now
                except InvalidMessage as exc:
                    bad = exc.reason
                continue
            if kind == "users" and name == "account_id":
                account_id = cell.strip() or None
                continue
            value = cell_value(cell)
            if value is not MISSING:
                traits[name] = value
        if bad is not None:
            report.rejected.append((start, bad))
            continue
        if kind == "accounts":
            yield _Row(start, account_row(entity_id, traits, ts))
        else:
            yield _Row(start, user_row(entity_id, traits, ts, account_id))


def _import_csv(
    kind: str,
    store: EventStore,
    rejects_sink: RejectsSink,
    text: Iterable[str],
    source: str,
    strict: bool,
    progress: Progress | None,
    now: datetime | None,
    batch_rows: int = 5000,
) -> ImportReport:
    at = now or datetime.now(UTC)
    report = ImportReport()
    raw_of: dict[int, str] = {}
    pending = Derived()
    kept: list[_Row] = []
    reported = 0
    last_line = 0

    def send_rejects() -> None:
        nonlocal reported
        new = report.rejected[reported:]
        if new:
            rejects_sink([Reject(source, n, why, raw_of.get(n, ""), at) for n, why in new])
            reported = len(report.rejected)
        raw_of.clear()

    def flush() -> None:
        if pending.trait_rows or pending.memberships:
            store.append_trait_rows(pending.trait_rows, pending.memberships)
            report.stored += len(pending.trait_rows)
            pending.trait_rows.clear()
            pending.memberships.clear()
            pending.links.clear()
        send_rejects()
        if progress is not None:
            progress(last_line)

    try:
        for row in _csv_rows(kind, text, at, report, raw_of):
            last_line = row.line
            if strict:
                kept.append(row)
                continue
            pending.extend(row.derived)
            if len(pending.trait_rows) >= batch_rows:
                flush()
    except _Unreadable as exc:
        after = max([last_line, *(n for n, _why in report.rejected)])
        if not strict:
            flush()  # the rows read before the break are kept, as any valid row
        raise _cut_short(after, report.stored, exc.cause, strict, _CSV_AGAIN) from exc
    if strict:
        if report.rejected:
            send_rejects()
            report.strict_aborted = True
            return report
        for row in kept:
            pending.extend(row.derived)
    flush()
    return report


def import_accounts(
    store: EventStore,
    rejects_sink: RejectsSink,
    text: Iterable[str],
    source: str,
    strict: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Accounts CSV: ``id`` plus trait columns (``owner`` is the owner's email, a trait;
    ``updated_at`` gives the row's time, else the import's)."""
    return _import_csv("accounts", store, rejects_sink, text, source, strict, progress, now)


def import_users(
    store: EventStore,
    rejects_sink: RejectsSink,
    text: Iterable[str],
    source: str,
    strict: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Users CSV: ``id`` plus trait columns; ``account_id`` makes a membership (and is not
    a trait); ``updated_at`` gives the row's time, else the import's."""
    return _import_csv("users", store, rejects_sink, text, source, strict, progress, now)


# -- opening inputs ------------------------------------------------------------------------


class CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read (a progress bar over a .gz file
    shows compressed bytes against the file's size)."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.inner.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


@dataclass
class OpenedInput:
    """An input file opened for reading, with what a progress bar needs."""

    stream: IO[bytes]
    counter: CountingReader
    size: int | None  # bytes of the file as stored; None for stdin
    name: str


@contextmanager
def open_input(path: str) -> Iterator[OpenedInput]:
    """``path`` (``-`` = stdin) as a binary stream, gunzipped when it is gzip (by its
    first bytes, so a ``.gz`` on stdin works too)."""
    if path == "-":
        base: BinaryIO = sys.stdin.buffer
        size = None
        name = "stdin"
        close = False
    else:
        p = Path(path)
        base = p.open("rb")
        size = p.stat().st_size
        name = p.name
        close = True
    try:
        counter = CountingReader(base)
        buffered = io.BufferedReader(counter, buffer_size=1 << 20)
        stream = _gunzipped(buffered, buffered.peek(2))
        yield OpenedInput(stream, counter, size, name)
    finally:
        if close:
            base.close()


def _gunzipped(stream: IO[bytes], head: bytes) -> IO[bytes]:
    """``stream`` gunzipped when its first bytes (``head``) say it is gzip."""
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def bytes_input(data: bytes) -> IO[bytes]:
    """Bytes read elsewhere (``-`` forwarded to a live server) as an input stream,
    gunzipped when they are gzip, as ``open_input`` does."""
    return _gunzipped(io.BytesIO(data), data)


def text_lines(stream: IO[bytes]) -> io.TextIOWrapper:
    """A binary stream as CSV text (UTF-8, a leading BOM dropped, newlines untranslated)."""
    # surrogateescape: bytes that are not UTF-8 reject their own row (``_csv_rows``)
    # instead of breaking off the whole import where the decoder meets them
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def run_import(
    kind: str,
    store: EventStore,
    rejects_sink: RejectsSink,
    stream: IO[bytes],
    source: str,
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import an opened input of ``kind`` (events, accounts or users)."""
    if kind == "events":
        return import_events(store, rejects_sink, stream, source, strict, progress)
    if kind == "accounts":
        return import_accounts(store, rejects_sink, text_lines(stream), source, strict, progress)
    if kind == "users":
        return import_users(store, rejects_sink, text_lines(stream), source, strict, progress)
    raise ImportFailed(f"unknown import kind {kind!r} (expected events, accounts or users)")
