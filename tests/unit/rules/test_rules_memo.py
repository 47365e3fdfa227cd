"""rules/memo.py: the small caches of what is derived from definitions."""

from __future__ import annotations

import threading
from collections.abc import Callable

from beachhead.rules.memo import Bounded, ByObject


def test_bounded_makes_once_per_key_and_drops_the_oldest() -> None:
    made: list[str] = []
    cache: Bounded[str] = Bounded(size=2)

    def make(k: str) -> str:
        made.append(k)
        return k.upper()

    assert cache.get_or_make("a", lambda: make("a")) == "A"
    assert cache.get_or_make("a", lambda: make("a")) == "A"
    assert cache.get_or_make("b", lambda: make("b")) == "B"
    assert made == ["a", "b"] and len(cache) == 2
    cache.get_or_make("c", lambda: make("c"))  # "a" was oldest: it goes
    assert len(cache) == 2
    cache.get_or_make("b", lambda: make("b"))
    cache.get_or_make("a", lambda: make("a"))
    assert made == ["a", "b", "c", "a"]


def test_by_object_keys_on_the_object_not_its_value() -> None:
    cache: ByObject[list[int]] = ByObject(size=4)
    one, other = [1], [1]  # equal, not the same object
    got = cache.get_or_make(one, lambda: [len(one)])
    assert cache.get_or_make(one, lambda: [99]) is got
    assert cache.get_or_make(other, lambda: [7]) == [7]


def test_threads_share_one_cache() -> None:
    cache: Bounded[int] = Bounded(size=64)
    seen: list[int] = []

    def double(key: int) -> Callable[[], int]:
        return lambda: key * 2

    def work(i: int) -> None:
        for k in range(50):
            seen.append(cache.get_or_make(k % 10, double(k % 10)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 200 and len(cache) == 10
    assert all(cache.get_or_make(k, lambda: -1) == k * 2 for k in range(10))
