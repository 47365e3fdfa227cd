"""``beachhead keys create|list|revoke`` and ``beachhead rejects`` on each backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from test_serve import cli, create_key, settings_of

from beachhead.ingest.message import Reject
from beachhead.store.state import StateStore


def test_keys_create_list_revoke(backend_env: dict[str, str]) -> None:
    created = cli(backend_env, "keys", "create", "--name", "web")
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("bh_") and " " not in key
    as_json = json.loads(cli(backend_env, "keys", "create", "--format", "json").stdout)
    assert set(as_json) == {"key", "name"} and as_json["key"].startswith("bh_")

    listed = json.loads(cli(backend_env, "keys", "list", "--format", "json").stdout)["keys"]
    assert [k["name"] for k in listed] == ["web", as_json["name"]]
    assert all(k["active"] and k["revoked_at"] is None for k in listed)
    table = cli(backend_env, "keys", "list").stdout
    assert "web" in table and key[:10] in table
    for secret in (key, as_json["key"]):
        assert secret not in table and secret not in json.dumps(listed)

    assert "Revoked" in cli(backend_env, "keys", "revoke", key).stdout
    listed = json.loads(cli(backend_env, "keys", "list", "--format", "json").stdout)["keys"]
    assert [k["active"] for k in listed] == [False, True]
    again = cli(backend_env, "keys", "revoke", key, check=False)
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0 and again.stderr.startswith("error:")
    # --format json, as every command takes (interfaces.md): was "No such option"
    revoked = cli(backend_env, "keys", "revoke", as_json["key"], "--format", "json").stdout
    assert json.loads(revoked) == {"revoked": True, "prefix": as_json["key"][:10]}


def test_rejects_command_lists_what_the_store_holds(backend_env: dict[str, str]) -> None:
    create_key(backend_env)  # creates and migrates the store
    assert "No rejected messages" in cli(backend_env, "rejects").stdout
    state = StateStore(settings_of(backend_env).state_url)
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    long_raw = json.dumps({"type": "track", "userId": "u1", "properties": {"x": "y" * 200}})
    try:
        state.add_rejects(
            [
                Reject("import:events.jsonl", 3, "track message needs 'event'", long_raw, at),
                Reject("http:/v1/batch key=web", 0, "message needs 'type'", "{}", at),
            ]
        )
    finally:
        state.close()
    listed = json.loads(cli(backend_env, "rejects", "--format", "json").stdout)["rejects"]
    assert [(r["source"], r["position"]) for r in listed] == [
        ("http:/v1/batch key=web", 0),
        ("import:events.jsonl", 3),
    ]
    assert listed[1]["raw"] == long_raw
    assert listed[1]["received_at"] == "2026-03-01T09:30:00Z"
    table = cli(backend_env, "rejects").stdout
    assert "import:events.jsonl" in table and "track message needs 'event'" in table
    assert long_raw not in table  # the raw message is truncated in the table
    assert "…" in table
    assert (
        len(
            json.loads(cli(backend_env, "rejects", "--limit", "1", "--format", "json").stdout)[
                "rejects"
            ]
        )
        == 1
    )
