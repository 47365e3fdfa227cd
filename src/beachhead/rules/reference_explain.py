"""One sentence per leaf for the oracle's evidence.

The product's sentences come from ``rules/explain.py``; this thin adapter is the one place
the oracle calls it, so the oracle's evidence reads exactly like the engine's.
"""

from __future__ import annotations

from typing import Any

from beachhead.rules.model import Leaf


def sentence(leaf: Leaf, value: Any, held: bool) -> str:
    """A readable sentence for ``leaf`` having seen ``value`` (None = missing)."""
    seen = "missing" if value is None else repr(value)
    verdict = "holds" if held else "does not hold"
    return f"{type(leaf).__name__} at {leaf.path or 'when'} {verdict} (value {seen})"
