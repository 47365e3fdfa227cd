"""YAML 1.2 text -> a tree of ``Y`` nodes that remember where they were written.

Why not plain dicts: every diagnostic must point at the line and column of the offending
key or value, so each value keeps its own position and, inside a mapping, its key's.
Scalars are plain Python (``str``, ``int``, ``float``, ``bool``, ``None``); unquoted dates
and times stay strings (YAML 1.2 core schema), ``NO``/``on`` stay strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError


class _Constructor(RoundTripConstructor):
    """ruamel resolves timestamps even in 1.2 mode; the spec wants them as strings."""


def _timestamp_as_str(self: _Constructor, node: Any) -> str:
    return str(self.construct_scalar(node))


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_str)

# YAML 1.2's core schema: what ruamel resolves as a number beyond these (``1_000``,
# ``0b11``, ``0x_1F``, ``1_0.5``: YAML 1.1 forms) stays the string it is in 1.2
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _int_core(self: _Constructor, node: Any) -> Any:
    text = str(self.construct_scalar(node))
    return self.construct_yaml_int(node) if _CORE_INT.fullmatch(text) else text


def _float_core(self: _Constructor, node: Any) -> Any:
    text = str(self.construct_scalar(node))
    return self.construct_yaml_float(node) if _CORE_FLOAT.fullmatch(text) else text


_Constructor.add_constructor("tag:yaml.org,2002:int", _int_core)
_Constructor.add_constructor("tag:yaml.org,2002:float", _float_core)


@dataclass
class Y:
    """One value and where it is: ``line``/``col`` of the value, ``kline``/``kcol`` of its key
    (equal to the value's for list items and the root). 1-based."""

    value: Any  # dict[str, Y] | list[Y] | str | int | float | bool | None
    line: int
    col: int
    kline: int = 0
    kcol: int = 0

    def __post_init__(self) -> None:
        if not self.kline:
            self.kline, self.kcol = self.line, self.col

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


# ``${NAME}`` may stand unquoted inside a flow mapping, as the spec writes it
# (``slack: {webhook_url: ${SLACK_WEBHOOK_URL}}``), where YAML reads its braces as flow
# indicators. Before parsing, the braces of such references become two private-use
# characters (one character each, so every line and column stays where it was), and every
# string gets them back afterwards.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_OPEN, _CLOSE = "\ue000", "\ue001"


def _protect_env_refs(text: str) -> str:
    if _OPEN in text or _CLOSE in text:
        return text
    return _ENV_REF.sub(lambda m: f"${_OPEN}{m.group(1)}{_CLOSE}", text)


def _restore_env_refs(value: str) -> str:
    if _OPEN not in value:
        return value
    return value.replace(f"${_OPEN}", "${").replace(_CLOSE, "}")


def _scalar(value: Any) -> Any:
    if isinstance(value, TaggedScalar):
        return str(value.value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _restore_env_refs(str(value))
    return value


def _convert(value: Any, line: int, col: int, kline: int = 0, kcol: int = 0) -> Y:
    if isinstance(value, CommentedMap):
        out: dict[str, Y] = {}
        node = Y(out, line, col, kline, kcol)
        for k, v in value.items():
            try:
                kl, kc = value.lc.key(k)
            except KeyError:  # a key that came in through a merge (<<: *anchor)
                kl, kc = line - 1, col - 1
            if v is None or (not isinstance(v, CommentedMap | CommentedSeq)):
                try:
                    vl, vc = value.lc.value(k)
                except KeyError:
                    vl, vc = kl, kc
                if v is None:  # ruamel points a null at the next token
                    vl, vc = kl, kc
            else:
                vl, vc = v.lc.line, v.lc.col
            key = str(k) if not isinstance(k, str) else k
            out[key] = _convert(v, vl + 1, vc + 1, kl + 1, kc + 1)
        return node
    if isinstance(value, CommentedSeq):
        items: list[Y] = []
        for i, v in enumerate(value):
            il, ic = value.lc.item(i)
            if isinstance(v, CommentedMap | CommentedSeq):
                il, ic = v.lc.line, v.lc.col
            items.append(_convert(v, il + 1, ic + 1))
        return Y(items, line, col, kline, kcol)
    return Y(_scalar(value), line, col, kline, kcol)


def parse_yaml(text: str) -> Y | None:
    """Parse; None for an empty document. Raises ``YamlSyntaxError`` with a position."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.version = (1, 2)
    try:
        data = yaml.load(_protect_env_refs(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "duplicate key" in problem:
            problem = problem.split(" with value")[0]
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YamlSyntaxError(f"invalid YAML: {problem}", line, col) from None
    if data is None:
        return None
    if isinstance(data, CommentedMap | CommentedSeq):
        return _convert(data, data.lc.line + 1, data.lc.col + 1)
    return Y(_scalar(data), 1, 1)
