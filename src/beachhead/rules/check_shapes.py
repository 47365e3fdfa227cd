"""The loader's generic checks: mappings, lists, scalars, enums, durations, comparisons.

``ShapeChecks`` collects ``Diagnostic``s while reading a ``Y`` tree; the condition and
definition checks (``check_conditions.py``, ``check_definitions.py``) build on it. Every
check returns the value it read, or None after reporting what was expected.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, TypeVar

from beachhead.rules import durations, regex
from beachhead.rules.diagnostics import Diagnostic
from beachhead.rules.model import (
    Aggregate,
    Comparison,
    Duration,
    Level,
    Op,
)
from beachhead.rules.yamltree import Y

E = TypeVar("E", bound=StrEnum)

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TRAIT_RE = re.compile(r"^(user|account)\.([^.\s]+(?:\.[^.\s]+)*)$")

ALL_OPS = tuple(o.value for o in Op)
TRAIT_OPS = frozenset(Op) - {Op.WITHIN}
NUMBER_OPS = frozenset(
    {Op.EQ, Op.NE, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IN, Op.NOT_IN, Op.EXISTS}
)
TIME_AGG_OPS = frozenset({Op.BEFORE, Op.AFTER, Op.WITHIN, Op.EXISTS})
BAND_OPS = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})
AGG_KEYS = tuple(a.value for a in Aggregate)
LEAF_KINDS = ("trait", "event", "metric", "score")
GROUP_KINDS = ("all", "any", "none")


def join(base: str, rel: str) -> str:
    """``join("pqls[0]", "when.all[1]") == "pqls[0].when.all[1]"``."""
    if not base:
        return rel
    if not rel:
        return base
    return base + rel if rel.startswith("[") else f"{base}.{rel}"


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


class ShapeChecks:
    """Collects diagnostics while building the model; one method per construct."""

    def __init__(self, filename: str) -> None:
        self.file = filename
        self.diags: list[Diagnostic] = []
        self.score_levels: dict[str, Level | None] = {}
        self.score_bands: dict[str, bool] = {}
        self.score_refs: list[tuple[str, str, Y, str]] = []  # (from, to, node, path)
        self._current_score: str | None = None

    # -- reporting ------------------------------------------------------------------

    def error(self, node: Y, path: str, message: str, at_key: bool = False) -> None:
        line, col = (node.kline, node.kcol) if at_key else (node.line, node.col)
        self.diags.append(Diagnostic(self.file, line, col, path, message))

    # -- generic shapes --------------------------------------------------------------

    def mapping(
        self,
        node: Y,
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        what: str = "a mapping",
    ) -> dict[str, Y] | None:
        if not node.is_map:
            self.error(node, path, f"expected {what}, got {type_name(node.value)}")
            return None
        allowed = list(allowed)
        out: dict[str, Y] = {}
        for key, child in node.value.items():
            if key not in allowed:
                self.error(child, join(path, key), self._unknown_key(key, allowed), at_key=True)
            else:
                out[key] = child
        for key in required:
            if key not in node.value:
                self.error(node, path, f"missing required key '{key}'", at_key=True)
        return out

    @staticmethod
    def _unknown_key(key: str, allowed: list[str]) -> str:
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key '{key}'{hint}; expected one of: {', '.join(allowed)}"

    def seq(self, node: Y, path: str, what: str = "a list") -> list[Y] | None:
        if not node.is_seq:
            self.error(node, path, f"expected {what}, got {type_name(node.value)}")
            return None
        return list(node.value)

    def string(self, node: Y, path: str, what: str = "a string") -> str | None:
        if not isinstance(node.value, str):
            self.error(node, path, f"expected {what}, got {type_name(node.value)}")
            return None
        if node.value.strip() == "":
            self.error(node, path, f"expected {what}, got an empty string")
            return None
        return node.value

    def integer(self, node: Y, path: str, minimum: int | None = None) -> int | None:
        v = node.value
        if not isinstance(v, int) or isinstance(v, bool):
            self.error(node, path, f"expected a whole number, got {type_name(v)}")
            return None
        if minimum is not None and v < minimum:
            self.error(node, path, f"expected a whole number of at least {minimum}, got {v}")
            return None
        return v

    def number(self, node: Y, path: str) -> float | int | None:
        if not is_number(node.value):
            self.error(node, path, f"expected a number, got {type_name(node.value)}")
            return None
        return node.value

    def boolean(self, node: Y, path: str) -> bool | None:
        if not isinstance(node.value, bool):
            self.error(node, path, f"expected true or false, got {type_name(node.value)}")
            return None
        return node.value

    def enum(self, node: Y, path: str, enum: type[E]) -> E | None:
        names = [e.value for e in enum]
        if isinstance(node.value, str) and node.value in names:
            return enum(node.value)
        self.error(node, path, f"expected one of {', '.join(names)}, got {type_name(node.value)}")
        return None

    def key(self, node: Y, path: str) -> str | None:
        s = self.string(node, path, "a key")
        if s is not None and not KEY_RE.match(s):
            self.error(node, path, f"expected a key of lowercase letters, digits and _ (got {s!r})")
            return None
        return s

    def duration(self, node: Y, path: str, allow_zero: bool = False) -> Duration | None:
        try:
            return durations.parse_duration(node.value, allow_zero)
        except ValueError as exc:
            self.error(node, path, str(exc))
            return None

    def unique_keys(self, items: list[tuple[str, Y]], path_of: Callable[[int], str]) -> None:
        seen: dict[str, int] = {}
        for i, (k, node) in enumerate(items):
            if k in seen:
                self.error(
                    node,
                    path_of(i),
                    f"duplicate key '{k}' (already used by item {seen[k]})",
                )
            else:
                seen[k] = i

    # -- comparisons --------------------------------------------------------------

    def comparison(
        self,
        fields: dict[str, Y],
        node: Y,
        path: str,
        allowed_ops: frozenset[Op],
        subject: str,
        extra_keys: Iterable[str] = (),
    ) -> Comparison | None:
        """The one operator in ``fields`` (other keys were checked by the caller)."""
        extra = set(extra_keys)
        ops: list[tuple[str, Y]] = []
        bad = False
        for key, child in fields.items():
            if key in extra:
                continue
            if key not in ALL_OPS:
                close = difflib.get_close_matches(key, [*ALL_OPS, *extra], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.error(
                    child,
                    join(path, key),
                    f"unknown operator '{key}'{hint}; expected one of: "
                    + ", ".join(o.value for o in Op if o in allowed_ops),
                    at_key=True,
                )
                bad = True
                continue
            ops.append((key, child))
        if not ops:
            if not bad:
                self.error(
                    node,
                    path,
                    f"{subject} needs one comparison, one of: "
                    + ", ".join(o.value for o in Op if o in allowed_ops),
                )
            return None
        if len(ops) > 1:
            names = ", ".join(k for k, _ in ops)
            self.error(
                ops[1][1],
                join(path, ops[1][0]),
                f"{subject} has several comparisons ({names}); a leaf holds exactly one "
                "(use between, or an all: group)",
                at_key=True,
            )
            return None
        name, vnode = ops[0]
        op = Op(name)
        if op not in allowed_ops:
            self.error(
                vnode,
                join(path, name),
                f"'{name}' cannot compare {subject}; expected one of: "
                + ", ".join(o.value for o in Op if o in allowed_ops),
                at_key=True,
            )
            return None
        value = self.op_value(op, vnode, join(path, name))
        if value is None:
            return None
        return Comparison(op=op, value=value)

    def op_value(self, op: Op, node: Y, path: str) -> Any:
        v = node.value
        if op in (Op.EQ, Op.NE, Op.CONTAINS):
            if not is_scalar(v):
                hint = " (use exists: false for a missing value)" if v is None else ""
                self.error(
                    node,
                    path,
                    f"expected a string, number or boolean, got {type_name(v)}{hint}",
                )
                return None
            return v
        if op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
            return self.number(node, path)
        if op is Op.BETWEEN:
            if not (isinstance(v, list) and len(v) == 2 and all(is_number(x.value) for x in v)):
                self.error(node, path, "expected [low, high]: a list of two numbers")
                return None
            lo, hi = v[0].value, v[1].value
            if lo > hi:
                self.error(node, path, f"expected low <= high, got [{lo}, {hi}]")
                return None
            return (lo, hi)
        if op in (Op.IN, Op.NOT_IN):
            items = self.seq(node, path, "a list of values")
            if items is None:
                return None
            out = []
            for i, item in enumerate(items):
                if not is_scalar(item.value):
                    self.error(
                        item,
                        f"{path}[{i}]",
                        f"expected a string, number or boolean, got {type_name(item.value)}",
                    )
                    return None
                out.append(item.value)
            return tuple(out)
        if op in (Op.STARTS_WITH, Op.ENDS_WITH):
            if not isinstance(v, str):
                self.error(node, path, f"expected a string, got {type_name(v)}")
                return None
            return v
        if op is Op.MATCHES:
            if not isinstance(v, str):
                self.error(node, path, f"expected a regular expression string, got {type_name(v)}")
                return None
            try:
                regex.check(v)
            except regex.RegexError as exc:
                self.error(node, path, f"regular expression outside the supported grammar: {exc}")
                return None
            return v
        if op is Op.EXISTS:
            return self.boolean(node, path)
        if op in (Op.BEFORE, Op.AFTER):
            try:
                return durations.parse_time_ref(v)
            except ValueError as exc:
                self.error(node, path, str(exc))
                return None
        if op is Op.WITHIN:
            return self.duration(node, path)
        raise AssertionError(op)  # pragma: no cover
