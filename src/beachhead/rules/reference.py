"""The oracle: every definition evaluated in plain Python, simple and obviously right.

``evaluate(config, messages, trait_rows, memberships, as_of, free_mail) -> Evaluation``
is the meaning of ``beachhead.yml`` (definitions.md) written as directly as possible. It
is slow on purpose (it walks every message per condition); the compiled engine must give
the same ``Evaluation`` on every case of ``tests/cases``.

How it goes:

1. Only messages with ``ts <= as_of`` are seen. Identity (users, accounts, membership,
   primary account) comes from ``ingest/identity.resolve`` over what the messages derive
   plus the imported rows, so the oracle and the engine share one identity.
2. Activities (track, page, screen) count for their stitched user and toward accounts by
   attribution: ``context.groupId`` -> that account only; else every account the user is
   a member of at ``as_of``.
3. Scores per entity of their level, then stages (accounts), then every PQL over every
   entity of its level, with touch and the evidence of every leaf.

Choices where the spec is silent (also in the report and docs):

- A user-level definition reads ``account.*``, account scores and metrics on the primary
  account; without one they are missing. An event condition in a user-level definition
  counts the user's own activity (wherever attributed).
- Touch: the first rule that holds (a rule without ``when`` holds); with no touch rules,
  or when none holds, ``high`` (the spec's default).
- An evaluated account is one identity knows (group call, import, domain); activity naming
  an unknown ``context.groupId`` counts toward no evaluated account.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beachhead.ingest.derive import derive_all
from beachhead.ingest.identity import Snapshot, named_ids, resolve
from beachhead.ingest.message import ACTIVITY_TYPES, MembershipRow, Message, TraitRow
from beachhead.rules.durations import to_utc
from beachhead.rules.explain import sentence
from beachhead.rules.model import (
    DECIMAL_DIGITS,
    AllCond,
    AnyCond,
    Condition,
    Config,
    EventCond,
    Level,
    MetricCond,
    NoneCond,
    Pql,
    ScoreCond,
    TraitCond,
    iter_leaves,
)
from beachhead.rules.reference_features import Activity, event_value, metric_value
from beachhead.rules.reference_values import MISSING, compare, lookup
from beachhead.rules.result import EntityEval, Evaluation, LeafEvidence, Match, ScoreValue


@dataclass
class _World:
    """What every condition reads at one ``as_of``."""

    config: Config
    as_of: datetime
    snap: Snapshot
    by_user: dict[str, list[Activity]] = field(default_factory=dict)
    by_account: dict[str, list[Activity]] = field(default_factory=dict)
    scores: dict[tuple[str, str, str], ScoreValue] = field(default_factory=dict)


@dataclass(frozen=True)
class _Subject:
    """The entity a condition is about, and the account ``account.*`` means for it."""

    level: Level
    id: str
    account: str | None  # the account itself, or the user's primary account


def _subject(world: _World, level: Level, entity: str) -> _Subject:
    if level is Level.ACCOUNT:
        return _Subject(level, entity, entity)
    return _Subject(level, entity, world.snap.primary.get(entity))


def _score(world: _World, key: str, level: Level, entity: str) -> ScoreValue:
    """Points (sum of the rules that hold) and band of one score on one entity (memoised)."""
    memo = (key, str(level), entity)
    if memo not in world.scores:
        score = world.config.score(key)
        subject = _subject(world, level, entity)
        points: float = 0
        for rule in score.rules:
            if _holds(world, rule.when, subject):
                points += rule.points
        points = round(points, DECIMAL_DIGITS)  # added as decimals: 0.1 + 0.2 is 0.3
        band = str(score.bands.band_of(points)) if score.bands is not None else None
        world.scores[memo] = ScoreValue(points=points, band=band)
    return world.scores[memo]


def _score_of(world: _World, leaf: ScoreCond, subject: _Subject) -> ScoreValue | None:
    """The score a score leaf reads: the subject's own, or its (primary) account's."""
    score = world.config.score(leaf.score)
    if score.level is Level.USER:
        entity = subject.id if subject.level is Level.USER else None
    else:
        entity = subject.account
    return None if entity is None else _score(world, leaf.score, score.level, entity)


def leaf_value(world: _World, leaf: Condition, subject: _Subject) -> Any:
    """The value a leaf compares: trait value, aggregate, metric or score (or MISSING)."""
    if isinstance(leaf, TraitCond):
        if leaf.trait.scope is Level.USER:
            if subject.level is not Level.USER:
                return MISSING
            return lookup(world.snap.users.get(subject.id, {}), leaf.trait.keys)
        if subject.account is None:
            return MISSING
        return lookup(world.snap.accounts.get(subject.account, {}), leaf.trait.keys)
    if isinstance(leaf, EventCond):
        if subject.level is Level.USER:
            return event_value(leaf, world.by_user.get(subject.id, []), world.as_of)
        acts = world.by_account.get(subject.id, [])
        members = world.snap.members.get(subject.id, set())
        return event_value(leaf, acts, world.as_of, members)
    if isinstance(leaf, MetricCond):
        account = subject.account
        if account is None or account not in world.snap.accounts:
            return MISSING
        return metric_value(
            leaf.metric,
            leaf.of,
            leaf.within,
            world.snap.accounts[account],
            world.snap.members.get(account, set()),
            world.by_account.get(account, []),
            world.snap.users,
            world.as_of,
        )
    if isinstance(leaf, ScoreCond):
        value = _score_of(world, leaf, subject)
        if value is None:
            return MISSING
        if leaf.on_band:
            return MISSING if value.band is None else value.band
        return value.points
    raise TypeError(f"not a leaf: {leaf!r}")  # pragma: no cover


def _leaf_holds(world: _World, leaf: Condition, subject: _Subject) -> tuple[bool, Any]:
    value = leaf_value(world, leaf, subject)
    cmp = leaf.cmp  # type: ignore[union-attr]
    return compare(value, cmp, world.as_of), value


def _holds(world: _World, cond: Condition, subject: _Subject) -> bool:
    if isinstance(cond, AllCond):
        return all(_holds(world, c, subject) for c in cond.items)
    if isinstance(cond, AnyCond):
        return any(_holds(world, c, subject) for c in cond.items)
    if isinstance(cond, NoneCond):
        return not any(_holds(world, c, subject) for c in cond.items)
    return _leaf_holds(world, cond, subject)[0]


def _evidence_value(value: Any) -> Any:
    """As reported: None for missing, ISO text for a time, else the value itself."""
    if value is MISSING:
        return None
    if isinstance(value, datetime):
        return to_utc(value).isoformat().replace("+00:00", "Z")
    return value


def _evidence(world: _World, cond: Condition, subject: _Subject) -> list[LeafEvidence]:
    out: list[LeafEvidence] = []
    for leaf in iter_leaves(cond):
        held, value = _leaf_holds(world, leaf, subject)
        seen: Any = None if value is MISSING else value
        if isinstance(leaf, ScoreCond) and leaf.on_band and seen is not None:
            seen = _score_of(world, leaf, subject)  # explain shows points and band
        text = sentence(leaf, seen, held, world.as_of)
        out.append(LeafEvidence(leaf.path, held, _evidence_value(value), text))
    return out


def _touch(world: _World, pql: Pql, subject: _Subject) -> str:
    for rule in pql.touch:
        if rule.when is None or _holds(world, rule.when, subject):
            return str(rule.level)
    return "high"


def _activities(snap: Snapshot, visible: Sequence[Message]) -> list[Activity]:
    out: list[Activity] = []
    for m in visible:
        if m.type not in ACTIVITY_TYPES:
            continue
        raw = m.user_id or m.anonymous_id
        if raw is None:  # pragma: no cover - normalize rejects such messages
            continue
        user = snap.user(raw)
        if m.context_group_id is not None:
            accounts = frozenset({m.context_group_id})
        else:
            accounts = frozenset(snap.accounts_of.get(user, set()))
        out.append(Activity(user, to_utc(m.ts), m.event, m.properties, accounts))
    return out


def build_world(
    config: Config,
    messages: Iterable[Message],
    trait_rows: Iterable[TraitRow],
    memberships: Iterable[MembershipRow],
    as_of: datetime,
    free_mail: frozenset[str],
) -> _World:
    """Identity and attributed activity at ``as_of`` (the oracle's whole input)."""
    cutoff = to_utc(as_of)
    visible = sorted((m for m in messages if to_utc(m.ts) <= cutoff), key=lambda m: (m.ts, m.seq))
    derived = derive_all(visible)
    snap = resolve(
        [*derived.trait_rows, *trait_rows],
        derived.links,
        [*derived.memberships, *memberships],
        cutoff,
        free_mail,
        named_ids(visible),
    )
    world = _World(config, cutoff, snap)
    for act in _activities(snap, visible):
        world.by_user.setdefault(act.user, []).append(act)
        for account in act.accounts:
            world.by_account.setdefault(account, []).append(act)
    return world


def evaluate(
    config: Config,
    messages: Iterable[Message],
    trait_rows: Iterable[TraitRow] = (),
    memberships: Iterable[MembershipRow] = (),
    *,
    as_of: datetime,
    free_mail: frozenset[str] = frozenset(),
) -> Evaluation:
    """Scores, stages and PQL matches of every user and account at ``as_of``.

    ``trait_rows``/``memberships`` are imported rows (CSV imports, billing) besides what the
    messages derive themselves.
    """
    world = build_world(config, messages, trait_rows, memberships, as_of, free_mail)
    result = Evaluation(as_of=world.as_of)
    entities = {Level.USER: sorted(world.snap.users), Level.ACCOUNT: sorted(world.snap.accounts)}
    for level, ids in entities.items():
        target = result.users if level is Level.USER else result.accounts
        for entity in ids:
            ev = EntityEval(id=entity)
            for key, score in config.scores.items():
                if score.level is level:
                    ev.scores[key] = _score(world, key, level, entity)
            target[entity] = ev
    for account, ev in result.accounts.items():
        subject = _subject(world, Level.ACCOUNT, account)
        for stage in config.stages:  # the last stage that holds
            if _holds(world, stage.when, subject):
                ev.stage = stage.key
    for pql in config.pqls:
        for entity in entities[pql.level]:
            subject = _subject(world, pql.level, entity)
            if not _holds(world, pql.when, subject):
                continue
            result.matches.append(
                Match(
                    pql=pql.key,
                    level=str(pql.level),
                    entity_id=entity,
                    account_id=subject.account,
                    priority=pql.priority,
                    touch=_touch(world, pql, subject),
                    evidence=_evidence(world, pql.when, subject),
                )
            )
    result.sort()
    return result
