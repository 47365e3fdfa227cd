"""Background usage, vectorised: millions of track and page events as numpy columns.

Each user has an activity rate (the account's engagement, a personal log-normal factor,
power users x4, admins a bit more) over up to three spans: before their account's first
upgrade, after it (x1.25), and a faint trickle once they churn or the account goes dormant.
The event budget is shared out over the spans in proportion to rate x length. Times are
uniform inside a span, then weekends are thinned (a weekend draw is redrawn with
probability 0.7) and the time of day follows a working-day curve. Which event is drawn
depends on the user's department and role (engineers create API keys, finance exports).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from beachhead.demo import vocab
from beachhead.demo.company import DAY, MINUTE, Company

POWER_SHARE = 0.08
CONTEXT_SHARE = 0.9  # share of a member's events that carry context.groupId
TRICKLE = 0.03  # activity after churn or dormancy, relative to before


@dataclass(frozen=True, slots=True)
class Columns:
    """Track/page events as columns: time (ms), user index, activity code, prop, group."""

    ts: np.ndarray
    user: np.ndarray
    code: np.ndarray
    prop: np.ndarray
    group: np.ndarray


def _stacked(cums: list[np.ndarray]) -> np.ndarray:
    """Cumulative tables laid end to end, table ``k`` shifted by ``k``.

    Then ``searchsorted(stacked, k + u, "right")`` draws from table ``k`` for every row at
    once (``u`` uniform in [0, 1)): one call instead of one masked call per table.
    """
    out = []
    for k, cum in enumerate(cums):
        c = np.minimum(cum, 1.0)
        c[-1] = 1.0
        out.append(c + k)
    return np.concatenate(out)


def _mix_table() -> np.ndarray:
    """Stacked cumulative event mixes, one table per ``department * 2 + is_admin``."""
    cums = []
    for dept in vocab.DEPARTMENTS:
        for admin in (0, 1):
            row = np.zeros(len(vocab.ACTIVITY))
            for name, w in vocab.BASE_MIX.items():
                w *= vocab.DEPARTMENT_MIX.get(dept, {}).get(name, 1.0)
                if admin:
                    w *= vocab.ADMIN_MIX.get(name, 1.0)
                row[vocab.CODE[name]] = w
            cums.append(np.cumsum(row / row.sum()))
    return _stacked(cums)


def _prop_table() -> np.ndarray:
    """Stacked cumulative property-variant weights, one table per activity code, in catalog
    order, so a draw's index is directly its index in ``vocab.PROPS``."""
    cums = []
    for c in range(len(vocab.ACTIVITY)):
        w = np.asarray(vocab.PROP_WEIGHTS[c], dtype=float)
        cums.append(np.cumsum(w / w.sum()))
    return _stacked(cums)


def _spans(company: Company, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-user activity spans: (user, start, stop, weight, group)."""
    users = company.users
    n = len(users)
    join = np.array([u.join for u in users], dtype=np.int64) + MINUTE
    stop = np.array([u.stop for u in users], dtype=np.int64)
    acc = np.array([u.account for u in users], dtype=np.int64)
    eng_acc = np.array([a.engagement for a in company.accounts] + [1.0])
    first_up = np.array(
        [a.upgrades[0][0] if a.upgrades else company.end for a in company.accounts] + [company.end],
        dtype=np.int64,
    )
    solo_eng = np.exp(rng.normal(0.0, 0.6, n))
    eng = np.where(acc >= 0, eng_acc[acc], solo_eng)
    admin = np.array([u.role == "admin" for u in users])
    rate = eng * np.exp(rng.normal(0.0, 0.7, n)) * np.where(rng.random(n) < POWER_SHARE, 4.0, 1.0)
    rate *= np.where(admin, 1.3, 1.0)
    up = np.clip(first_up[acc], join, np.maximum(stop, join))
    stop = np.maximum(stop, join)
    end = np.full(n, company.end, dtype=np.int64)
    idx = np.arange(n)
    starts = np.concatenate([join, up, stop])
    stops = np.concatenate([up, stop, end])
    weights = np.concatenate([rate, rate * 1.25, rate * TRICKLE]) * (stops - starts) / DAY
    who = np.concatenate([idx, idx, idx])
    keep = stops > starts
    return who[keep], starts[keep], stops[keep], weights[keep], acc[who[keep]]


def _minute_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Minutes into a UTC day: mostly a working-day bump around 15:00 UTC, some flat."""
    busy = rng.standard_normal(n, dtype=np.float32) * np.float32(3.5 * 60) + np.float32(15 * 60)
    flat = rng.random(n, dtype=np.float32) * np.float32(24 * 60)
    minutes = np.where(rng.random(n, dtype=np.float32) < 0.8, busy, flat) % np.float32(24 * 60)
    return minutes.astype(np.int64)


def background(company: Company, rng: np.random.Generator, budget: int) -> Columns:
    """``budget`` background events (about: counts are rounded per span) for the company.

    Written for 10M rows: per-span values are spread with ``np.repeat`` (sequential, cheaper
    than gathers), small draws are float32, and the weekend redraw touches only its rows.
    """
    who, t0, t1, w, group = _spans(company, rng)
    if budget <= 0 or not len(w) or w.sum() <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return Columns(empty, empty, empty, empty, empty)
    expected = w * (budget / w.sum())
    counts = np.floor(expected + rng.random(len(expected))).astype(np.int64)
    lo = np.repeat(t0, counts)
    length = np.repeat(t1 - t0, counts)
    n = len(lo)
    ts = lo + (rng.random(n) * length).astype(np.int64)
    # Weekends are quieter: redraw a weekend time with probability 0.7.
    weekday = (ts // DAY + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    again = np.flatnonzero((weekday >= 5) & (rng.random(n, dtype=np.float32) < 0.7))
    ts[again] = lo[again] + (rng.random(len(again)) * length[again]).astype(np.int64)
    # Working hours: keep the day, draw the time of day; fall back when it leaves the span.
    shaped = ts - ts % DAY + _minute_of_day(rng, n) * MINUTE + ts % MINUTE
    inside = (shaped >= lo) & (shaped < lo + length)
    np.copyto(ts, shaped, where=inside)
    del lo, length, shaped, inside, weekday

    dept = np.array([vocab.DEPARTMENTS.index(u.department) for u in company.users])
    admin = np.array([u.role == "admin" for u in company.users])
    persona = np.repeat((dept * 2 + admin)[who], counts).astype(np.int32)
    n_codes = len(vocab.ACTIVITY)
    pick = np.searchsorted(_mix_table(), persona + rng.random(n, dtype=np.float32), "right")
    code = np.clip(pick - persona * n_codes, 0, n_codes - 1).astype(np.int32)
    prop = np.searchsorted(_prop_table(), code + rng.random(n, dtype=np.float32), "right")
    prop = np.minimum(prop, len(vocab.PROPS) - 1).astype(np.int32)
    grp = np.repeat(group.astype(np.int32), counts)
    grp[rng.random(n, dtype=np.float32) >= CONTEXT_SHARE] = -1
    user = np.repeat(who.astype(np.int32), counts)
    return Columns(ts=ts, user=user, code=code, prop=prop, group=grp)
