"""Who is who at the app's "now": identity and evaluation, computed once and reused.

The account, user and Journey pages each need every account's traits, members, scores and
stage. Resolving identity and evaluating on every request would cost seconds on a large
store, so a ``Directory`` is computed once per (data version, definitions, as_of) and kept
beside the runtime until one of them changes. The data version is the row counts of the
events store's tables: the store is append-only, so any write changes a count.

The app's "now" is the latest recorded evaluation's ``as_of`` (the time the lifecycle's
clocks have reached, so qualifications, stages and scores agree), or the wall clock when
nothing has been evaluated yet.

Checking the version costs a few queries, so it is checked at most every
``RECHECK_SECONDS``: a page may lag a write by that long.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import threading
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from beachhead.ingest.freemail import load_free_mail
from beachhead.ingest.identity import Snapshot, resolve
from beachhead.rules.result import EntityEval, Evaluation
from beachhead.store.activity_queries import named_ids, table_counts
from beachhead.store.qualifications import QualificationStore

if TYPE_CHECKING:
    from beachhead.rules.model import Config
    from beachhead.runtime import Runtime

log = logging.getLogger("beachhead.directory")
TABLES = ("events", "trait_rows", "links", "memberships")
RECHECK_SECONDS = 2.0


_serials = itertools.count(1)


@dataclass
class Directory:
    """Identity and evaluation at ``as_of``; ``raw_ids`` maps a user to the ids messages carry."""

    as_of: datetime
    snapshot: Snapshot
    evaluation: Evaluation | None
    raw_ids: dict[str, set[str]] = field(default_factory=dict)
    serial: int = field(default_factory=lambda: next(_serials))  # tells builds apart

    def account_eval(self, account_id: str) -> EntityEval | None:
        return None if self.evaluation is None else self.evaluation.accounts.get(account_id)

    def user_eval(self, user_id: str) -> EntityEval | None:
        return None if self.evaluation is None else self.evaluation.users.get(user_id)

    def member_raw_ids(self, account_id: str) -> set[str]:
        out: set[str] = set()
        for user in self.snapshot.members.get(account_id, ()):
            out |= self.raw_ids.get(user, {user})
        return out


@dataclass
class _Entry:
    key: tuple[object, ...]
    checked: float  # time.monotonic() of the last version check
    directory: Directory


_cache: weakref.WeakKeyDictionary[Runtime, _Entry] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def latest_evaluation(runtime: Runtime) -> datetime | None:
    with runtime.state.session() as s:
        return QualificationStore(runtime.state).latest_as_of(s)


def app_now(runtime: Runtime) -> datetime:
    """The latest recorded evaluation's as_of, else the wall clock (to the second)."""
    latest = latest_evaluation(runtime)
    return latest if latest is not None else datetime.now(UTC)


def data_version(runtime: Runtime) -> tuple[int, ...]:
    return table_counts(runtime.events.ibis(), TABLES)


def config_digest(config: Config | None, text: str | None) -> str:
    """What identifies the definitions: the text when given, else the model's hash (frozen
    models hash by value, in well under a millisecond; ``repr`` takes tens)."""
    if config is None:
        return "-"
    if text is not None:
        return hashlib.sha256(text.encode()).hexdigest()
    try:
        return f"h{hash(config)}"
    except TypeError:
        return hashlib.sha256(repr(config).encode()).hexdigest()


def build(runtime: Runtime, config: Config | None, as_of: datetime) -> Directory:
    """Resolve identity and evaluate at ``as_of`` (holds the runtime's events lock)."""
    from beachhead.services import compute_evaluation

    events = runtime.events
    with runtime.lock:
        snap = resolve(
            events.trait_rows(as_of),
            events.links(as_of),
            events.memberships(as_of),
            as_of,
            load_free_mail(runtime.settings.free_mail_file),
            named_ids(events.ibis(), as_of),
        )
        evaluation = (
            None if config is None else compute_evaluation(runtime.settings, events, config, as_of)
        )
    raw_ids: dict[str, set[str]] = defaultdict(set)
    for raw, user in snap.user_of.items():
        raw_ids[user].add(raw)
    for user in snap.users:
        raw_ids[user].add(user)
    return Directory(as_of, snap, evaluation, dict(raw_ids))


def directory(runtime: Runtime, config: Config | None, config_text: str | None = None) -> Directory:
    """The cached Directory at the app's now, rebuilt when data or definitions changed.

    New definitions are built at once (whoever saved them expects to see their effect).
    New data or a new evaluation (the scheduler records one every minute or so) are built
    in the background while the previous Directory keeps answering, so no page request
    waits seconds for a rebuild on a large store."""
    digest = config_digest(config, config_text)
    with _cache_lock:
        hit = _cache.get(runtime)
    now = time.monotonic()
    if hit is not None and hit.key[1] == digest and now - hit.checked < RECHECK_SECONDS:
        return hit.directory
    latest = latest_evaluation(runtime)
    with runtime.lock:
        version = data_version(runtime)
    # Without a recorded evaluation "now" is the wall clock at build time; the Directory is
    # kept until the data or the definitions change (not rebuilt every second).
    key = (version, digest, latest)
    if hit is not None and hit.key == key:
        hit.checked = now
        return hit.directory
    if hit is not None and hit.key[1] == digest:
        hit.checked = now
        _rebuild_later(runtime, config, key, latest)
        return hit.directory
    return _rebuild(runtime, config, key, latest)


def _rebuild(
    runtime: Runtime, config: Config | None, key: tuple[object, ...], latest: datetime | None
) -> Directory:
    as_of = latest if latest is not None else datetime.now(UTC)
    built = build(runtime, config, as_of)
    with _cache_lock:
        _cache[runtime] = _Entry(key, time.monotonic(), built)
    return built


_building: weakref.WeakSet[Runtime] = weakref.WeakSet()


def _rebuild_later(
    runtime: Runtime, config: Config | None, key: tuple[object, ...], latest: datetime | None
) -> None:
    """One background rebuild per runtime at a time; a failure leaves the old Directory."""
    with _cache_lock:
        if runtime in _building:
            return
        _building.add(runtime)

    def run() -> None:
        try:
            _rebuild(runtime, config, key, latest)
        except Exception:  # the old Directory keeps answering; the next check retries
            log.exception("rebuilding the directory failed")
        finally:
            with _cache_lock:
                _building.discard(runtime)

    threading.Thread(target=run, name="directory-rebuild", daemon=True).start()
