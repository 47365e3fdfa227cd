"""The demo company: a realistic collaborative SaaS product's data, generated from a seed.

``generate(scale, seed, out_dir, end=...) -> Manifest`` writes Segment JSONL, CSVs, the sales
org and a manifest; ``beachhead demo generate`` is the command for it.

numpy and pyarrow are imported on first use of ``generate``/``Manifest``, not with the
package, so that every other CLI command starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from beachhead.demo.scale import ScaleSpec, parse_scale

if TYPE_CHECKING:
    from beachhead.demo.generator import DEFAULT_END, Manifest, generate

__all__ = ["DEFAULT_END", "Manifest", "ScaleSpec", "generate", "parse_scale"]


def __getattr__(name: str) -> Any:
    if name in {"DEFAULT_END", "Manifest", "generate"}:
        from beachhead.demo import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'beachhead.demo' has no attribute {name!r}")
