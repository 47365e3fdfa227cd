"""``generate(scale, seed, out_dir)``: the demo company's data as files a user can inspect.

Writes, into ``out_dir``:

- ``events.jsonl``: Segment messages, one a line, in time order (identify at sign-up, with
  the anonymousId of earlier page views; group calls at workspace creation, on joining and
  on every upgrade with the new ``plan``, ``seats`` and ``mrr``; track and page activity);
- ``accounts.csv`` (id, name, domain, industry, employees, country, owner, updated_at) and
  ``users.csv`` (id, email, name, title, department, account_id), as a CRM export would be;
- ``sales_org.yml``: the ``teams:``/``routing:`` fragment of the sales org;
- ``manifest.json``: counts, seed, scale and the date range.

The same seed (and scale and end) gives byte-identical files: one seeded
``numpy.random.Generator`` drives everything, and nothing reads the clock.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from beachhead.demo import activity, vocab
from beachhead.demo.company import DAY, Company, simulate
from beachhead.demo.jsonl import (
    GROUP,
    IDENTIFY,
    PAGE,
    TRACK,
    TYPES,
    LineBuilder,
    Rows,
    Tables,
    bodies_array,
    write_lines,
)
from beachhead.demo.salesorg import SalesOrg
from beachhead.demo.scale import ScaleSpec, parse_scale

DEFAULT_END = datetime(2026, 12, 1, tzinfo=UTC)
FILES = {
    "events": "events.jsonl",
    "accounts": "accounts.csv",
    "users": "users.csv",
    "sales_org": "sales_org.yml",
    "manifest": "manifest.json",
}

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a run wrote: its inputs, date range and counts (also ``manifest.json``)."""

    seed: int
    scale: str
    start: str  # ISO-8601, UTC, inclusive
    end: str  # ISO-8601, UTC, exclusive: every message is earlier
    days: int
    messages: int
    by_type: dict[str, int]
    accounts: int
    users: int
    anonymous_visitors: int
    upgrades: int
    plans: dict[str, int]  # accounts by plan at the end
    files: dict[str, str] = field(default_factory=lambda: dict(FILES))
    out_dir: str = ""

    def to_json(self) -> bytes:
        data = asdict(self)
        data.pop("out_dir")
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@lru_cache(maxsize=4096)
def _day_text(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%dT")


def _iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, the same text as the events' timestamps."""
    day, rest = divmod(ms, DAY)
    sec, milli = divmod(rest, 1000)
    return f"{_day_text(day)}{sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{milli:03d}Z"


def _end_ms(end: datetime | str | None) -> int:
    if end is None:
        dt = DEFAULT_END
    elif isinstance(end, str):
        text = end.strip()
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    else:
        dt = end
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.astimezone(UTC).timestamp() * 1000)


def _body(**kw: Any) -> str:
    """Message fields after the timestamp, as JSON text without braces."""
    return orjson.dumps(kw).decode()[1:-1]


