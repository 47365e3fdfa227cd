"""``beachhead.yml`` -> ``Config``, or every error at once with file:line:col and path.

``load_text(text, filename)`` is pure; ``load_config(path)`` only reads the file first.
Both raise ``ConfigError`` whose ``diagnostics`` are ``Diagnostic(file, line, column, path,
message)``; ``str(diagnostic)`` is ``file:line:col: path: message``. Nothing is returned
from an invalid file, so nothing is ever evaluated from one.

The checker walks the YAML tree itself (instead of leaning on pydantic's messages) so that
each message says what was expected in the words of the spec, and points at the key or
value that is wrong. The walk is a set of small ``_Checker`` methods, one per construct.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from beachhead.rules import durations, regex
from beachhead.rules.model import (
    PROPERTY_AGGREGATES,
    TIME_AGGREGATES,
    WINDOWED_METRICS,
    Aggregate,
    Alert,
    AlertOn,
    AllCond,
    AnyCond,
    Assign,
    Band,
    Bands,
    Comparison,
    Condition,
    Config,
    Duration,
    EventCond,
    Level,
    Metric,
    MetricCond,
    Motion,
    NoneCond,
    Op,
    Pql,
    PropertyFilter,
    Rep,
    RoutingRule,
    Score,
    ScoreCond,
    ScoreRule,
    SlackTarget,
    Stage,
    Team,
    Touch,
    TouchRule,
    TraitCond,
    TraitRef,
    WebhookTarget,
)
from beachhead.rules.yamltree import Y, YamlSyntaxError, parse_yaml

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


class ConfigError(Exception):
    """The definitions are invalid; ``diagnostics`` lists every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


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


def _type_name(value: Any) -> str:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _plain(node: Y) -> Any:
    if node.is_map:
        return {k: _plain(v) for k, v in node.value.items()}
    if node.is_seq:
        return [_plain(v) for v in node.value]
    return node.value


