"""The demo company: a realistic collaborative SaaS product's data, generated from a seed.

``generate(scale, seed, out_dir, end=...) -> Manifest`` writes Segment JSONL, CSVs, the sales
org and a manifest; ``beachhead demo generate`` is the command for it.
"""

from beachhead.demo.generator import DEFAULT_END, Manifest, generate
from beachhead.demo.scale import ScaleSpec, parse_scale

__all__ = ["DEFAULT_END", "Manifest", "ScaleSpec", "generate", "parse_scale"]
