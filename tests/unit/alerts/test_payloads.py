"""Slack Block Kit messages and webhook bodies/signatures (pure renderers)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alerts_support import Receiver, qualified, running
from slack_sdk.webhook import WebhookClient

from beachhead.alerts import slack, webhook
from beachhead.alerts.events import AlertEvent

PUBLIC = "https://beachhead.example.com"


def _event(**kw: Any) -> dict[str, Any]:
    return qualified(**kw).to_dict()


def _all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


def test_slack_message_shows_pql_entity_account_touch_team_rep_evidence_and_link() -> None:
    payload = slack.event_payload(_event(), PUBLIC)
    assert set(payload) == {"text", "blocks"}
    text = payload["text"]
    for fact in ("free_to_paid", "u_17", "acme", "high", "mid_market", "ana@example.com"):
        assert fact in text, fact
    blocks = payload["blocks"]
    types = [b["type"] for b in blocks]
    assert types == ["header", "section", "section", "actions"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[1]["fields"]}
    assert fields == {
        "*PQL*": "free_to_paid",
        "*Entity*": "user u_17",
        "*Account*": "acme",
        "*Touch*": "high",
        "*Team*": "mid_market",
        "*Rep*": "ana@example.com",
    }
    assert "• Account plan is free" in blocks[2]["text"]["text"]
    assert "• Upgrade Clicked 3 times in the last 14 days" in blocks[2]["text"]["text"]
    assert blocks[3]["elements"][0]["url"] == f"{PUBLIC}/accounts/acme"
    assert f"{PUBLIC}/accounts/acme" in text
    # the why in the text too: a client showing the text alone still says why
    why = text.split("\nWhy: ", 1)[1]
    assert "Account plan is free" in why and "Upgrade Clicked 3 times in the last 14 days" in why


def test_slack_escapes_markup_and_quotes_the_account_in_urls() -> None:
    event = AlertEvent(
        type="qualified",
        occurred_at=datetime(2026, 3, 1),
        qualification={
            "pql": "free_to_paid",
            "level": "account",
            "entity_id": "a<b>&c",
            "account_id": "a b/c",
            "evidence": [{"held": True, "sentence": "plan is <free> & small"}],
        },
    ).to_dict()
    payload = slack.event_payload(event, "http://127.0.0.1:8000/")
    dumped = _all_text(payload["blocks"])
    assert "a&lt;b&gt;&amp;c" in dumped and "a<b>" not in dumped
    assert "plan is &lt;free&gt; &amp; small" in dumped
    assert payload["blocks"][-1]["elements"][0]["url"] == "http://127.0.0.1:8000/accounts/a%20b%2Fc"


def test_slack_stage_change_without_qualification() -> None:
    event = AlertEvent(
        type="stage_changed",
        occurred_at=datetime(2026, 3, 1),
        account_id="acme",
        stage_from="free",
        stage_to="pqa",
    ).to_dict()
    payload = slack.event_payload(event, PUBLIC)
    assert "acme" in payload["text"] and "free" in payload["text"] and "pqa" in payload["text"]
    assert payload["blocks"][-1]["elements"][0]["url"] == f"{PUBLIC}/accounts/acme"


def test_slack_digest_lists_each_and_caps_the_blocks() -> None:
    events = [_event(qid=f"q{i}", entity_id=f"u_{i}") for i in range(slack.DIGEST_MAX_ITEMS + 5)]
    payload = slack.digest_payload(events, PUBLIC)
    assert f"{len(events)} in this digest" in payload["text"]
    for i in range(len(events)):
        assert f"u_{i} " in payload["text"] or f"u_{i}\n" in payload["text"]
    blocks = payload["blocks"]
    assert len(blocks) == 1 + slack.DIGEST_MAX_ITEMS + 1 <= 50
    assert blocks[-1]["type"] == "context" and "and 5 more" in blocks[-1]["elements"][0]["text"]


def test_slack_digest_mentions_each_rep() -> None:
    """A digest notifies its reps as single alerts do (it mentioned nobody)."""
    events = [_event(qid="q1", entity_id="u_1"), _event(qid="q2", entity_id="u_2")]
    events[0]["rep_slack"] = "U01ANA"
    payload = slack.digest_payload(events, PUBLIC)
    assert payload["text"].count("<@U01ANA>") == 1
    assert "<@U01ANA>" in json.dumps(payload["blocks"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


def test_slack_sdk_webhook_client_posts_the_same_json(receiver: Receiver) -> None:
    """What we POST is exactly what Slack's own client sends for (text, blocks)."""
    payload = slack.event_payload(_event(), PUBLIC)
    response = WebhookClient(receiver.url + "/slack").send(
        text=payload["text"], blocks=payload["blocks"]
    )
    assert response.status_code == 200
    sent = receiver.requests[0]
    assert sent.header("Content-Type").startswith("application/json")  # type: ignore[union-attr]
    assert sent.json() == payload


