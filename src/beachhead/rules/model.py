"""The typed model of ``beachhead.yml`` (see /work/shared/spec/definitions.md).

Everything here is a frozen pydantic model, so a loaded ``Config`` can be shared between
threads, used as a dict key and compared. ``rules/load.py`` builds it from YAML (with
line/column diagnostics); nothing here does I/O.

API in one screen
-----------------

``Config``                 the whole file: ``scores`` (dict key -> ``Score``), ``pqls``,
                           ``stages``, ``teams``, ``routing``, ``alerts``, ``plans``.
                           ``config.score(key)``, ``config.pql(key)``, ``config.team(key)``.

Conditions (``Condition`` is the union of all of them; ``kind`` tells them apart):

``AllCond`` / ``AnyCond`` / ``NoneCond``   groups with ``items: tuple[Condition, ...]``.
``TraitCond``   ``trait: TraitRef`` (``scope`` user|account, ``keys`` the dotted path),
                ``cmp: Comparison``.
``EventCond``   ``event`` (exact name), ``within: Duration | None``, ``where`` (tuple of
                ``PropertyFilter(property, cmp)``), ``aggregate: Aggregate`` (count, sum,
                avg, min, max, distinct_users, days_active, first_seen, last_seen),
                ``property`` (for sum/avg/min/max), ``cmp`` (default ``count >= 1``).
``MetricCond``  ``metric: Metric``, ``of: TraitRef | None`` (distinct_values), ``within``,
                ``cmp``. Metrics are always about an account (the primary account's in a
                user-level definition).
``ScoreCond``   ``score`` (a key of ``Config.scores``), ``on_band`` (compare the band name
                instead of the points), ``cmp``.

Every leaf (``LEAF_TYPES``) and group carries ``path``: where it sits relative to its
definition, e.g. ``when.all[1]`` in a PQL, ``rules[0].when`` in a score, ``touch[1].when``.
``path`` is *ignored* by ``==`` and ``hash``: two leaves that mean the same thing are equal
wherever they are written, which is how ``plan.py`` deduplicates features. Equality is also
typed (``eq: 1`` differs from ``eq: true``), like the comparison semantics.

``Comparison(op: Op, value)`` holds exactly one operator. Value types by operator:

- eq, ne, contains, starts_with, ends_with: a scalar (``str | int | float | bool``)
- gt, gte, lt, lte: a number; between: ``(lo, hi)`` numbers, inclusive
- in, not_in: a tuple of scalars
- matches: the regular expression text (checked by ``rules/regex.py`` at load time)
- exists: ``bool``
- before, after: a ``TimeRef`` (absolute UTC datetime, or ``N<unit> ago`` = as_of - N)
- within: a ``Duration`` (only for ``first_seen``/``last_seen``: as_of - d < t <= as_of)

``Duration(text, delta)`` keeps the text as written and the ``timedelta``.

``${NAME}`` strings (alert targets) stay unresolved in the model; call
``resolve_env(text)`` at delivery time. It raises ``MissingEnvVar`` naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# --------------------------------------------------------------------------- enums


class Op(StrEnum):
    """Comparison operators. ``WITHIN`` is only valid on ``first_seen``/``last_seen``."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    MATCHES = "matches"
    EXISTS = "exists"
    BEFORE = "before"
    AFTER = "after"
    WITHIN = "within"


NUMERIC_OPS = frozenset({Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN})
STRING_OPS = frozenset({Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.MATCHES})
TIME_OPS = frozenset({Op.BEFORE, Op.AFTER})
LIST_OPS = frozenset({Op.IN, Op.NOT_IN})


class Level(StrEnum):
    USER = "user"
    ACCOUNT = "account"


class Motion(StrEnum):
    FREE_TO_PAID = "free_to_paid"
    SEAT_EXPANSION = "seat_expansion"
    ENTERPRISE_CONVERSION = "enterprise_conversion"
    ENTERPRISE_EXPANSION = "enterprise_expansion"
    CUSTOM = "custom"


class Touch(StrEnum):
    NONE = "none"
    LOW = "low"
    HIGH = "high"


