"""The demo company looks like a real product's data: skews, rhythms, signal and misses."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

from demo_support import DemoRun, parse_time

from beachhead.demo import names, salesorg
from beachhead.ingest.freemail import builtin_free_mail

DAY_S = 86_400.0


def _seconds(text: str) -> float:
    return parse_time(text).timestamp()


def test_employee_counts_are_skewed(demo_run: DemoRun) -> None:
    employees = [int(a["employees"]) for a in demo_run.accounts]
    assert statistics.median(employees) < 0.5 * statistics.mean(employees)
    assert min(employees) < 20 < 1000 < max(employees)  # small shops and big companies


def test_plan_mix_is_mostly_free_with_every_paid_plan(demo_run: DemoRun) -> None:
    plans = demo_run.manifest.plans
    assert plans["free"] > 0.5 * demo_run.manifest.accounts
    assert plans["team"] > plans["business"] > 0
    assert (
        plans["team"] + plans["business"] + plans["enterprise"] > 0.1 * demo_run.manifest.accounts
    )


def test_some_users_use_free_mail_and_the_list_ships_with_ingest(demo_run: DemoRun) -> None:
    free = builtin_free_mail()
    assert set(names.FREE_MAIL) <= free  # what the generator uses, ingest recognises
    domains = [u["email"].rsplit("@", 1)[1] for u in demo_run.users]
    share = sum(d in free for d in domains) / len(domains)
    assert 0.05 < share < 0.4
    account_domain = {a["id"]: a["domain"] for a in demo_run.accounts}
    members = [u for u in demo_run.users if u["account_id"]]
    at_company = sum(u["email"].endswith("@" + account_domain[u["account_id"]]) for u in members)
    assert at_company > 0.85 * len(members)


def test_some_users_browse_anonymously_before_signing_up(demo_run: DemoRun) -> None:
    first_seen: dict[str, float] = {}
    for m in demo_run.messages:
        if m["type"] == "page" and "anonymousId" in m:
            first_seen.setdefault(m["anonymousId"], _seconds(m["timestamp"]))
    linked = [
        m
        for m in demo_run.messages
        if m["type"] == "identify" and "anonymousId" in m and "userId" in m
    ]
    assert 0.1 * demo_run.manifest.users < len(linked) < 0.9 * demo_run.manifest.users
    earlier = [
        m for m in linked if first_seen.get(m["anonymousId"], 1e20) < _seconds(m["timestamp"])
    ]
    assert len(earlier) > 0.8 * len(linked)
    never_signed_up = set(first_seen) - {m["anonymousId"] for m in linked}
    assert len(never_signed_up) == demo_run.manifest.anonymous_visitors > 0


def test_weekdays_are_busier_than_weekends(demo_run: DemoRun) -> None:
    per_day: dict[str, int] = defaultdict(int)
    for m in demo_run.messages:
        if m["type"] in ("track", "page"):
            per_day[m["timestamp"][:10]] += 1
    weekday = [n for d, n in per_day.items() if datetime.fromisoformat(d).weekday() < 5]
    weekend = [n for d, n in per_day.items() if datetime.fromisoformat(d).weekday() >= 5]
    assert statistics.mean(weekday) > 1.5 * statistics.mean(weekend)


def test_most_tracks_of_members_carry_their_workspace(demo_run: DemoRun) -> None:
    account_of = {u["id"]: u["account_id"] for u in demo_run.users}
    tracks = [m for m in demo_run.messages if m["type"] == "track" and account_of[m["userId"]]]
    with_context = [m for m in tracks if m.get("context", {}).get("groupId")]
    assert len(with_context) > 0.8 * len(tracks)
    assert all(m["context"]["groupId"] == account_of[m["userId"]] for m in with_context)
    solo = [m for m in demo_run.messages if m.get("userId") and not account_of[m["userId"]]]
    assert solo and not any("context" in m for m in solo)


def test_upgraders_used_the_product_more_before_upgrading(demo_run: DemoRun) -> None:
    """Events per member-day before the first upgrade vs. over the life of non-upgraders."""
    joins: dict[str, list[float]] = defaultdict(list)
    first_upgrade: dict[str, float] = {}
    for m in demo_run.messages:
        if m["type"] != "group":
            continue
        plan = m.get("traits", {}).get("plan")
        t = _seconds(m["timestamp"])
        if plan not in (None, "free"):
            first_upgrade.setdefault(m["groupId"], t)
        else:
            joins[m["groupId"]].append(t)
    activity: dict[str, list[float]] = defaultdict(list)
    for m in demo_run.messages:
        if m["type"] in ("track", "page") and "context" in m:
            activity[m["context"]["groupId"]].append(_seconds(m["timestamp"]))
    end = _seconds(demo_run.manifest.end)

    def rate(account: str, until: float) -> float | None:
        member_days = sum(max(0.0, until - t) / DAY_S for t in joins[account])
        if member_days < 1:
            return None
        return sum(t < until for t in activity[account]) / member_days

    upgraded = [r for a, t in first_upgrade.items() if (r := rate(a, t)) is not None]
    stayed = [r for a in joins if a not in first_upgrade if (r := rate(a, end)) is not None]
    assert len(upgraded) > 10 and len(stayed) > 10
    assert statistics.median(upgraded) > 1.3 * statistics.median(stayed)
    # ... and it is a signal, not a rule: some heavy users never upgrade.
    assert max(stayed) > statistics.median(upgraded)


def test_hand_raising_precedes_most_upgrades_and_also_happens_without_one(
    demo_run: DemoRun,
) -> None:
    hand = {"Upgrade Clicked", "Plan Limit Reached", "Pricing"}
    raised: dict[str, list[float]] = defaultdict(list)
    for m in demo_run.messages:
        if (m.get("event") or m.get("name")) in hand and "context" in m:
            raised[m["context"]["groupId"]].append(_seconds(m["timestamp"]))
    upgrades = {
        m["groupId"]: _seconds(m["timestamp"])
        for m in reversed(demo_run.messages)
        if m["type"] == "group" and m.get("traits", {}).get("plan") in ("team", "business")
    }
    before = [a for a, t in upgrades.items() if any(t - 14 * DAY_S <= r <= t for r in raised[a])]
    assert len(before) > 0.6 * len(upgrades)
    assert set(raised) - set(upgrades)  # interest that did not convert: real misses


def test_larger_accounts_have_an_owner_from_the_sales_org(demo_run: DemoRun) -> None:
    reps = {r.email for t in salesorg.TEAMS for r in t.reps}
    for a in demo_run.accounts:
        big = int(a["employees"]) >= salesorg.MID_MARKET_MIN
        assert bool(a["owner"]) == big
        if a["owner"]:
            assert a["owner"] in reps


def test_teams_grow_by_invitation(demo_run: DemoRun) -> None:
    sent: dict[str, list[float]] = defaultdict(list)
    joins: dict[str, list[float]] = defaultdict(list)
    for m in demo_run.messages:
        account = m.get("context", {}).get("groupId")
        if m.get("event") == "Invite Sent":
            sent[account].append(_seconds(m["timestamp"]))
        elif m.get("event") == "Invite Accepted":
            joins[account].append(_seconds(m["timestamp"]))
    accepted = [(a, t) for a, ts in joins.items() for t in ts]
    assert accepted
    assert all(any(s < t for s in sent[a]) for a, t in accepted)
    spans = [max(ts) - min(ts) for ts in joins.values() if len(ts) >= 4]
    assert statistics.median(spans) > 7 * DAY_S  # teammates arrive over weeks, not at once


def test_some_accounts_go_dormant(demo_run: DemoRun) -> None:
    last: dict[str, float] = {}
    for m in demo_run.messages:
        if m["type"] in ("track", "page") and "context" in m:
            last[m["context"]["groupId"]] = _seconds(m["timestamp"])
    end = _seconds(demo_run.manifest.end)
    quiet = [a for a, t in last.items() if end - t > 21 * DAY_S]
    assert 0.05 * len(last) < len(quiet) < 0.6 * len(last)
