"""Orchestration: the few functions every edge (CLI, server, scheduler) calls.

``compute_evaluation`` is the one way to evaluate definitions over stored data: the
compiled engine when it can run on this store, the reference oracle otherwise (or when asked
with ``engine="reference"``). Both return the same ``Evaluation``.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from beachhead.ingest.freemail import load_free_mail
from beachhead.rules.result import Evaluation

if TYPE_CHECKING:
    from beachhead.config import Settings
    from beachhead.ingest.identity import Snapshot
    from beachhead.rules.model import Config
    from beachhead.store.events import EventStore

DERIVED_SOURCES = frozenset({"identify", "group"})
EngineName = Literal["auto", "compiled", "reference"]


def compiled_engine_available() -> bool:
    try:
        importlib.import_module("beachhead.engine.evaluate")
    except ModuleNotFoundError:
        return False
    return True


def compute_evaluation(
    settings: Settings,
    events: EventStore,
    config: Config,
    as_of: datetime,
    engine: EngineName = "auto",
    snapshot: Snapshot | None = None,
) -> Evaluation:
    """Scores, stages and PQL matches of every user and account at ``as_of``.

    ``snapshot``: identity at ``as_of`` when the caller resolved it already (the compiled
    engine uses it instead of resolving again; the oracle derives its own).
    """
    free_mail = load_free_mail(settings.free_mail_file)
    if engine == "compiled" or (engine == "auto" and compiled_engine_available()):
        compiled = importlib.import_module("beachhead.engine.evaluate")
        result: Evaluation = compiled.evaluate(events, config, as_of, snapshot, free_mail=free_mail)
        return result
    from beachhead.rules import reference

    # The oracle derives identify/group rows from the messages itself: hand it only the rows
    # that no message carries (imports, billing).
    return reference.evaluate(
        config,
        list(events.messages(as_of)),
        [r for r in events.trait_rows(as_of) if r.source not in DERIVED_SOURCES],
        [m for m in events.memberships(as_of) if m.source not in DERIVED_SOURCES],
        as_of=as_of,
        free_mail=free_mail,
    )
