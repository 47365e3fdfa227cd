"""Small per-process caches for what is derived from definitions (pure: no I/O).

The plan of a ``Config`` (``rules/plan.py``), its fingerprint and the SQL templates
compiled from it (``engine/prepared.py``, ``engine/pairs.py``) are asked for again at
every evaluation and every incremental step. Each is kept here:

- ``Bounded``: by a hashable key, at most ``size`` entries, the oldest out first;
- ``ByObject``: by the object itself (its ``id``, the entry holding the object so the id
  is not reused while cached), for frozen models whose derived values cannot go stale.

Both are safe to share between threads: two threads that miss together both compute,
and the value kept is the last one (the values are equal).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Bounded(Generic[V]):
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._entries: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None:
            return hit
        made = make()  # outside the lock: compiling takes seconds
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = made
        return made

    def __len__(self) -> int:
        return len(self._entries)


class ByObject(Generic[V]):
    def __init__(self, size: int = 32) -> None:
        self._entries: Bounded[tuple[object, V]] = Bounded(size)

    def get_or_make(self, obj: object, make: Callable[[], V]) -> V:
        # the entry holds obj, so no other object can have its id while it is cached
        return self._entries.get_or_make(id(obj), lambda: (obj, make()))[1]

    def __len__(self) -> int:
        return len(self._entries)
