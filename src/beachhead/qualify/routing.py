"""Who works a qualification: the team (routing rules) and the rep (owner, then strategy).

PURE: no database, no clock. Everything a decision needs is handed in, and every decision
comes back with the sentence that explains it, so the history can say *why*.

- ``choose_team(config, facts)``: the first routing rule whose ``when`` holds on the
  qualification's entity (a rule without ``when`` always holds). ``when`` leaves are read
  from ``RouteFacts``: trait and score leaves are evaluated here over the snapshot traits
  and the evaluation's scores (with the oracle's comparison semantics,
  ``rules/reference_values.compare``); event and metric leaves must be given as truths in
  ``facts.leaf_truth`` (the service computes them), and count as not holding otherwise.
- ``RoutingBook``: the per-evaluation view of open work (load per rep, round-robin cursor
  per team, the queue of qualifications waiting for a rep). ``route`` applies the touch:
  ``none`` assigns nobody, ``low`` the team's shared queue, ``high`` a rep: the account's
  owner when the owner is a rep of the team and not away (capacity does not keep an owner
  from their own account), otherwise the team's strategy among reps under capacity and
  not away. When nobody has room the qualification waits for a rep; ``drain`` assigns
  waiting ones, highest priority first (then oldest), whenever room opens.

Choices where the spec is silent (also in docs): capacity counts every open qualification
assigned to the rep (any team); round-robin with weights walks a cycle in which each rep
appears ``weight`` times in a row, in team order; the
least-loaded tie goes to the rep listed first; owner emails compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from beachhead.rules.explain import sentence
from beachhead.rules.model import (
    AllCond,
    AnyCond,
    Assign,
    Condition,
    Config,
    Leaf,
    Level,
    NoneCond,
    ScoreCond,
    Team,
    Touch,
    TraitCond,
    iter_leaves,
)
from beachhead.rules.reference_values import MISSING, compare, lookup
from beachhead.rules.result import ScoreValue

# Status words shared with the lifecycle (kept here so routing does not import lifecycle).
NEW = "new"
ASSIGNED = "assigned"


@dataclass(frozen=True)
class RouteFacts:
    """What routing conditions read about one qualification's entity at ``as_of``."""

    level: Level
    as_of: datetime
    user_traits: Mapping[str, Any] | None = None
    account_traits: Mapping[str, Any] | None = None
    user_scores: Mapping[str, ScoreValue] = field(default_factory=dict)
    account_scores: Mapping[str, ScoreValue] = field(default_factory=dict)
    leaf_truth: Mapping[Leaf, bool] = field(default_factory=dict)
    leaf_values: Mapping[Leaf, Any] = field(default_factory=dict)  # what those leaves saw


def _leaf_value(config: Config, leaf: Leaf, facts: RouteFacts) -> Any:
    """The value a trait or score leaf compares (MISSING when there is none)."""
    if isinstance(leaf, TraitCond):
        if leaf.trait.scope is Level.USER:
            if facts.level is not Level.USER or facts.user_traits is None:
                return MISSING
            return lookup(facts.user_traits, leaf.trait.keys)
        if facts.account_traits is None:
            return MISSING
        return lookup(facts.account_traits, leaf.trait.keys)
    if isinstance(leaf, ScoreCond):
        score = config.scores.get(leaf.score)
        if score is None:
            return MISSING
        if score.level is Level.USER:
            if facts.level is not Level.USER:
                return MISSING
            found = facts.user_scores.get(leaf.score)
        else:
            found = facts.account_scores.get(leaf.score)
        if found is None:
            return MISSING
        if leaf.on_band:
            return MISSING if found.band is None else found.band
        return found.points
    return MISSING


def leaf_holds(config: Config, leaf: Leaf, facts: RouteFacts) -> tuple[bool, Any]:
    """Whether one routing leaf holds, and the value it saw (None for given truths)."""
    if facts.leaf_truth and leaf in facts.leaf_truth:
        return facts.leaf_truth[leaf], facts.leaf_values.get(leaf)
    if not isinstance(leaf, TraitCond | ScoreCond):
        return False, None
    value = _leaf_value(config, leaf, facts)
    return compare(value, leaf.cmp, facts.as_of), value


def holds(config: Config, cond: Condition, facts: RouteFacts) -> bool:
    if isinstance(cond, AllCond):
        return all(holds(config, c, facts) for c in cond.items)
    if isinstance(cond, AnyCond):
        return any(holds(config, c, facts) for c in cond.items)
    if isinstance(cond, NoneCond):
        return not any(holds(config, c, facts) for c in cond.items)
    return leaf_holds(config, cond, facts)[0]


def describe(config: Config, cond: Condition | None, facts: RouteFacts) -> str:
    """The readable sentences of a rule's leaves ("Account employees is 1200 (...)")."""
    if cond is None:
        return "no condition"
    parts: list[str] = []
    for leaf in iter_leaves(cond):
        held, value = leaf_holds(config, leaf, facts)
        shown = None if value is MISSING else value
        parts.append(sentence(leaf, shown, held, facts.as_of))
    return "; ".join(parts) if parts else "no condition"


@dataclass(frozen=True)
class TeamChoice:
    team: str | None
    rule: str


