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
from beachhead.demo.company import DAY, HOUR, MINUTE, Company

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


def _mix_table() -> np.ndarray:
    """Cumulative event probabilities per (department, is_admin): shape (10, 2, n_codes)."""
    table = np.zeros((len(vocab.DEPARTMENTS), 2, len(vocab.ACTIVITY)))
    for d, dept in enumerate(vocab.DEPARTMENTS):
        for admin in (0, 1):
            for name, w in vocab.BASE_MIX.items():
                w *= vocab.DEPARTMENT_MIX.get(dept, {}).get(name, 1.0)
                if admin:
                    w *= vocab.ADMIN_MIX.get(name, 1.0)
                table[d, admin, vocab.CODE[name]] = w
            row = table[d, admin]
            table[d, admin] = np.cumsum(row / row.sum())
    return table


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


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Milliseconds into a UTC day: mostly a working-day bump around 15:00 UTC."""
    busy = rng.normal(15.0, 3.5, n)
    flat = rng.uniform(0.0, 24.0, n)
    hours = np.where(rng.random(n) < 0.8, busy, flat) % 24.0
    return (hours * HOUR).astype(np.int64)


def background(company: Company, rng: np.random.Generator, budget: int) -> Columns:
    """``budget`` background events (about: counts are rounded per span) for the company."""
    who, t0, t1, w, group = _spans(company, rng)
    if budget <= 0 or not len(w) or w.sum() <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return Columns(empty, empty, empty, empty, empty)
    expected = w * (budget / w.sum())
    counts = np.floor(expected + rng.random(len(expected))).astype(np.int64)
    span = np.repeat(np.arange(len(counts)), counts)
    n = len(span)
    lo, length = t0[span], (t1 - t0)[span]
    ts = lo + (rng.random(n) * length).astype(np.int64)
    # Weekends are quieter: redraw a weekend time with probability 0.7.
    weekday = (ts // DAY + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    redraw = (weekday >= 5) & (rng.random(n) < 0.7)
    ts = np.where(redraw, lo + (rng.random(n) * length).astype(np.int64), ts)
    # Working hours: keep the day, draw the time of day; fall back when it leaves the span.
    shaped = (ts // DAY) * DAY + _time_of_day(rng, n)
    ts = np.where((shaped >= lo) & (shaped < lo + length), shaped, ts)

    user = who[span]
    dept = np.array([vocab.DEPARTMENTS.index(u.department) for u in company.users])[user]
    admin = np.array([u.role == "admin" for u in company.users], dtype=np.int64)[user]
    table = _mix_table()
    draw = rng.random(n)
    code = np.zeros(n, dtype=np.int64)
    for d in range(table.shape[0]):
        for a in (0, 1):
            mask = (dept == d) & (admin == a)
            code[mask] = np.searchsorted(table[d, a], draw[mask], side="right")
    code = np.minimum(code, len(vocab.ACTIVITY) - 1)
    prop = _props(rng, code)
    grp = group[span]
    grp = np.where(rng.random(n) < CONTEXT_SHARE, grp, -1)
    return Columns(ts=ts, user=user, code=code, prop=prop, group=grp)


def _props(rng: np.random.Generator, code: np.ndarray) -> np.ndarray:
    """A property variant per event, drawn by weight within its activity's range."""
    prop = np.zeros(len(code), dtype=np.int64)
    draw = rng.random(len(code))
    for c in range(len(vocab.ACTIVITY)):
        mask = code == c
        if not mask.any():
            continue
        lo, _ = vocab.PROP_RANGE[c]
        wts = np.asarray(vocab.PROP_WEIGHTS[c], dtype=float)
        cum = np.cumsum(wts / wts.sum())
        prop[mask] = lo + np.minimum(np.searchsorted(cum, draw[mask], side="right"), len(cum) - 1)
    return prop