class Assign(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


class AlertOn(StrEnum):
    QUALIFIED = "qualified"
    ASSIGNED = "assigned"
    CONVERTED = "converted"
    EXPIRED = "expired"
    STAGE_CHANGED = "stage_changed"


class Aggregate(StrEnum):
    """What an event condition measures over the matching events."""

    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    DISTINCT_USERS = "distinct_users"
    DAYS_ACTIVE = "days_active"
    FIRST_SEEN = "first_seen"
    LAST_SEEN = "last_seen"


PROPERTY_AGGREGATES = frozenset({Aggregate.SUM, Aggregate.AVG, Aggregate.MIN, Aggregate.MAX})
TIME_AGGREGATES = frozenset({Aggregate.FIRST_SEEN, Aggregate.LAST_SEEN})


class Metric(StrEnum):
    """Account-level built-in measures."""

    ACTIVE_USERS = "active_users"
    MEMBERS = "members"
    SEATS_USED_PCT = "seats_used_pct"
    DAYS_ACTIVE = "days_active"
    DISTINCT_VALUES = "distinct_values"


WINDOWED_METRICS = frozenset({Metric.ACTIVE_USERS, Metric.DAYS_ACTIVE, Metric.DISTINCT_VALUES})


class Band(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


DEFAULT_PLANS: tuple[str, ...] = ("free", "team", "business", "enterprise")

Scalar = str | int | float | bool


# --------------------------------------------------------------------------- base


def _tag(value: Any) -> Any:
    """A hashable identity for ``value`` that keeps bool, number and string apart."""
    if isinstance(value, _Node):
        return value._ident()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", value)
    if isinstance(value, tuple):
        return tuple(_tag(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, _tag(v)) for k, v in value.items())
    if isinstance(value, StrEnum):
        return ("enum", type(value).__name__, str(value))
    return (type(value).__name__, value)


class _Node(BaseModel):
    """Frozen, hashable; ``path`` does not take part in equality."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def _ident(self) -> tuple[Any, ...]:
        fields = type(self).model_fields
        return (type(self).__name__, *((n, _tag(getattr(self, n))) for n in fields if n != "path"))

    def __eq__(self, other: object) -> bool:
        if self is other:  # a step's definitions are usually the last step's (10 ms)
            return True
        if not isinstance(other, _Node):
            return NotImplemented
        return self._ident() == other._ident()

    def __hash__(self) -> int:
        return hash(self._ident())


class Duration(_Node):
    """A span such as ``30m``, ``12h``, ``7d``, ``2w``. Equal when the spans are equal."""

    text: str
    delta: timedelta

    def _ident(self) -> tuple[Any, ...]:
        return ("Duration", self.delta)

    def __str__(self) -> str:
        return self.text


class TimeRef(_Node):
    """A time in a comparison: absolute (``at``, UTC) or relative (``ago``: as_of - ago)."""

    text: str
    at: datetime | None = None
    ago: timedelta | None = None

    def _ident(self) -> tuple[Any, ...]:
        return ("TimeRef", self.at, self.ago)

    def resolve(self, as_of: datetime) -> datetime:
        """The absolute time this reference means at ``as_of`` (UTC-aware)."""
        if self.at is not None:
            return self.at
        assert self.ago is not None
        base = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
        return base - self.ago

    def __str__(self) -> str:
        return self.text


CmpValue = TimeRef | Duration | tuple[Scalar, ...] | Scalar


class Comparison(_Node):
    """Exactly one operator and its value (types per operator: see the module docstring)."""

    op: Op
    value: CmpValue


DEFAULT_COUNT = Comparison(op=Op.GTE, value=1)


class TraitRef(_Node):
    """``user.<path>`` or ``account.<path>``; dots walk nested objects."""

    scope: Level
    keys: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join((str(self.scope), *self.keys))

    def __str__(self) -> str:
        return self.text


class PropertyFilter(_Node):
    """One ``where`` entry: a property of the event (dots walk nested objects)."""

    property: str
    cmp: Comparison


# --------------------------------------------------------------------------- conditions


class TraitCond(_Node):
    kind: Literal["trait"] = "trait"
    path: str = ""
    trait: TraitRef
    cmp: Comparison


class EventCond(_Node):
    kind: Literal["event"] = "event"
    path: str = ""
    event: str
    within: Duration | None = None
    where: tuple[PropertyFilter, ...] = ()
    aggregate: Aggregate = Aggregate.COUNT
    property: str | None = None  # sum/avg/min/max only
    cmp: Comparison = DEFAULT_COUNT


class MetricCond(_Node):
    kind: Literal["metric"] = "metric"
    path: str = ""
    metric: Metric
    of: TraitRef | None = None  # distinct_values only (a user trait)
    within: Duration | None = None
    cmp: Comparison


class ScoreCond(_Node):
    kind: Literal["score"] = "score"
    path: str = ""
    score: str
    on_band: bool = False  # True: ``band: {in: [...]}`` compares the band name
    cmp: Comparison


class AllCond(_Node):
    kind: Literal["all"] = "all"
    path: str = ""
    items: tuple[Condition, ...] = ()


class AnyCond(_Node):
    kind: Literal["any"] = "any"
    path: str = ""
    items: tuple[Condition, ...] = ()


class NoneCond(_Node):
    kind: Literal["none"] = "none"
    path: str = ""
    items: tuple[Condition, ...] = ()


Condition = Annotated[
    AllCond | AnyCond | NoneCond | TraitCond | EventCond | MetricCond | ScoreCond,
    Field(discriminator="kind"),
]
Leaf = TraitCond | EventCond | MetricCond | ScoreCond
Group = AllCond | AnyCond | NoneCond
LEAF_TYPES = (TraitCond, EventCond, MetricCond, ScoreCond)
GROUP_TYPES = (AllCond, AnyCond, NoneCond)

AllCond.model_rebuild()
AnyCond.model_rebuild()
NoneCond.model_rebuild()


def iter_leaves(cond: Condition | None) -> list[Leaf]:
    """Every leaf under ``cond``, in document order."""
    if cond is None:
        return []
    if isinstance(cond, AllCond | AnyCond | NoneCond):
        out: list[Leaf] = []
        for item in cond.items:
            out.extend(iter_leaves(item))
        return out
    return [cond]


# --------------------------------------------------------------------------- definitions


# A score's points, and an event ``sum`` / ``avg``, are rounded to this many decimals
# after they are added, by every engine: numbers are written as decimals, and binary
# floating point would make 0.1 + 0.2 0.30000000000000004, below a cut at 0.3 (and engines
# adding in another order or in decimal disagree in the last digits).
DECIMAL_DIGITS = 9


class Bands(_Node):
    """``>= high`` -> high, ``>= medium`` -> medium, else low (a missing cut is skipped)."""

    high: float | None = None
    medium: float | None = None

    def band_of(self, points: float) -> Band:
        if self.high is not None and points >= self.high:
            return Band.HIGH
        if self.medium is not None and points >= self.medium:
            return Band.MEDIUM
        return Band.LOW


class ScoreRule(_Node):
    points: int | float
    when: Condition


class Score(_Node):
    key: str
    name: str | None = None
    level: Level
    rules: tuple[ScoreRule, ...] = ()
    bands: Bands | None = None

    def score_refs(self) -> set[str]:
        return {
            leaf.score
            for rule in self.rules
            for leaf in iter_leaves(rule.when)
            if isinstance(leaf, ScoreCond)
        }


class TouchRule(_Node):
    level: Touch
    when: Condition | None = None


class Pql(_Node):
    key: str
    name: str
    description: str | None = None
    motion: Motion = Motion.CUSTOM
    level: Level
    priority: int = 0
    when: Condition
    touch: tuple[TouchRule, ...] = ()
    expires_after: Duration = Duration(text="30d", delta=timedelta(days=30))
    cooldown: Duration = Duration(text="30d", delta=timedelta(days=30))

    @property
    def is_pqa(self) -> bool:
        return self.level is Level.ACCOUNT


class Stage(_Node):
    """A journey stage; always account level."""

    key: str
    name: str
    when: Condition


class Rep(_Node):
    email: str
    name: str | None = None
    slack: str | None = None
    weight: int = 1
    away: bool = False


class Team(_Node):
    key: str
    name: str | None = None
    assign: Assign = Assign.ROUND_ROBIN
    capacity: int | None = None
    reps: tuple[Rep, ...] = ()


class RoutingRule(_Node):
    """``when`` is evaluated on the qualification's entity (user or account)."""

    when: Condition | None = None
    team: str


class SlackTarget(_Node):
    webhook_url: str  # may hold ${NAME}; resolve with resolve_env at delivery


class WebhookTarget(_Node):
    url: str
    secret: str | None = None


class Alert(_Node):
    name: str | None = None
    on: AlertOn
    pqls: tuple[str, ...] | None = None  # None: every PQL
    touch: tuple[Touch, ...] | None = None  # None: every touch
    slack: SlackTarget | None = None
    webhook: WebhookTarget | None = None
    bundle: Duration | None = None


class Config(_Node):
    version: int = 1
    scores: dict[str, Score] = Field(default_factory=dict)
    pqls: tuple[Pql, ...] = ()
    stages: tuple[Stage, ...] = ()
    teams: tuple[Team, ...] = ()
    routing: tuple[RoutingRule, ...] = ()
    alerts: tuple[Alert, ...] = ()
    plans: tuple[str, ...] = DEFAULT_PLANS

    def score(self, key: str) -> Score:
        return self.scores[key]

    def pql(self, key: str) -> Pql:
        for p in self.pqls:
            if p.key == key:
                return p
        raise KeyError(key)

    def team(self, key: str) -> Team:
        for t in self.teams:
            if t.key == key:
                return t
        raise KeyError(key)

    def rep(self, email: str, team: str | None = None) -> tuple[Team, Rep] | None:
        """The rep with ``email`` (compared without case) and their team, the first in
        the file (of team ``team`` only, when given); None for anyone else."""
        low = email.lower()
        for t in self.teams:
            if team is None or t.key == team:
                for r in t.reps:
                    if r.email.lower() == low:
                        return t, r
        return None

    def plan_rank(self, plan: object) -> int | None:
        """Position of ``plan`` in the plan order (higher = bigger), None if unknown."""
        return self.plans.index(plan) if isinstance(plan, str) and plan in self.plans else None


# --------------------------------------------------------------------------- env


class MissingEnvVar(LookupError):
    """A ``${NAME}`` in the definitions names an environment variable that is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (used as ${{{name}}})")
        self.name = name


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_refs(text: str) -> list[str]:
    """The variable names ``${NAME}`` in ``text``."""
    return _ENV_REF.findall(text)


def resolve_env(text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace every ``${NAME}`` with its value from ``env`` (default ``os.environ``)."""
    source = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in source:
            raise MissingEnvVar(name)
        return source[name]

    return _ENV_REF.sub(sub, text)