class _Checker:
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
            self.error(node, path, f"expected {what}, got {_type_name(node.value)}")
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
            self.error(node, path, f"expected {what}, got {_type_name(node.value)}")
            return None
        return list(node.value)

    def string(self, node: Y, path: str, what: str = "a string") -> str | None:
        if not isinstance(node.value, str):
            self.error(node, path, f"expected {what}, got {_type_name(node.value)}")
            return None
        if node.value.strip() == "":
            self.error(node, path, f"expected {what}, got an empty string")
            return None
        return node.value

    def integer(self, node: Y, path: str, minimum: int | None = None) -> int | None:
        v = node.value
        if not isinstance(v, int) or isinstance(v, bool):
            self.error(node, path, f"expected a whole number, got {_type_name(v)}")
            return None
        if minimum is not None and v < minimum:
            self.error(node, path, f"expected a whole number of at least {minimum}, got {v}")
            return None
        return v

    def number(self, node: Y, path: str) -> float | int | None:
        if not _is_number(node.value):
            self.error(node, path, f"expected a number, got {_type_name(node.value)}")
            return None
        return node.value

    def boolean(self, node: Y, path: str) -> bool | None:
        if not isinstance(node.value, bool):
            self.error(node, path, f"expected true or false, got {_type_name(node.value)}")
            return None
        return node.value

    def enum(self, node: Y, path: str, enum: type[E]) -> E | None:
        names = [e.value for e in enum]
        if isinstance(node.value, str) and node.value in names:
            return enum(node.value)
        self.error(node, path, f"expected one of {', '.join(names)}, got {_type_name(node.value)}")
        return None

    def key(self, node: Y, path: str) -> str | None:
        s = self.string(node, path, "a key")
        if s is not None and not KEY_RE.match(s):
            self.error(node, path, f"expected a key of lowercase letters, digits and _ (got {s!r})")
            return None
        return s

    def duration(self, node: Y, path: str) -> Duration | None:
        try:
            return durations.parse_duration(node.value)
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
            if not _is_scalar(v):
                hint = " (use exists: false for a missing value)" if v is None else ""
                self.error(
                    node,
                    path,
                    f"expected a string, number or boolean, got {_type_name(v)}{hint}",
                )
                return None
            return v
        if op in (Op.GT, Op.GTE, Op.LT, Op.LTE):
            return self.number(node, path)
        if op is Op.BETWEEN:
            if not (isinstance(v, list) and len(v) == 2 and all(_is_number(x.value) for x in v)):
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
                if not _is_scalar(item.value):
                    self.error(
                        item,
                        f"{path}[{i}]",
                        f"expected a string, number or boolean, got {_type_name(item.value)}",
                    )
                    return None
                out.append(item.value)
            return tuple(out)
        if op in (Op.STARTS_WITH, Op.ENDS_WITH):
            if not isinstance(v, str):
                self.error(node, path, f"expected a string, got {_type_name(v)}")
                return None
            return v
        if op is Op.MATCHES:
            if not isinstance(v, str):
                self.error(node, path, f"expected a regular expression string, got {_type_name(v)}")
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

    # -- conditions ---------------------------------------------------------------

    def condition(self, node: Y, base: str, rel: str, level: Level | None) -> Condition | None:
        """A condition at ``base``+``rel``; ``rel`` becomes the node's ``path``.

        ``level`` is the definition's level (None: routing, evaluated on either)."""
        path = join(base, rel)
        if not node.is_map:
            self.error(
                node,
                path,
                "expected a condition (a mapping with all, any, none, trait, event, metric "
                f"or score), got {_type_name(node.value)}",
            )
            return None
        keys = list(node.value)
        groups = [k for k in keys if k in GROUP_KINDS]
        leaves = [k for k in keys if k in LEAF_KINDS]
        if groups:
            if len(keys) > 1:
                other = next(k for k in keys if k != groups[0])
                self.error(
                    node.value[other],
                    join(path, other),
                    f"a group has exactly one key ({groups[0]}); put '{other}' inside its list",
                    at_key=True,
                )
                return None
            return self.group(groups[0], node.value[groups[0]], base, rel, level)
        if len(leaves) > 1:
            self.error(
                node.value[leaves[1]],
                join(path, leaves[1]),
                f"a condition has one of trait, event, metric or score; found {leaves[0]} "
                f"and {leaves[1]} (combine them with all:)",
                at_key=True,
            )
            return None
        if not leaves:
            self.error(
                node,
                path,
                "expected a condition: a mapping with one of all, any, none, trait, event, "
                f"metric or score (got keys: {', '.join(keys) or 'none'})",
                at_key=True,
            )
            return None
        kind = leaves[0]
        if kind == "trait":
            return self.trait_cond(node, base, rel, level)
        if kind == "event":
            return self.event_cond(node, base, rel, level)
        if kind == "metric":
            return self.metric_cond(node, base, rel)
        return self.score_cond(node, base, rel, level)

    def group(
        self, kind: str, node: Y, base: str, rel: str, level: Level | None
    ) -> Condition | None:
        grel = join(rel, kind)
        items = self.seq(node, join(base, grel), f"a list of conditions under '{kind}'")
        if items is None:
            return None
        built = [self.condition(item, base, f"{grel}[{i}]", level) for i, item in enumerate(items)]
        if any(b is None for b in built):
            return None
        conds = tuple(b for b in built if b is not None)
        if kind == "all":
            return AllCond(path=rel, items=conds)
        if kind == "any":
            return AnyCond(path=rel, items=conds)
        return NoneCond(path=rel, items=conds)

    def trait_ref(self, node: Y, path: str, level: Level | None, what: str) -> TraitRef | None:
        s = self.string(node, path, "a trait like account.plan or user.title")
        if s is None:
            return None
        m = TRAIT_RE.match(s)
        if not m:
            self.error(node, path, f"expected user.<name> or account.<name>, got {s!r}")
            return None
        scope = Level(m.group(1))
        if scope is Level.USER and level is Level.ACCOUNT:
            self.error(
                node,
                path,
                f"{what} '{s}' is a user trait, but this is an account-level definition "
                "(use account.* traits, account metrics or account scores)",
            )
            return None
        return TraitRef(scope=scope, keys=tuple(m.group(2).split(".")))

    def trait_cond(self, node: Y, base: str, rel: str, level: Level | None) -> Condition | None:
        path = join(base, rel)
        fields = node.value
        trait = self.trait_ref(fields["trait"], join(path, "trait"), level, "trait")
        cmp = self.comparison(fields, node, path, TRAIT_OPS, "a trait", extra_keys=("trait",))
        if trait is None or cmp is None:
            return None
        return TraitCond(path=rel, trait=trait, cmp=cmp)

    def event_cond(self, node: Y, base: str, rel: str, level: Level | None) -> Condition | None:
        path = join(base, rel)
        for key, child in node.value.items():
            if key in ALL_OPS and key != "within":
                self.error(
                    child,
                    join(path, key),
                    f"'{key}' goes inside an aggregate of the event, e.g. count: {{{key}: ...}}",
                    at_key=True,
                )
                return None
        fields = self.mapping(node, path, ("event", "within", "where", *AGG_KEYS))
        if fields is None:
            return None
        ok = True
        event = self.string(fields["event"], join(path, "event"), "an event name")
        ok &= event is not None
        within = None
        if "within" in fields:
            within = self.duration(fields["within"], join(path, "within"))
            ok &= within is not None
        where: list[PropertyFilter] = []
        if "where" in fields:
            wnode = fields["where"]
            items = self.seq(wnode, join(path, "where"), "a list of property comparisons")
            ok &= items is not None
            for i, item in enumerate(items or []):
                f = self.property_filter(item, join(path, f"where[{i}]"))
                ok &= f is not None
                if f is not None:
                    where.append(f)
        aggs = [k for k in fields if k in AGG_KEYS]
        aggregate = Aggregate.COUNT
        prop: str | None = None
        cmp: Comparison | None = Comparison(op=Op.GTE, value=1)
        if len(aggs) > 1:
            self.error(
                fields[aggs[1]],
                join(path, aggs[1]),
                f"an event condition has one aggregate; found {aggs[0]} and {aggs[1]}",
                at_key=True,
            )
            return None
        if aggs:
            aggregate = Aggregate(aggs[0])
            anode = fields[aggs[0]]
            apath = join(path, aggs[0])
            if aggregate in TIME_AGGREGATES and "within" in fields:
                self.error(
                    fields["within"],
                    join(path, "within"),
                    f"'within' cannot be combined with {aggregate} ({aggregate} looks at all "
                    f"history); put the window in the comparison: {aggregate}: {{within: 30d}}",
                    at_key=True,
                )
                ok = False
            if aggregate is Aggregate.DISTINCT_USERS and level is Level.USER:
                self.error(
                    anode,
                    apath,
                    "distinct_users counts an account's members: it needs an account-level "
                    "definition",
                    at_key=True,
                )
                ok = False
            cmp, prop = self.aggregate(aggregate, anode, apath)
            ok &= cmp is not None
        if not ok or event is None or cmp is None:
            return None
        return EventCond(
            path=rel,
            event=event,
            within=within,
            where=tuple(where),
            aggregate=aggregate,
            property=prop,
            cmp=cmp,
        )

    def aggregate(self, agg: Aggregate, node: Y, path: str) -> tuple[Comparison | None, str | None]:
        needs_prop = agg in PROPERTY_AGGREGATES
        allowed = TIME_AGG_OPS if agg in TIME_AGGREGATES else NUMBER_OPS
        if not node.is_map:
            self.error(
                node,
                path,
                f"expected a comparison like {{gte: 5}} for {agg}, got {_type_name(node.value)}",
            )
            return None, None
        prop = None
        extra: tuple[str, ...] = ()
        if needs_prop:
            extra = ("property",)
            if "property" not in node.value:
                self.error(node, path, f"{agg} needs 'property': the numeric property to {agg}")
                return None, None
            prop = self.string(node.value["property"], join(path, "property"), "a property name")
            if prop is None:
                return None, None
        elif "property" in node.value:
            self.error(
                node.value["property"],
                join(path, "property"),
                f"'property' only goes with sum, avg, min or max, not {agg}",
                at_key=True,
            )
            return None, None
        subject = "a time" if agg in TIME_AGGREGATES else f"a {agg}"
        cmp = self.comparison(node.value, node, path, allowed, subject, extra_keys=extra)
        return cmp, prop

    def property_filter(self, node: Y, path: str) -> PropertyFilter | None:
        if not node.is_map:
            self.error(
                node,
                path,
                f"expected {{property: NAME, <comparison>}}, got {_type_name(node.value)}",
            )
            return None
        if "property" not in node.value:
            self.error(node, path, "missing required key 'property'", at_key=True)
            return None
        prop = self.string(node.value["property"], join(path, "property"), "a property name")
        cmp = self.comparison(
            node.value, node, path, TRAIT_OPS, "a property", extra_keys=("property",)
        )
        if prop is None or cmp is None:
            return None
        return PropertyFilter(property=prop, cmp=cmp)

    def metric_cond(self, node: Y, base: str, rel: str) -> Condition | None:
        path = join(base, rel)
        fields = node.value
        metric = self.enum(fields["metric"], join(path, "metric"), Metric)
        ok = metric is not None
        of = None
        within = None
        if "of" in fields:
            if metric is not None and metric is not Metric.DISTINCT_VALUES:
                self.error(
                    fields["of"],
                    join(path, "of"),
                    "'of' only goes with distinct_values",
                    at_key=True,
                )
                ok = False
            else:
                of = self.trait_ref(fields["of"], join(path, "of"), None, "of")
                if of is not None and of.scope is not Level.USER:
                    self.error(
                        fields["of"],
                        join(path, "of"),
                        "distinct_values counts a user trait among members: expected user.<name>",
                    )
                    of = None
                ok &= of is not None
        elif metric is Metric.DISTINCT_VALUES:
            self.error(node, path, "distinct_values needs 'of': a user trait like user.department")
            ok = False
        if "within" in fields:
            if metric is not None and metric not in WINDOWED_METRICS:
                self.error(
                    fields["within"],
                    join(path, "within"),
                    f"'within' does not apply to {metric} (it is a count at as_of); it goes "
                    "with active_users, days_active and distinct_values",
                    at_key=True,
                )
                ok = False
            else:
                within = self.duration(fields["within"], join(path, "within"))
                ok &= within is not None
        cmp = self.comparison(
            fields, node, path, NUMBER_OPS, "a metric", extra_keys=("metric", "of", "within")
        )
        if not ok or cmp is None or metric is None:
            return None
        return MetricCond(path=rel, metric=metric, of=of, within=within, cmp=cmp)

    def score_cond(self, node: Y, base: str, rel: str, level: Level | None) -> Condition | None:
        path = join(base, rel)
        fields = node.value
        name = self.string(fields["score"], join(path, "score"), "a score name")
        ok = name is not None
        if name is not None:
            if name not in self.score_levels:
                known = ", ".join(self.score_levels) or "none are defined"
                self.error(
                    fields["score"],
                    join(path, "score"),
                    f"unknown score '{name}' (defined scores: {known})",
                )
                ok = False
            elif self.score_levels[name] is Level.USER and level is Level.ACCOUNT:
                self.error(
                    fields["score"],
                    join(path, "score"),
                    f"score '{name}' is user level, but this is an account-level definition",
                )
                ok = False
            elif self._current_score is not None:
                self.score_refs.append(
                    (self._current_score, name, fields["score"], join(path, "score"))
                )
        if "band" in fields:
            other = [k for k in fields if k not in ("score", "band")]
            if other:
                self.error(
                    fields[other[0]],
                    join(path, other[0]),
                    "a score condition compares either the points or the band, not both",
                    at_key=True,
                )
                return None
            bnode = fields["band"]
            bpath = join(path, "band")
            if not bnode.is_map:
                self.error(bnode, bpath, "expected a comparison like {in: [high, medium]}")
                return None
            cmp = self.comparison(bnode.value, bnode, bpath, BAND_OPS, "a band")
            if cmp is not None:
                values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
                bands = [b.value for b in Band]
                for v in values:
                    if v not in bands:
                        self.error(
                            bnode.value[cmp.op.value],
                            join(bpath, cmp.op.value),
                            f"expected band names high, medium or low, got {_type_name(v)}",
                        )
                        cmp = None
                        break
            if name is not None and ok and not self.score_bands.get(name, False):
                self.error(
                    bnode,
                    bpath,
                    f"score '{name}' has no bands; give it bands: {{high: ..., medium: ...}}",
                    at_key=True,
                )
                ok = False
            if not ok or cmp is None or name is None:
                return None
            return ScoreCond(path=rel, score=name, on_band=True, cmp=cmp)
        cmp = self.comparison(fields, node, path, NUMBER_OPS, "a score", extra_keys=("score",))
        if not ok or cmp is None or name is None:
            return None
        return ScoreCond(path=rel, score=name, cmp=cmp)

    # -- definitions ----------------------------------------------------------------

    def scores(self, node: Y) -> dict[str, Score]:
        if not node.is_map:
            self.error(
                node, "scores", f"expected a mapping of score names, got {_type_name(node.value)}"
            )
            return {}
        # first pass: names, levels, bands, so rules can refer to any score
        for name, snode in node.value.items():
            lvl = None
            if snode.is_map and "level" in snode.value:
                v = snode.value["level"].value
                lvl = Level(v) if v in ("user", "account") else None
            self.score_levels[name] = lvl
            self.score_bands[name] = snode.is_map and "bands" in snode.value
        out: dict[str, Score] = {}
        for name, snode in node.value.items():
            path = f"scores.{name}"
            if not KEY_RE.match(name):
                self.error(
                    snode,
                    path,
                    f"expected a score name of lowercase letters, digits and _ (got {name!r})",
                    at_key=True,
                )
                continue
            score = self.score(name, snode, path)
            if score is not None:
                out[name] = score
        self.check_score_cycles()
        return out

    def score(self, name: str, node: Y, path: str) -> Score | None:
        f = self.mapping(node, path, ("name", "description", "level", "rules", "bands"), ("level",))
        if f is None:
            return None
        ok = True
        level = self.enum(f["level"], join(path, "level"), Level) if "level" in f else None
        ok &= level is not None
        title = self.string(f["name"], join(path, "name")) if "name" in f else None
        rules: list[ScoreRule] = []
        self._current_score = name
        if "rules" in f:
            items = self.seq(f["rules"], join(path, "rules"), "a list of {points, when} rules")
            ok &= items is not None
            for i, item in enumerate(items or []):
                rpath = join(path, f"rules[{i}]")
                rf = self.mapping(item, rpath, ("points", "when"), ("points", "when"))
                if rf is None or "points" not in rf or "when" not in rf:
                    ok = False
                    continue
                points = self.number(rf["points"], join(rpath, "points"))
                when = self.condition(rf["when"], path, f"rules[{i}].when", level)
                if points is None or when is None:
                    ok = False
                    continue
                rules.append(ScoreRule(points=points, when=when))
        self._current_score = None
        bands = None
        if "bands" in f:
            bands = self.bands(f["bands"], join(path, "bands"))
            ok &= bands is not None
        if not ok or level is None:
            return None
        return Score(key=name, name=title, level=level, rules=tuple(rules), bands=bands)

    def bands(self, node: Y, path: str) -> Bands | None:
        f = self.mapping(node, path, ("high", "medium"))
        if f is None:
            return None
        if not f:
            self.error(node, path, "expected at least one of high, medium", at_key=True)
            return None
        high = self.number(f["high"], join(path, "high")) if "high" in f else None
        medium = self.number(f["medium"], join(path, "medium")) if "medium" in f else None
        if ("high" in f and high is None) or ("medium" in f and medium is None):
            return None
        if high is not None and medium is not None and medium > high:
            self.error(
                f["medium"], join(path, "medium"), f"medium ({medium}) is above high ({high})"
            )
            return None
        return Bands(high=high, medium=medium)

    def check_score_cycles(self) -> None:
        graph: dict[str, list[tuple[str, Y, str]]] = {}
        for src, dst, node, path in self.score_refs:
            graph.setdefault(src, []).append((dst, node, path))
        state: dict[str, int] = {}  # 1 visiting, 2 done
        reported: set[str] = set()

        def visit(n: str, trail: list[str]) -> None:
            state[n] = 1
            for dst, node, path in graph.get(n, []):
                if state.get(dst) == 1:
                    cycle = [*trail[trail.index(dst) :], dst] if dst in trail else [n, dst]
                    key = "->".join(sorted(set(cycle)))
                    if key not in reported:
                        reported.add(key)
                        self.error(
                            node,
                            path,
                            f"scores refer to each other in a cycle: {' -> '.join(cycle)}",
                        )
                elif state.get(dst) is None:
                    visit(dst, [*trail, dst])
            state[n] = 2

        for start in list(graph):
            if start not in state:
                visit(start, [start])

    def touch_rules(self, node: Y, path: str, level: Level | None) -> tuple[TouchRule, ...] | None:
        items = self.seq(node, path, "a list of {level, when} touch rules")
        if items is None:
            return None
        out: list[TouchRule] = []
        ok = True
        for i, item in enumerate(items):
            tpath = f"{path}[{i}]"
            f = self.mapping(item, tpath, ("level", "when"), ("level",))
            if f is None:
                ok = False
                continue
            lvl = self.enum(f["level"], join(tpath, "level"), Touch) if "level" in f else None
            when = None
            if "when" in f:
                when = self.condition(f["when"], "", f"touch[{i}].when", level)
                ok &= when is not None
            elif i < len(items) - 1:
                self.error(
                    item,
                    tpath,
                    "only the last touch rule may leave out 'when' (the rules after it "
                    "could never apply)",
                )
                ok = False
            if lvl is None:
                ok = False
                continue
            out.append(TouchRule(level=lvl, when=when))
        return tuple(out) if ok else None

    def pqls(self, node: Y) -> tuple[Pql, ...]:
        items = self.seq(node, "pqls", "a list of PQL definitions")
        out: list[Pql] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"pqls[{i}]"
            f = self.mapping(
                item,
                path,
                (
                    "key",
                    "name",
                    "description",
                    "motion",
                    "level",
                    "priority",
                    "when",
                    "touch",
                    "expires_after",
                    "cooldown",
                ),
                ("key", "level", "when"),
            )
            if f is None:
                continue
            ok = True
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            level = self.enum(f["level"], join(path, "level"), Level) if "level" in f else None
            ok &= key is not None and level is not None
            name = self.string(f["name"], join(path, "name")) if "name" in f else key
            desc = (
                self.string(f["description"], join(path, "description"))
                if "description" in f
                else None
            )
            motion = (
                self.enum(f["motion"], join(path, "motion"), Motion)
                if "motion" in f
                else Motion.CUSTOM
            )
            priority = self.integer(f["priority"], join(path, "priority")) if "priority" in f else 0
            ok &= name is not None and motion is not None and priority is not None
            if "description" in f:
                ok &= desc is not None
            when = self.condition(f["when"], path, "when", level) if "when" in f else None
            ok &= when is not None
            touch: tuple[TouchRule, ...] | None = ()
            if "touch" in f:
                touch = self.touch_rules_at(f["touch"], path, level)
                ok &= touch is not None
            expires = (
                self.duration(f["expires_after"], join(path, "expires_after"))
                if "expires_after" in f
                else None
            )
            cooldown = (
                self.duration(f["cooldown"], join(path, "cooldown")) if "cooldown" in f else None
            )
            ok &= ("expires_after" not in f or expires is not None) and (
                "cooldown" not in f or cooldown is not None
            )
            if not ok:
                continue
            assert key and level and name and motion and when is not None and priority is not None
            kwargs: dict[str, Any] = {}
            if expires is not None:
                kwargs["expires_after"] = expires
            if cooldown is not None:
                kwargs["cooldown"] = cooldown
            out.append(
                Pql(
                    key=key,
                    name=name,
                    description=desc,
                    motion=motion,
                    level=level,
                    priority=priority,
                    when=when,
                    touch=touch or (),
                    **kwargs,
                )
            )
        self.unique_keys(keys, lambda j: f"pqls[{index_of[j]}].key")
        return tuple(out)

    def touch_rules_at(
        self, node: Y, base: str, level: Level | None
    ) -> tuple[TouchRule, ...] | None:
        # conditions inside touch rules get paths relative to the PQL ("touch[0].when")
        saved = self.diags
        self.diags = []
        result = self.touch_rules(node, "touch", level)
        for d in self.diags:
            saved.append(Diagnostic(d.file, d.line, d.column, join(base, d.path), d.message))
        self.diags = saved
        return result

    def stages(self, node: Y) -> tuple[Stage, ...]:
        items = self.seq(node, "stages", "a list of journey stages")
        out: list[Stage] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"stages[{i}]"
            f = self.mapping(item, path, ("key", "name", "description", "when"), ("key", "when"))
            if f is None:
                continue
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            name = self.string(f["name"], join(path, "name")) if "name" in f else key
            when = self.condition(f["when"], path, "when", Level.ACCOUNT) if "when" in f else None
            if key and name and when is not None:
                out.append(Stage(key=key, name=name, when=when))
        self.unique_keys(keys, lambda j: f"stages[{index_of[j]}].key")
        return tuple(out)

    def teams(self, node: Y) -> tuple[Team, ...]:
        items = self.seq(node, "teams", "a list of teams")
        out: list[Team] = []
        keys: list[tuple[str, Y]] = []
        index_of: list[int] = []
        for i, item in enumerate(items or []):
            path = f"teams[{i}]"
            f = self.mapping(
                item, path, ("key", "name", "assign", "capacity", "reps"), ("key", "reps")
            )
            if f is None:
                continue
            key = self.key(f["key"], join(path, "key")) if "key" in f else None
            if key is not None:
                keys.append((key, f["key"]))
                index_of.append(i)
            name = self.string(f["name"], join(path, "name")) if "name" in f else None
            assign = (
                self.enum(f["assign"], join(path, "assign"), Assign)
                if "assign" in f
                else Assign.ROUND_ROBIN
            )
            capacity = (
                self.integer(f["capacity"], join(path, "capacity"), minimum=1)
                if "capacity" in f
                else None
            )
            reps = self.reps(f["reps"], join(path, "reps")) if "reps" in f else None
            ok = key is not None and assign is not None and reps is not None
            ok &= ("capacity" not in f or capacity is not None) and (
                "name" not in f or name is not None
            )
            if ok:
                assert key and assign and reps is not None
                out.append(Team(key=key, name=name, assign=assign, capacity=capacity, reps=reps))
        self.unique_keys(keys, lambda j: f"teams[{index_of[j]}].key")
        return tuple(out)

    def reps(self, node: Y, path: str) -> tuple[Rep, ...] | None:
        items = self.seq(node, path, "a list of reps ({email: ...})")
        if items is None:
            return None
        out: list[Rep] = []
        ok = True
        emails: dict[str, int] = {}
        for i, item in enumerate(items):
            rpath = f"{path}[{i}]"
            f = self.mapping(item, rpath, ("email", "name", "slack", "weight", "away"), ("email",))
            if f is None or "email" not in f:
                ok = False
                continue
            email = self.string(f["email"], join(rpath, "email"), "an email address")
            if email is not None and "@" not in email:
                self.error(
                    f["email"], join(rpath, "email"), f"expected an email address, got {email!r}"
                )
                email = None
            if email is not None:
                if email.lower() in emails:
                    self.error(
                        f["email"],
                        join(rpath, "email"),
                        f"duplicate rep '{email}' (already {path}[{emails[email.lower()]}])",
                    )
                    email = None
                else:
                    emails[email.lower()] = i
            name = self.string(f["name"], join(rpath, "name")) if "name" in f else None
            slack = self.string(f["slack"], join(rpath, "slack")) if "slack" in f else None
            weight = (
                self.integer(f["weight"], join(rpath, "weight"), minimum=1) if "weight" in f else 1
            )
            away = self.boolean(f["away"], join(rpath, "away")) if "away" in f else False
            if email is None or weight is None or away is None:
                ok = False
                continue
            if ("name" in f and name is None) or ("slack" in f and slack is None):
                ok = False
                continue
            out.append(Rep(email=email, name=name, slack=slack, weight=weight, away=away))
        return tuple(out) if ok else None

    def routing(self, node: Y, team_keys: set[str]) -> tuple[RoutingRule, ...]:
        items = self.seq(node, "routing", "a list of {when, team} rules")
        out: list[RoutingRule] = []
        for i, item in enumerate(items or []):
            path = f"routing[{i}]"
            f = self.mapping(item, path, ("when", "team"), ("team",))
            if f is None:
                continue
            team = self.string(f["team"], join(path, "team"), "a team key") if "team" in f else None
            if team is not None and team not in team_keys:
                known = ", ".join(sorted(team_keys)) or "no teams are defined"
                self.error(f["team"], join(path, "team"), f"unknown team '{team}' (teams: {known})")
                team = None
            when = None
            if "when" in f:
                when = self.condition(f["when"], path, "when", None)
                if when is None:
                    continue
            elif i < len(items or []) - 1:
                self.error(
                    item,
                    path,
                    "only the last routing rule may leave out 'when' (the rules after it "
                    "could never apply)",
                )
                continue
            if team is not None:
                out.append(RoutingRule(when=when, team=team))
        return tuple(out)

    def alerts(self, node: Y, pql_keys: set[str]) -> tuple[Alert, ...]:
        items = self.seq(node, "alerts", "a list of alerts")
        out: list[Alert] = []
        for i, item in enumerate(items or []):
            path = f"alerts[{i}]"
            f = self.mapping(
                item, path, ("name", "on", "pqls", "touch", "slack", "webhook", "bundle"), ("on",)
            )
            if f is None:
                continue
            ok = True
            on = self.enum(f["on"], join(path, "on"), AlertOn) if "on" in f else None
            ok &= on is not None
            pqls: tuple[str, ...] | None = None
            if "pqls" in f:
                pitems = self.seq(f["pqls"], join(path, "pqls"), "a list of PQL keys")
                ok &= pitems is not None
                got: list[str] = []
                for j, p in enumerate(pitems or []):
                    k = self.string(p, join(path, f"pqls[{j}]"), "a PQL key")
                    if k is not None and k not in pql_keys:
                        known = ", ".join(sorted(pql_keys)) or "none are defined"
                        self.error(
                            p, join(path, f"pqls[{j}]"), f"unknown PQL '{k}' (PQLs: {known})"
                        )
                        k = None
                    if k is None:
                        ok = False
                    else:
                        got.append(k)
                pqls = tuple(got)
            touch: tuple[Touch, ...] | None = None
            if "touch" in f:
                titems = self.seq(f["touch"], join(path, "touch"), "a list of touch levels")
                ok &= titems is not None
                tl = [
                    self.enum(t, join(path, f"touch[{j}]"), Touch)
                    for j, t in enumerate(titems or [])
                ]
                ok &= all(t is not None for t in tl)
                touch = tuple(t for t in tl if t is not None)
            slack = webhook = None
            if "slack" in f and "webhook" in f:
                self.error(
                    f["webhook"],
                    join(path, "webhook"),
                    "an alert has one target: slack or webhook (write two alerts for both)",
                    at_key=True,
                )
                ok = False
            elif "slack" in f:
                sf = self.mapping(
                    f["slack"], join(path, "slack"), ("webhook_url",), ("webhook_url",)
                )
                url = (
                    self.string(sf["webhook_url"], join(path, "slack.webhook_url"), "a URL")
                    if sf and "webhook_url" in sf
                    else None
                )
                ok &= url is not None
                slack = SlackTarget(webhook_url=url) if url else None
            elif "webhook" in f:
                wf = self.mapping(f["webhook"], join(path, "webhook"), ("url", "secret"), ("url",))
                url = (
                    self.string(wf["url"], join(path, "webhook.url"), "a URL")
                    if wf and "url" in wf
                    else None
                )
                secret = (
                    self.string(wf["secret"], join(path, "webhook.secret"))
                    if wf and "secret" in wf
                    else None
                )
                ok &= url is not None and (not wf or "secret" not in wf or secret is not None)
                webhook = WebhookTarget(url=url, secret=secret) if url else None
            else:
                self.error(
                    item,
                    path,
                    "an alert needs a target: slack: {webhook_url: ...} or webhook: {url: ...}",
                )
                ok = False
            bundle = None
            if "bundle" in f:
                bundle = self.duration(f["bundle"], join(path, "bundle"))
                ok &= bundle is not None
            if ok and on is not None:
                out.append(
                    Alert(
                        name=self.string(f["name"], join(path, "name")) if "name" in f else None,
                        on=on,
                        pqls=pqls,
                        touch=touch,
                        slack=slack,
                        webhook=webhook,
                        bundle=bundle,
                    )
                )
        return tuple(out)

    def plans(self, node: Y) -> tuple[str, ...] | None:
        items = self.seq(node, "plans", "a list of plan names, lowest first")
        if items is None:
            return None
        out: list[str] = []
        for i, item in enumerate(items):
            s = self.string(item, f"plans[{i}]", "a plan name")
            if s is None:
                return None
            if s in out:
                self.error(item, f"plans[{i}]", f"duplicate plan '{s}'")
                return None
            out.append(s)
        if not out:
            self.error(node, "plans", "expected at least one plan", at_key=True)
            return None
        return tuple(out)

    # -- the file -----------------------------------------------------------------

    def config(self, root: Y) -> Config | None:
        if root.is_map:  # top-level x-* keys are free (a place for YAML anchors)
            root = Y(
                {k: v for k, v in root.value.items() if not k.startswith("x-")},
                root.line,
                root.col,
                root.kline,
                root.kcol,
            )
        top = self.mapping(
            root,
            "",
            ("version", "scores", "pqls", "stages", "teams", "routing", "alerts", "plans"),
            what="a mapping with version, scores, pqls, stages, teams, routing, alerts",
        )
        if top is None:
            return None
        if "version" in top and top["version"].value != 1:
            self.error(
                top["version"],
                "version",
                f"expected version: 1, got {_type_name(top['version'].value)}",
            )
        scores = self.scores(top["scores"]) if "scores" in top else {}
        pqls = self.pqls(top["pqls"]) if "pqls" in top else ()
        stages = self.stages(top["stages"]) if "stages" in top else ()
        teams = self.teams(top["teams"]) if "teams" in top else ()
        team_keys = set()
        if "teams" in top and top["teams"].is_seq:
            for t in top["teams"].value:
                if t.is_map and "key" in t.value and isinstance(t.value["key"].value, str):
                    team_keys.add(t.value["key"].value)
        routing = self.routing(top["routing"], team_keys) if "routing" in top else ()
        pql_keys = set()
        if "pqls" in top and top["pqls"].is_seq:
            for p in top["pqls"].value:
                if p.is_map and "key" in p.value and isinstance(p.value["key"].value, str):
                    pql_keys.add(p.value["key"].value)
        alerts = self.alerts(top["alerts"], pql_keys) if "alerts" in top else ()
        plans = self.plans(top["plans"]) if "plans" in top else None
        if self.diags:
            return None
        kwargs: dict[str, Any] = {}
        if plans is not None:
            kwargs["plans"] = plans
        return Config(
            scores=scores,
            pqls=pqls,
            stages=stages,
            teams=teams,
            routing=routing,
            alerts=alerts,
            **kwargs,
        )


@functools.lru_cache(maxsize=32)
def load_text(text: str, filename: str = "beachhead.yml") -> Config:
    """Parse and validate ``text``; raise ``ConfigError`` listing every problem.

    Cached by (text, filename): the ruamel parser is pure Python (~0.1 s for the template)
    and a ``Config`` is immutable, so the web app and services may reload freely."""
    try:
        root = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError([Diagnostic(filename, exc.line, exc.col, "", exc.message)]) from None
    if root is None:
        return Config()
    checker = _Checker(filename)
    config = checker.config(root)
    if checker.diags or config is None:
        raise ConfigError(checker.diags)
    return config


def load_config(path: str | Path) -> Config:
    """Read ``path`` and ``load_text`` it (the only file access in ``rules/``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Diagnostic(str(p), 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError([Diagnostic(str(p), 1, 1, "", "the file is not UTF-8 text")]) from None
    return load_text(text, str(p))


def plain(node: Y) -> Any:
    """The plain Python value of a YAML node (for tools that want the raw data)."""
    return _plain(node)
