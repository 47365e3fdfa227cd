"""The Segment-compatible ingest API against a real ``beachhead serve``, with real clients.

The Segment and RudderStack Python libraries are used unchanged (only pointed at the
server); protocol edge cases (401/400/413, gzip, rejects) are sent with httpx.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError
from test_serve import (
    Server,
    cli,
    create_key,
    embedded,
    events_count,
    serving,
    settings_of,
    stored_messages,
)

from beachhead.ingest.message import Message

CASES = Path(__file__).parent / "cases"


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    return embedded(tmp_path)


@pytest.fixture
def server(embedded_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    yield from serving(embedded_env, tmp_path)


def _by_id(messages: list[Message]) -> dict[str, Message]:
    return {m.message_id: m for m in messages}


def test_segment_and_rudderstack_libraries(backend_env: dict[str, str], tmp_path: Path) -> None:
    srv = Server(backend_env, tmp_path / "serve.log").start()
    try:
        key = create_key(backend_env, "web")
        errors: list[Any] = []
        seg = SegmentClient(
            key, host=srv.url, sync_mode=True, on_error=lambda e, b: errors.append(e)
        )
        seg.identify("u1", {"email": "ana@acme.io", "plan": "free"}, message_id="s-identify")
        seg.track("u1", "Report Created", {"charts": 3}, message_id="s-track")
        seg.group("u1", "acme", {"name": "Acme", "employees": 250}, message_id="s-group")
        seg.page("u1", name="Pricing", properties={"path": "/pricing"}, message_id="s-page")
        seg.screen("u1", name="Home", message_id="s-screen")
        seg.alias("anon-1", "u1", message_id="s-alias")

        rud = RudderClient(key, host=srv.url, sync_mode=True, gzip=True)
        rud.identify("u2", {"email": "bo@acme.io", "title": "CTO"}, message_id="r-identify")
        rud.track("u2", "Invite Sent", {"count": 2}, message_id="r-track")
        rud.group("u2", "acme", {"plan": "team"}, message_id="r-group")
        rud.page("u2", name="Docs", message_id="r-page")
        rud.alias("anon-2", "u2", message_id="r-alias")

        # the asynchronous (batching) mode of the Segment library, flushed
        batched = SegmentClient(
            key, host=srv.url, gzip=True, on_error=lambda e, b: errors.append(e)
        )
        for i in range(25):
            batched.track("u3", "Logged In", {"i": i}, message_id=f"b-{i}")
        batched.flush()
        batched.shutdown()
        assert errors == []
        assert events_count(backend_env) == 11 + 25
    finally:
        srv.stop()

    stored = _by_id(stored_messages(backend_env))
    assert len(stored) == 36
    identify = stored["s-identify"]
    assert (identify.type, identify.user_id) == ("identify", "u1")
    assert identify.traits == {"email": "ana@acme.io", "plan": "free"}
    assert stored["s-track"].event == "Report Created"
    assert stored["s-track"].properties == {"charts": 3}
    assert (stored["s-group"].group_id, stored["s-group"].traits["employees"]) == ("acme", 250)
    assert (stored["s-page"].type, stored["s-page"].event) == ("page", "Pricing")
    assert (stored["s-screen"].type, stored["s-screen"].event) == ("screen", "Home")
    assert (stored["s-alias"].previous_id, stored["s-alias"].user_id) == ("anon-1", "u1")
    # RudderStack puts identify traits in context.traits only; they are the user's traits
    assert stored["r-identify"].traits == {"email": "bo@acme.io", "title": "CTO"}
    assert stored["r-track"].event == "Invite Sent"
    assert stored["r-group"].traits == {"plan": "team"}
    assert stored["r-page"].event == "Docs"
    assert (stored["r-alias"].previous_id, stored["r-alias"].user_id) == ("anon-2", "u2")
    assert sorted(m.properties["i"] for k, m in stored.items() if k.startswith("b-")) == list(
        range(25)
    )


def _track(mid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u1", "event": "Logged In", "messageId": mid, **extra}


def test_single_message_routes_and_write_key_in_body(
    server: Server, embedded_env: dict[str, str]
) -> None:
    key = create_key(embedded_env)
    routes: dict[str, dict[str, Any]] = {
        "track": {"userId": "u1", "event": "Logged In"},
        "identify": {"userId": "u1", "traits": {"email": "a@b.io"}},
        "group": {"userId": "u1", "groupId": "g1"},
        "page": {"userId": "u1", "name": "Home"},
        "screen": {"userId": "u1", "name": "Settings"},
        "alias": {"userId": "u1", "previousId": "anon-9"},
    }
    for kind, msg in routes.items():
        r = httpx.post(f"{server.url}/v1/{kind}", json={**msg, "writeKey": key, "messageId": kind})
        assert (r.status_code, r.json()) == (200, {"success": True}), kind
    in_batch = {"batch": [{**_track("batch-with-key"), "writeKey": key}]}
    assert httpx.post(f"{server.url}/v1/batch", json=in_batch, auth=(key, "")).status_code == 200
    server.stop()
    stored = _by_id(stored_messages(embedded_env))
    assert stored.pop("batch-with-key").event == "Logged In"
    assert {k: m.type for k, m in stored.items()} == {k: k for k in routes}
    with duckdb.connect(str(settings_of(embedded_env).duckdb_path), read_only=True) as con:
        raws = [json.loads(r[0]) for r in con.execute("SELECT raw FROM events").fetchall()]
    assert len(raws) == 7 and not any("writeKey" in r for r in raws)  # the key is not stored
    assert {r["type"] for r in raws} == set(routes)
    assert stored["screen"].event == "Settings"
    assert stored["alias"].previous_id == "anon-9"


def test_unknown_missing_and_revoked_keys_get_401(
    server: Server, embedded_env: dict[str, str]
) -> None:
    key = create_key(embedded_env)
    body = {"batch": [_track("k1")]}
    url = f"{server.url}/v1/batch"
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, auth=("bh_not_a_key", "")).status_code == 401
    assert httpx.post(url, json={**body, "writeKey": "bh_not_a_key"}).status_code == 401
    assert httpx.post(url, json=body, auth=(key, "")).status_code == 200
    # the Segment library sees the 401 as an APIError
    with pytest.raises(APIError) as raised:
        SegmentClient("bh_wrong", host=server.url, sync_mode=True, max_retries=0).track(
            "u1", "Logged In"
        )
    assert raised.value.status == 401

    cli(embedded_env, "keys", "revoke", key)
    revoked_at = time.monotonic()
    while httpx.post(url, json={"batch": [_track("k2")]}, auth=(key, "")).status_code == 200:
        assert time.monotonic() - revoked_at < 2.5, "revoke did not take effect within ~2 s"
        time.sleep(0.05)
    assert httpx.post(url, json=body, auth=(key, "")).status_code == 401
    listed = json.loads(cli(embedded_env, "keys", "list", "--format", "json").stdout)["keys"]
    assert [k["active"] for k in listed] == [False]
    assert cli(embedded_env, "keys", "revoke", key, check=False).returncode == 1


BAD_REQUESTS = json.loads((CASES / "http_bad_requests.json").read_text())


def test_bad_requests_get_400_and_store_nothing(
    server: Server, embedded_env: dict[str, str]
) -> None:
    """Every case of cases/http_bad_requests.json, against one server."""
    key = create_key(embedded_env)
    for case in BAD_REQUESTS:
        body = case["body"].encode()
        headers = {"Content-Type": "application/json", **case.get("headers", {})}
        r = httpx.post(f"{server.url}{case['path']}", content=body, headers=headers, auth=(key, ""))
        assert r.status_code == 400, case["name"]
        assert case["reason"] in r.json()["error"], case["name"]
    # two gzip members: refused rather than silently reading only the first
    first = gzip.compress(json.dumps({"batch": [_track("g1")]}).encode())
    second = gzip.compress(json.dumps({"batch": [_track("g2")]}).encode())
    r = httpx.post(
        f"{server.url}/v1/batch",
        content=first + second,
        headers={"Content-Encoding": "gzip"},
        auth=(key, ""),
    )
    assert r.status_code == 400 and "after the end of the gzip body" in r.json()["error"]
    assert events_count(embedded_env) == 0


def _batch(n: int, size: int, prefix: str) -> dict[str, Any]:
    pad = "x" * size
    return {"batch": [_track(f"{prefix}{i}", properties={"pad": pad}) for i in range(n)]}


def test_limits_are_413_after_decompression(server: Server, embedded_env: dict[str, str]) -> None:
    key = create_key(embedded_env)
    url = f"{server.url}/v1/batch"

    def send(body: dict[str, Any], gz: bool = False) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if gz:
            raw = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        return httpx.post(url, content=raw, headers=headers, auth=(key, ""), timeout=30)

    # one message over 32 KB, beside a valid one: nothing of the request is stored
    over_message = {"batch": [_track("ok-1"), _track("big", properties={"pad": "x" * 33_000})]}
    assert send(over_message).status_code == 413
    assert send(over_message, gz=True).status_code == 413
    single = {**_track("big-single", properties={"pad": "x" * 33_000}), "writeKey": key}
    assert httpx.post(f"{server.url}/v1/track", json=single).status_code == 413
    # a request over 500 KB made of messages each under the limit
    over_request = _batch(60, 9_000, "r")
    assert len(json.dumps(over_request)) > 500 * 1024
    assert send(over_request).status_code == 413
    compressed = gzip.compress(json.dumps(over_request).encode())
    assert len(compressed) < 10_000  # small on the wire, over the limit once inflated
    assert send(over_request, gz=True).status_code == 413
    # a gzip bomb: 200 MB of zeros in ~200 KB; refused without inflating it all
    bomb = gzip.compress(b'{"batch": [' + b" " * 200_000_000 + b"]}", compresslevel=9)
    started = time.monotonic()
    r = httpx.post(
        url, content=bomb, headers={"Content-Encoding": "gzip"}, auth=(key, ""), timeout=30
    )
    assert r.status_code == 413
    assert time.monotonic() - started < 5
    assert events_count(embedded_env) == 0
    # just under the limits, gzip or not: stored
    under = _batch(50, 9_000, "u")
    assert len(json.dumps(under)) < 500 * 1024
    assert send(under, gz=True).status_code == 200
    assert events_count(embedded_env) == 50


def test_rejected_messages_are_named_and_kept(server: Server, embedded_env: dict[str, str]) -> None:
    key = create_key(embedded_env, "backend")
    batch = [
        _track("good-1"),
        {"type": "track", "userId": "u1", "messageId": "no-event"},
        _track("bad-time", timestamp="last tuesday"),
        42,
        {"type": "identify", "traits": {"email": "x@y.io"}},
        {"type": "dance", "userId": "u1"},
        {"type": "group", "userId": "u1"},
        {"type": "alias", "userId": "u1"},
        {"type": ["track"], "event": "E", "userId": "u1", "messageId": "list-type"},
        _track("calendar-end", timestamp="0001-01-01T00:00:00+01:00"),
        _track("good-2"),
    ]
    r = httpx.post(f"{server.url}/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert r.status_code == 200
    answer = r.json()
    assert answer["success"] is True
    rejected = {x["index"]: x["error"] for x in answer["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert "event" in rejected[1]
    assert "timestamp" in rejected[2]
    assert "object" in rejected[3]
    assert "userId" in rejected[4]
    assert "type" in rejected[5]
    assert "groupId" in rejected[6]
    assert "previousId" in rejected[7]
    assert "unknown type" in rejected[8]  # a list: was a 500 that lost the whole request
    assert "outside the calendar" in rejected[9]
    # re-sending the same request stores nothing twice
    again = httpx.post(f"{server.url}/v1/batch", json={"batch": batch}, auth=(key, ""))
    assert again.status_code == 200
    assert events_count(embedded_env) == 2

    listed = json.loads(cli(embedded_env, "rejects", "--format", "json").stdout)["rejects"]
    assert len(listed) == 18  # both sends
    first_send = sorted(listed, key=lambda x: x["id"])[:9]
    assert [x["position"] for x in first_send] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert [x["reason"] for x in first_send] == [rejected[i] for i in range(1, 10)]
    assert all(x["source"] == "http:/v1/batch key=backend" for x in first_send)
    assert json.loads(first_send[0]["raw"]) == batch[1]
    assert json.loads(first_send[2]["raw"]) == 42
    table = cli(embedded_env, "rejects").stdout
    assert "track message needs 'event'" in table
    assert "/v1/batch" in table