class _Specials:
    """Identify, group and anonymous page messages, rendered one by one (they are few)."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.kind: list[int] = []
        self.bodies: list[str] = []

    def add(self, ts: int, kind: int, body: str) -> None:
        self.ts.append(ts)
        self.kind.append(kind)
        self.bodies.append(body)

    def page(self, ts: int, anonymous_id: str, code: int) -> None:
        lo, hi = vocab.PROP_RANGE[code]
        props = orjson.loads(vocab.PROPS[lo + ts % (hi - lo)])
        self.add(
            ts, PAGE, _body(anonymousId=anonymous_id, name=vocab.ACTIVITY[code], properties=props)
        )


def _specials(company: Company) -> _Specials:
    sp = _Specials()
    for user in company.users:
        for t, code in user.anon_views:
            sp.page(t, user.anonymous_id or "", code)
        traits: dict[str, Any] = {
            "email": user.email,
            "name": f"{user.first} {user.last}",
            "title": user.title,
            "department": user.department,
            "role": user.role,
            "created_at": _iso(user.join),
        }
        if user.anonymous_id:
            sp.add(
                user.join,
                IDENTIFY,
                _body(userId=user.id, anonymousId=user.anonymous_id, traits=traits),
            )
        else:
            sp.add(user.join, IDENTIFY, _body(userId=user.id, traits=traits))
    for anon, views in company.anonymous_visitors:
        for t, code in views:
            sp.page(t, anon, code)
    for acc in company.accounts:
        for i, m in enumerate(acc.members):
            user = company.users[m]
            t = user.join + 500
            if i == 0:
                founding: dict[str, Any] = {
                    "name": acc.name,
                    "domain": acc.domain,
                    "plan": "free",
                    "seats": vocab.FREE_SEAT_LIMIT,
                    "mrr": 0,
                    "employees": acc.employees,
                    "industry": acc.industry,
                    "country": acc.country,
                    "created_at": _iso(acc.created),
                }
                sp.add(t, GROUP, _body(userId=user.id, groupId=acc.id, traits=founding))
            else:
                sp.add(t, GROUP, _body(userId=user.id, groupId=acc.id))
        for t, plan, seats, mrr, who in acc.upgrades:
            upgrade: dict[str, Any] = {"plan": plan, "seats": seats, "mrr": mrr}
            sp.add(t, GROUP, _body(userId=company.users[who].id, groupId=acc.id, traits=upgrade))
    return sp


def _special_count(company: Company) -> int:
    """How many messages ``_specials`` renders, known before rendering them."""
    views = sum(len(u.anon_views) for u in company.users)
    views += sum(len(v) for _, v in company.anonymous_visitors)
    groups = sum(len(a.members) + len(a.upgrades) for a in company.accounts)
    return len(company.users) + views + groups


def _rows(company: Company, background: activity.Columns, sp: _Specials) -> Rows:
    """Every message as columns plus the time order (gathered chunk by chunk when writing).

    The order is numpy's default sort of the times: deterministic for the same input, and
    the generator never puts two messages of one user at the same millisecond.
    """
    ev = company.events
    n_sp = len(sp.ts)

    def cat(fill: int, a: list[int], b: np.ndarray) -> np.ndarray:
        return np.concatenate([np.full(n_sp, fill, np.int32), np.asarray(a, np.int32), b])

    code = cat(0, ev.code, background.code)
    kind = np.where(code >= vocab.N_TRACK, PAGE, TRACK).astype(np.int8)
    kind[:n_sp] = np.asarray(sp.kind, dtype=np.int8)
    ts = np.concatenate([np.asarray(sp.ts, np.int64), np.asarray(ev.ts, np.int64), background.ts])
    ts = np.minimum(ts, company.end - 1)  # the few sign-ups in the window's last second
    special = np.full(len(ts), -1, dtype=np.int32)
    special[:n_sp] = np.arange(n_sp, dtype=np.int32)
    return Rows(
        order=np.argsort(ts),
        ts=ts,
        kind=kind,
        user=cat(0, ev.user, background.user),
        code=code,
        prop=cat(0, ev.prop, background.prop),
        group=cat(-1, ev.group, background.group),
        special=special,
        bodies=bodies_array(sp.bodies),
    )


def _write_csvs(company: Company, out: Path) -> None:
    with (out / FILES["accounts"]).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(
            ["id", "name", "domain", "industry", "employees", "country", "owner", "updated_at"]
        )
        for a in company.accounts:
            w.writerow(
                [
                    a.id,
                    a.name,
                    a.domain,
                    a.industry,
                    a.employees,
                    a.country,
                    a.owner,
                    _iso(a.updated),
                ]
            )
    with (out / FILES["users"]).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "email", "name", "title", "department", "account_id"])
        for u in company.users:
            account_id = company.accounts[u.account].id if u.account >= 0 else ""
            w.writerow([u.id, u.email, f"{u.first} {u.last}", u.title, u.department, account_id])


def generate(
    scale: str | int = "small",
    seed: int = 42,
    out_dir: str | Path = "demo",
    end: datetime | str | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Generate the demo company into ``out_dir`` (created if missing); returns its manifest.

    ``scale``: small (~200k events), medium (~1M), large (~10M) or a number of events.
    ``end``: the exclusive end of the 120-day window (default 2026-12-01T00:00:00Z).
    """
    spec: ScaleSpec = parse_scale(scale)
    end_ms = _end_ms(end)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda phase, done, total: None)
    rng = np.random.default_rng(seed)
    org = SalesOrg()

    report("company", 0, 3)
    company = simulate(rng, spec, end_ms, org)
    report("company", 1, 3)
    # The background (numpy, mostly without the GIL) and the rendering of the few
    # identify/group/page bodies (plain Python, no randomness) run side by side.
    n_special = _special_count(company)
    budget = spec.events - n_special - len(company.events.ts)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(activity.background, company, rng, budget)
        sp = _specials(company)
        report("company", 2, 3)
        background = pending.result()
    assert len(sp.ts) == n_special, "special_count must match what _specials renders"
    rows = _rows(company, background, sp)
    report("company", 3, 3)

    start_day = int(rows.ts.min() // DAY) if len(rows.ts) else end_ms // DAY
    tables = Tables(
        user_ids=[u.id for u in company.users],
        group_ids=[a.id for a in company.accounts],
        start_day=start_day,
        n_days=end_ms // DAY - start_day + 1,
    )
    id_prefix = (
        "demo-" + hashlib.sha256(f"{seed}:{spec.label}:{end_ms}".encode()).hexdigest()[:8] + "-"
    )
    with ThreadPoolExecutor(max_workers=1) as pool:  # the CSVs while the lines are built
        csvs = pool.submit(_write_csvs, company, out)
        n = write_lines(
            out / FILES["events"],
            rows,
            LineBuilder(tables, id_prefix),
            progress=lambda done, total: report("events", done, total),
        )
        csvs.result()
    (out / FILES["sales_org"]).write_text(org.yaml(), encoding="utf-8")

    kinds = np.bincount(rows.kind, minlength=len(TYPES))
    plans = Counter(a.plan_at(end_ms) for a in company.accounts)
    manifest = Manifest(
        seed=seed,
        scale=spec.label,
        start=_iso(company.start),
        end=_iso(end_ms),
        days=spec.days,
        messages=n,
        by_type={t: int(kinds[k]) for k, t in enumerate(TYPES)},
        accounts=len(company.accounts),
        users=len(company.users),
        anonymous_visitors=len(company.anonymous_visitors),
        upgrades=sum(len(a.upgrades) for a in company.accounts),
        plans={p.key: plans.get(p.key, 0) for p in vocab.PLANS},
        out_dir=str(out),
    )
    (out / FILES["manifest"]).write_bytes(manifest.to_json())
    return manifest


def window(end: datetime | str | None = None, days: int = 120) -> tuple[datetime, datetime]:
    """The (start, end) of the generated window for an ``end`` (default DEFAULT_END)."""
    end_dt = datetime.fromtimestamp(_end_ms(end) / 1000, tz=UTC)
    return end_dt - timedelta(days=days), end_dt