def choose_team(config: Config, facts: RouteFacts) -> TeamChoice:
    """The first routing rule that holds, or no team (with why)."""
    if not config.teams or not config.routing:
        return TeamChoice(None, "no teams or routing configured: unassigned")
    for i, rule in enumerate(config.routing):
        if rule.when is None or holds(config, rule.when, facts):
            text = describe(config, rule.when, facts)
            return TeamChoice(rule.team, f"routing[{i}]: {text} -> {rule.team}")
    return TeamChoice(None, "no routing rule held: unassigned")


@dataclass(frozen=True)
class Assignment:
    """Where a qualification goes: status ``new`` or ``assigned``, team, rep, and why."""

    status: str
    team: str | None
    rep: str | None
    rule: str
    waiting: bool = False  # touch high, nobody had room: waits in the team queue for a rep


@dataclass
class Waiting:
    """A qualification in a team queue waiting for a rep (drained by ``order``: the
    highest priority first, then the oldest, as the inbox orders work)."""

    id: str
    team: str
    owner: str | None
    order: tuple[Any, ...]  # sort key: (-priority, qualified_at, pql, entity_id)
    rule: str = ""


def _slots(team: Team) -> list[str]:
    return [rep.email for rep in team.reps for _ in range(max(rep.weight, 0))]


@dataclass
class RoutingBook:
    """Open work per rep, round-robin cursors and waiting qualifications, updated in place."""

    config: Config
    load: dict[str, int] = field(default_factory=dict)  # lowercased rep email -> open count
    cursors: dict[str, int] = field(default_factory=dict)  # team key -> next slot
    waiting: list[Waiting] = field(default_factory=list)
    moved_cursors: set[str] = field(default_factory=set)

    def _load(self, email: str) -> int:
        return self.load.get(email.lower(), 0)

    def add_load(self, email: str | None, n: int = 1) -> None:
        if email is not None:
            key = email.lower()
            self.load[key] = max(self.load.get(key, 0) + n, 0)

    def _room(self, team: Team, email: str) -> bool:
        return team.capacity is None or self._load(email) < team.capacity

    def pick_rep(self, team: Team, owner: str | None) -> tuple[str | None, str]:
        """The rep for a high-touch qualification in ``team``, or None when nobody has room."""
        away = {r.email.lower() for r in team.reps if r.away}
        emails = {r.email.lower(): r.email for r in team.reps}
        note = ""
        if owner:
            own = owner.lower()
            if own in emails and own not in away:
                return emails[own], f"owner {owner} is in the team"
            note = (
                f"owner {owner} is away; "
                if own in emails
                else f"owner {owner} is not in the team; "
            )
        if team.assign is Assign.LEAST_LOADED:
            eligible = [r.email for r in team.reps if not r.away and self._room(team, r.email)]
            if not eligible:
                return None, note + "every rep is at capacity or away: waits in the team queue"
            best = min(eligible, key=lambda e: self._load(e))  # min keeps the first on a tie
            return best, note + f"least loaded: {best} ({self._load(best)} open)"
        slots = _slots(team)
        start = self.cursors.get(team.key, 0) % len(slots) if slots else 0
        for step in range(len(slots)):
            i = (start + step) % len(slots)
            email = slots[i]
            if email.lower() not in away and self._room(team, email):
                self.cursors[team.key] = (i + 1) % len(slots)
                self.moved_cursors.add(team.key)
                return email, note + f"round robin: {email}"
        return None, note + "every rep is at capacity or away: waits in the team queue"

    def route(
        self, touch: str, team_choice: TeamChoice, owner: str | None, waiting_id: str = ""
    ) -> Assignment:
        """Apply the touch to the chosen team (updates load and cursors)."""
        if touch == Touch.NONE:
            return Assignment(NEW, None, None, "touch none: nobody is assigned (automated actions)")
        if team_choice.team is None:
            return Assignment(NEW, None, None, team_choice.rule)
        team = self.config.team(team_choice.team)
        if touch == Touch.LOW:
            return Assignment(
                ASSIGNED, team.key, None, f"{team_choice.rule}; touch low: the team queue"
            )
        rep, why = self.pick_rep(team, owner)
        rule = f"{team_choice.rule}; {why}"
        if rep is None:
            return Assignment(NEW, team.key, None, rule, waiting=True)
        self.add_load(rep)
        return Assignment(ASSIGNED, team.key, rep, rule)

    def drain(self) -> list[tuple[Waiting, Assignment]]:
        """Assign waiting qualifications, the highest priority first and then the oldest,
        while some rep of their team has room."""
        done: list[tuple[Waiting, Assignment]] = []
        still: list[Waiting] = []
        for item in sorted(self.waiting, key=lambda w: w.order):
            try:
                team = self.config.team(item.team)
            except KeyError:
                still.append(item)  # the team left the definitions: leave it for a person
                continue
            rep, why = self.pick_rep(team, item.owner)
            if rep is None:
                still.append(item)
                continue
            self.add_load(rep)
            done.append(
                (item, Assignment(ASSIGNED, team.key, rep, f"{item.team} queue drained; {why}"))
            )
        self.waiting = still
        return done