def test_webhook_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = webhook.encode(webhook.event_body(_event(), "ev_1"))
    hdrs = webhook.headers("ev_1", body, "s3cret")
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hdrs["X-Beachhead-Signature"] == f"sha256={expected}"
    assert hdrs["X-Beachhead-Event-Id"] == "ev_1"
    assert hdrs["Content-Type"] == "application/json"
    assert webhook.verify("s3cret", body, hdrs["X-Beachhead-Signature"])
    assert not webhook.verify("other", body, hdrs["X-Beachhead-Signature"])
    assert not webhook.verify("s3cret", body + b" ", hdrs["X-Beachhead-Signature"])
    assert "X-Beachhead-Signature" not in webhook.headers("ev_1", body, None)


def test_webhook_body_shapes() -> None:
    event = _event()
    body = webhook.event_body(event, "ev_1")
    assert body == {
        "type": "qualified",
        "id": "ev_1",
        "occurred_at": "2026-03-01T00:00:00Z",
        "qualification": event["qualification"],
    }
    digest = webhook.digest_body(
        [event, _event(qid="q2")], "dg_1", datetime(2026, 3, 1), datetime(2026, 3, 1, 0, 15)
    )
    assert digest["id"] == "dg_1" and digest["count"] == 2
    assert [q["id"] for q in digest["qualifications"]] == ["q_1", "q2"]
    assert digest["window"] == {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T00:15:00Z"}


def test_slack_names_the_pql_and_mentions_the_rep_by_member_id() -> None:
    from beachhead.alerts.outbox import build_rows
    from beachhead.alerts.settings import AlertSettings
    from beachhead.rules.load import load_text

    config = load_text(
        "pqls:\n"
        "  - {key: free_to_paid, name: Free to paid, level: user,"
        " when: {trait: account.plan, in: [free]}}\n"
        "teams:\n"
        "  - key: mid_market\n"
        "    reps: [{email: Ana@Example.com, slack: U01ANA}, {email: bo@example.com}]\n"
        "routing: [{team: mid_market}]\n"
        "alerts:\n"
        "  - {on: qualified, slack: {webhook_url: 'http://127.0.0.1:9/s'}}\n"
    )
    [row] = build_rows(config, qualified(), datetime(2026, 3, 1), AlertSettings())
    stored = json.loads(row.payload)
    assert (stored["pql_name"], stored["rep_slack"]) == ("Free to paid", "U01ANA")
    payload = slack.event_payload(stored, PUBLIC)
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in payload["blocks"][1]["fields"]
    }
    assert fields["*PQL*"] == "Free to paid (free_to_paid)"
    assert fields["*Rep*"] == "<@U01ANA> (ana@example.com)"
    assert "<@U01ANA>" in payload["text"]
    # the webhook body keeps the spec's fields only
    assert set(webhook.event_body(stored, "ev_1")) == {"type", "id", "occurred_at", "qualification"}


@pytest.mark.parametrize("member", ["@ana", "U01>ANA", "", None, 7])
def test_slack_shows_a_rep_without_a_member_id_as_text(member: Any) -> None:
    event = {**_event(), "rep_slack": member}
    payload = slack.event_payload(event, PUBLIC)
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in payload["blocks"][1]["fields"]
    }
    assert fields["*Rep*"] == "ana@example.com"
    assert "<@" not in payload["text"]
