"""The loader's checks of conditions: groups, trait, event, metric and score leaves.

Each leaf is built with its ``path`` relative to its definition (``when.all[1]``), while
diagnostics carry the full path (``pqls[0].when.all[1]``). ``level`` is the definition's
level (None for routing rules, which apply to either)."""

from __future__ import annotations

from beachhead.rules.check_shapes import (
    AGG_KEYS,
    ALL_OPS,
    BAND_OPS,
    GROUP_KINDS,
    LEAF_KINDS,
    NUMBER_OPS,
    TIME_AGG_OPS,
    TRAIT_OPS,
    TRAIT_RE,
    ShapeChecks,
    join,
    type_name,
)
from beachhead.rules.model import (
    PROPERTY_AGGREGATES,
    TIME_AGGREGATES,
    WINDOWED_METRICS,
    Aggregate,
    AllCond,
    AnyCond,
    Band,
    Comparison,
    Condition,
    EventCond,
    Level,
    Metric,
    MetricCond,
    NoneCond,
    Op,
    PropertyFilter,
    ScoreCond,
    TraitCond,
    TraitRef,
)
from beachhead.rules.yamltree import Y


class ConditionChecks(ShapeChecks):
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
                f"or score), got {type_name(node.value)}",
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
                f"expected a comparison like {{gte: 5}} for {agg}, got {type_name(node.value)}",
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
                f"expected {{property: NAME, <comparison>}}, got {type_name(node.value)}",
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
                            f"expected band names high, medium or low, got {type_name(v)}",
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
