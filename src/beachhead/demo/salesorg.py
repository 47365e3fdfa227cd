"""The demo company's sales org: three teams, their reps, and how leads are routed.

Written out as ``sales_org.yml``, a ``teams:``/``routing:`` fragment in the shapes of the
definitions spec, so it can be pasted into (or merged with) a ``beachhead.yml``. The same
reps own the larger accounts in ``accounts.csv``, so "the account's owner first" routing has
something to find.
"""

from __future__ import annotations

from dataclasses import dataclass

from beachhead.demo.vocab import PRODUCT_DOMAIN

MID_MARKET_MIN = 100  # employees from which an account belongs to mid-market
ENTERPRISE_MIN = 1000  # ... and to enterprise


@dataclass(frozen=True, slots=True)
class Rep:
    email: str
    slack: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    name: str
    assign: str  # round_robin | least_loaded
    capacity: int
    reps: tuple[Rep, ...]


def _rep(local: str, slack: str, weight: int = 1) -> Rep:
    return Rep(email=f"{local}@{PRODUCT_DOMAIN}", slack=slack, weight=weight)


TEAMS: tuple[Team, ...] = (
    Team(
        "self_serve",
        "Self-serve",
        "least_loaded",
        60,
        (_rep("maya.lopez", "U02MAYA"), _rep("tom.becker", "U02TOMB")),
    ),
    Team(
        "mid_market",
        "Mid-market",
        "round_robin",
        25,
        (
            _rep("ana.silva", "U03ANAS"),
            _rep("bo.nakamura", "U03BONA", 2),
            _rep("chidi.okafor", "U03CHID"),
        ),
    ),
    Team(
        "enterprise",
        "Enterprise",
        "round_robin",
        12,
        (
            _rep("dana.weber", "U04DANA"),
            _rep("erik.larsen", "U04ERIK"),
            _rep("priya.shah", "U04PRIY"),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SalesOrg:
    """The teams, and who owns an account of a given size."""

    teams: tuple[Team, ...] = TEAMS

    def team(self, key: str) -> Team:
        return next(t for t in self.teams if t.key == key)

    def owner_for(self, employees: int, pick: float) -> str:
        """The owning rep of an account of ``employees`` (``pick`` in [0, 1) chooses one).

        Accounts below mid-market size have no owner: self-serve works a shared queue.
        """
        if employees >= ENTERPRISE_MIN:
            reps = self.team("enterprise").reps
        elif employees >= MID_MARKET_MIN:
            reps = self.team("mid_market").reps
        else:
            return ""
        return reps[min(len(reps) - 1, int(pick * len(reps)))].email

    def yaml(self) -> str:
        """The ``teams:`` and ``routing:`` fragment as YAML text (stable, hand-laid-out)."""
        lines = [
            f"# Sales org of the demo company ({PRODUCT_DOMAIN}): teams and routing in the",
            "# shapes of beachhead.yml. Paste into beachhead.yml or merge with it.",
            "teams:",
        ]
        for t in self.teams:
            lines += [
                f"  - key: {t.key}",
                f"    assign: {t.assign}",
                f"    capacity: {t.capacity}",
                "    reps:",
            ]
            for r in t.reps:
                weight = f", weight: {r.weight}" if r.weight != 1 else ""
                lines.append(f"      - {{email: {r.email}, slack: {r.slack}{weight}}}")
        lines += [
            "routing:",
            f"  - {{when: {{trait: account.employees, gte: {ENTERPRISE_MIN}}}, team: enterprise}}",
            f"  - {{when: {{trait: account.employees, gte: {MID_MARKET_MIN}}}, team: mid_market}}",
            "  - {team: self_serve}",
        ]
        return "\n".join(lines) + "\n"
