"""Every generated line is a Segment message that ingest accepts, and the files agree."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from demo_support import DemoRun, parse_time

from beachhead.demo import vocab
from beachhead.ingest.segment import normalize

USER_TRAITS = {"email", "name", "title", "department", "role", "created_at"}


def _problems(m: dict[str, object]) -> list[str]:
    """What interfaces.md requires of a message, checked independently of ingest."""
    out = []
    kind = m.get("type")
    if kind not in {"track", "page", "identify", "group"}:
        out.append(f"type {kind!r}")
    if not isinstance(m.get("messageId"), str) or not m["messageId"]:
        out.append("messageId")
    if not (m.get("userId") or m.get("anonymousId")):
        out.append("no userId or anonymousId")
    ts = m.get("timestamp")
    if not isinstance(ts, str) or not ts.endswith("Z"):
        out.append(f"timestamp {ts!r}")
    if kind == "track" and m.get("event") not in vocab.TRACK_EVENTS:
        out.append(f"event {m.get('event')!r}")
    if kind == "page" and m.get("name") not in vocab.PAGES:
        out.append(f"page {m.get('name')!r}")
    if kind == "group" and not m.get("groupId"):
        out.append("group without groupId")
    if kind in {"track", "page"} and not isinstance(m.get("properties"), dict):
        out.append("properties")
    if kind == "identify":
        traits = m.get("traits")
        if not isinstance(traits, dict) or set(traits) != USER_TRAITS:
            out.append(f"identify traits {traits!r}")
    return out


def test_every_line_is_a_valid_segment_message(demo_run: DemoRun) -> None:
    bad = [(i, p) for i, m in enumerate(demo_run.messages, 1) if (p := _problems(m))]
    assert bad[:5] == []


def test_ingest_normalizes_every_line_without_a_reject(demo_run: DemoRun) -> None:
    received = datetime(2027, 1, 1, tzinfo=UTC)
    seen_types = Counter()
    for raw in demo_run.messages:
        msg = normalize(raw, received)  # raises InvalidMessage on a reject
        assert msg.ts == parse_time(raw["timestamp"])
        seen_types[msg.type] += 1
    assert seen_types == Counter(demo_run.manifest.by_type)


def test_timestamps_are_in_the_window_and_in_file_order(demo_run: DemoRun) -> None:
    start = parse_time(demo_run.manifest.start)
    end = parse_time(demo_run.manifest.end)
    times = [parse_time(m["timestamp"]) for m in demo_run.messages]
    assert all(start <= t < end for t in times)
    assert times == sorted(times)
    assert end == datetime(2026, 12, 1, tzinfo=UTC)  # the default end


def test_message_ids_are_unique(demo_run: DemoRun) -> None:
    ids = [m["messageId"] for m in demo_run.messages]
    assert len(set(ids)) == len(ids)


def test_ids_refer_to_the_csv_rows(demo_run: DemoRun) -> None:
    account_ids = {a["id"] for a in demo_run.accounts}
    user_ids = {u["id"] for u in demo_run.users}
    for m in demo_run.messages:
        if "userId" in m:
            assert m["userId"] in user_ids
        if m["type"] == "group":
            assert m["groupId"] in account_ids
        if "context" in m:
            assert m["context"]["groupId"] in account_ids
    assert {u["account_id"] for u in demo_run.users} - {""} <= account_ids


def test_manifest_counts_match_the_files(demo_run: DemoRun) -> None:
    man = demo_run.manifest
    assert man.messages == len(demo_run.messages)
    assert sum(man.by_type.values()) == man.messages
    assert man.accounts == len(demo_run.accounts)
    assert man.users == len(demo_run.users)
    assert man.by_type["identify"] == man.users  # one identify at each sign-up
    assert sum(man.plans.values()) == man.accounts
    on_disk = (demo_run.out / "manifest.json").read_bytes()
    assert on_disk == man.to_json()


def test_group_calls_carry_the_plan_on_creation_and_on_every_upgrade(demo_run: DemoRun) -> None:
    plans = [
        m["traits"]["plan"]
        for m in demo_run.messages
        if m["type"] == "group" and "plan" in m.get("traits", {})
    ]
    assert plans.count("free") == demo_run.manifest.accounts  # one founding call each
    upgrades = [
        m for m in demo_run.messages if m["type"] == "group" and "mrr" in m.get("traits", {})
    ]
    paid = [m for m in upgrades if m["traits"]["plan"] != "free"]
    assert len(paid) == demo_run.manifest.upgrades > 0
    for m in paid:
        price = vocab.PLAN_BY_KEY[m["traits"]["plan"]].price_per_seat
        assert m["traits"]["mrr"] == m["traits"]["seats"] * price


def test_accounts_csv_has_the_crm_columns(demo_run: DemoRun) -> None:
    assert list(demo_run.accounts[0]) == [
        "id",
        "name",
        "domain",
        "industry",
        "employees",
        "country",
        "owner",
        "updated_at",
    ]
    assert list(demo_run.users[0]) == ["id", "email", "name", "title", "department", "account_id"]
    for a in demo_run.accounts:
        assert int(a["employees"]) >= 1
        assert a["industry"] in vocab.INDUSTRIES
        parse_time(a["updated_at"])
    assert {u["department"] for u in demo_run.users} <= set(vocab.DEPARTMENTS)


def test_ids_domains_and_emails_are_unique(demo_run: DemoRun) -> None:
    for rows, column in (
        (demo_run.accounts, "id"),
        (demo_run.accounts, "domain"),
        (demo_run.accounts, "name"),
        (demo_run.users, "id"),
        (demo_run.users, "email"),
    ):
        values = [r[column] for r in rows]
        assert len(set(values)) == len(values), column
