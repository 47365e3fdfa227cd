"""``paused_gc()``: CPython's cyclic garbage collector held off while an evaluation runs.

An evaluation builds hundreds of thousands of long-lived container objects (the identity
snapshot's traits, then every entity's scores and every match's evidence). Each few
hundred allocations the collector scans the young objects, and whenever the long-lived
ones grew by a quarter it scans the whole heap again: at 10M events those full passes
cost seconds of a ten-second evaluation, yet find nothing to free (the objects are kept,
and they hold no reference cycles; reference counting frees the temporary ones).

Inside ``paused_gc()`` the collector is off; it is switched back on when the last
evaluation in the process leaves (evaluations may run in several threads). One full
collection afterwards, should CPython decide to run one, costs a fraction of what the
passes during the evaluation did (measured in docs/architecture.md). A collector that
was off already stays off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
