"""The application state store: write keys and rejected messages (more tables come later).

SQLite (``<data>/state.db``) or PostgreSQL, through SQLAlchemy 2. SQLite runs in WAL mode
with a busy timeout so the server and CLI commands on the same data folder share it. The
schema is migrated to Alembic head on first use; a file lock (SQLite) or an advisory lock
(PostgreSQL) makes concurrent first uses take turns instead of racing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from beachhead.ingest.message import Reject
from beachhead.store.state_models import RejectRow, WriteKey

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
LABEL_MAX = 200  # characters in a name people give a key or a saved view
SQL_INT_MAX = 2**63 - 1  # the largest id either store holds


def label(text: str, what: str) -> str:
    """A name given to something (a write key, a saved view): stripped, at most
    ``LABEL_MAX`` characters, no NUL (PostgreSQL cannot store it); else ``ValueError``
    naming ``what``. The web form and the JSON API share this one rule."""
    text = text.strip()
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character")
    if len(text) > LABEL_MAX:
        raise ValueError(f"{what} is at most {LABEL_MAX} characters, got {len(text)}")
    return text


KEY_PREFIX = "bh_"
DISPLAY_PREFIX_LEN = 10  # "bh_" + 7 characters: enough to tell keys apart, useless to attack
_PG_MIGRATION_LOCK = 0x6265616368  # "beach": advisory lock id serialising migrations


@dataclass(frozen=True, slots=True)
class WriteKeyInfo:
    """A write key as ``keys list`` shows it: never the key itself."""

    prefix: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RejectInfo:
    """A stored rejected message."""

    id: int
    source: str
    position: int
    reason: str
    raw: str
    received_at: datetime


def hash_key(key: str) -> str:
    """Keys are 192-bit random tokens, so one fast hash is enough (no stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _utc_naive(t: datetime) -> datetime:
    """Columns hold UTC without a zone (the same on SQLite and PostgreSQL)."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _aware(t: datetime | None) -> datetime | None:
    return t.replace(tzinfo=UTC) if t is not None and t.tzinfo is None else t


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """Alembic's own idea of the head (imports alembic: ~0.5 s)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


_REV = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]*)['\"]|None)", re.M)


def scripted_head() -> str | None:
    """The head read from the version files without importing alembic (which costs every
    CLI command half a second); None when the files do not make one linear head."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in _REV.finditer(path.read_text()))
        if found.get("revision"):
            revisions.add(found["revision"] or "")
            if found.get("down_revision"):
                parents.add(found["down_revision"] or "")
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def make_engine(url: str) -> Engine:
    """An engine with the settings several processes need to share one state store."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if parsed.database and parsed.database != ":memory:":
        _ensure_wal(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def _ensure_wal(db: Path, wait_s: float = 30.0) -> None:
    """Put a SQLite file in WAL mode once, under the migration file lock.

    WAL is a property of the file, so one switch serves every later connection. The switch
    needs an exclusive lock, and SQLite may answer it "database is locked" at once instead
    of waiting on its busy handler while other processes open the same fresh file (seen in
    CI with four processes starting together); so the switch is made by one process at a
    time and retried until ``wait_s`` has passed.
    """
    import sqlite3
    import time

    deadline = time.monotonic() + wait_s
    with Path(str(db) + ".migrate.lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        while True:
            conn = sqlite3.connect(db, timeout=wait_s)
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                conn.close()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection on which only one process at a time runs migrations."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database or ""
        lock_path = Path(db + ".migrate.lock") if db and db != ":memory:" else None
        with contextlib.ExitStack() as stack:
            if lock_path is not None:
                fh = stack.enter_context(lock_path.open("a"))
                fcntl.flock(fh, fcntl.LOCK_EX)
            yield stack.enter_context(engine.connect())
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            yield conn
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database (None for a fresh one)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> str | None:
    """Bring the schema to head (a no-op when it is there); returns the head revision."""
    head = scripted_head()
    if head is not None and current_revision(engine) == head:
        return head  # the common case, decided without importing alembic
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    with _migration_lock(engine) as conn:
        if MigrationContext.configure(conn).get_current_revision() != head:
            command.upgrade(alembic_config(conn), "head")
            conn.commit()
    return head


class StateStore:
    """Repositories over the state tables. Thread-safe: each call uses its own session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.revision = migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    # -- write keys ------------------------------------------------------------------
    def create_key(self, name: str | None) -> tuple[str, str]:
        """A new random key; only its hash is stored, so this is the one time it is seen."""
        given = label(name or "", "a write key's name")  # before the key is made
        key = KEY_PREFIX + secrets.token_urlsafe(24)
        created = _now()
        name = given or f"key-{created:%Y%m%d-%H%M%S}"
        with self.session() as s, s.begin():
            s.add(
                WriteKey(
                    key_hash=hash_key(key),
                    prefix=key[:DISPLAY_PREFIX_LEN],
                    name=name,
                    created_at=created,
                )
            )
        return key, name

    def list_keys(self) -> list[WriteKeyInfo]:
        with self.session() as s:
            rows = s.scalars(select(WriteKey).order_by(WriteKey.created_at, WriteKey.id)).all()
            return [
                WriteKeyInfo(
                    r.prefix, r.name, _aware(r.created_at) or r.created_at, _aware(r.revoked_at)
                )
                for r in rows
            ]

    def revoke_key(self, key: str) -> bool:
        """Revoke a key given in full; False when no such unrevoked key exists."""
        with self.session() as s, s.begin():
            result = s.execute(
                update(WriteKey)
                .where(WriteKey.key_hash == hash_key(key), WriteKey.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def key_name(self, key: str) -> str | None:
        """The name of a valid, unrevoked key, else None."""
        with self.session() as s:
            return s.scalar(
                select(WriteKey.name).where(
                    WriteKey.key_hash == hash_key(key), WriteKey.revoked_at.is_(None)
                )
            )

    # -- rejected messages -------------------------------------------------------------
    def add_rejects(self, rejects: Sequence[Reject]) -> None:
        if not rejects:
            return
        with self.session() as s, s.begin():
            s.add_all(
                RejectRow(
                    source=r.source,
                    position=r.position,
                    reason=r.reason,
                    raw=r.raw,
                    received_at=_utc_naive(r.received_at),
                )
                for r in rejects
            )

    def list_rejects(self, limit: int = 100) -> list[RejectInfo]:
        """The most recent rejects, newest first."""
        with self.session() as s:
            rows = s.scalars(select(RejectRow).order_by(RejectRow.id.desc()).limit(limit)).all()
            return [
                RejectInfo(
                    r.id,
                    r.source,
                    r.position,
                    r.reason,
                    r.raw,
                    _aware(r.received_at) or r.received_at,
                )
                for r in rows
            ]

    def close(self) -> None:
        self.engine.dispose()
