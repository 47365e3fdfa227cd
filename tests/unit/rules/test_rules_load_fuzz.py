"""Robustness: any mutation of a valid file loads or fails with positioned diagnostics.

The loader walks untrusted YAML by hand, so a shape it did not expect must become a
diagnostic, never a crash. Hypothesis replaces one node of the template with an arbitrary
value (JSON is YAML, so the result is dumped as JSON) and checks the outcome.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from beachhead.rules.load import ConfigError, load_text
from beachhead.rules.model import Config

TEMPLATE: Any = YAML(typ="safe").load(
    resources.files("beachhead.rules").joinpath("templates/beachhead.yml").read_text()
)
WORDS = [
    "eq", "gte", "in", "between", "within", "count", "sum", "first_seen", "last_seen",
    "trait", "event", "metric", "score", "all", "any", "none", "band", "property",
    "user.title", "account.plan", "7d", "30d ago", "high", "low", "fit", "usage", "key",
    "level", "user", "account", "(?i)^a", "when", "touch", "x", "",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(WORDS),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(TEMPLATE)[1:]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(path=st.sampled_from(PATHS), value=VALUES)
def test_mutations_never_crash(path: tuple[Any, ...], value: Any) -> None:
    text = json.dumps(_replace(TEMPLATE, path, value), indent=1)
    try:
        cfg = load_text(text, "fuzz.yml")
    except ConfigError as exc:
        assert exc.diagnostics
        lines = text.count("\n") + 1
        for d in exc.diagnostics:
            assert 1 <= d.line <= lines and d.column >= 1 and d.message
    else:
        assert isinstance(cfg, Config)
