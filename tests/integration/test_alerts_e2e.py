"""From events to a signed webhook and a Slack message: import, evaluate, deliver.

The lifecycle queues the alerts during ``evaluate`` (in its transaction); ``deliver``
sends them. The webhook's qualification must be the one ``evaluate`` printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "alerts"))

from alerts_support import Receiver, running
from test_serve import cli

from beachhead.alerts.webhook import verify

CONFIG = """\
version: 1
pqls:
  - key: free_to_paid
    level: user
    priority: 10
    when: {all: [{event: Report Created, within: 3d, count: {gte: 2}}]}
teams:
  - key: t
    reps: [{email: a@x.com}]
routing:
  - {team: t}
alerts:
  - on: qualified
    pqls: [free_to_paid]
    webhook: {url: "${HOOK_URL}/hook", secret: "${HOOK_SECRET}"}
  - on: qualified
    slack: {webhook_url: "${HOOK_URL}/slack"}
  - on: expired
    webhook: {url: "${HOOK_URL}/never"}
"""


def _msg(kind: str, user: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "userId": user, "timestamp": ts, **extra}


EVENTS = [
    _msg("group", "u1", "2026-02-28T00:00:00Z", groupId="beta", traits={"plan": "free"}),
    _msg("track", "u1", "2026-03-01T10:00:00Z", event="Report Created"),
    _msg("track", "u1", "2026-03-02T10:00:00Z", event="Report Created"),
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running()


@pytest.mark.slow
def test_evaluate_queues_and_deliver_sends(
    backend_env: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    config = tmp_path / "beachhead.yml"
    config.write_text(CONFIG)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in EVENTS))
    env = {
        **backend_env,
        "BEACHHEAD_CONFIG": str(config),
        "HOOK_URL": receiver.url,
        "HOOK_SECRET": "s3cret",
        "BEACHHEAD_PUBLIC_URL": "https://bh.example.com",
    }
    cli(env, "import", "events", str(events))
    evaluated = json.loads(cli(env, "evaluate", "--as-of", "2026-03-03", "--format", "json").stdout)
    [qual] = evaluated["qualifications"]
    assert receiver.requests == []  # queued, not sent: deliver sends
    out = json.loads(cli(env, "deliver", "--format", "json").stdout)
    assert (out["delivered"], out["failed"], out["waiting"]) == (2, 0, 0)
    [hook] = [r for r in receiver.requests if r.path == "/hook"]
    assert verify("s3cret", hook.body, hook.header("X-Beachhead-Signature"))
    body = hook.json()
    assert body["type"] == "qualified"
    assert body["id"] == hook.header("X-Beachhead-Event-Id")
    assert qual["is_new"] is True
    assert body["qualification"] == qual  # evaluate's shape, is_new too (it was just created)
    [slack] = [r for r in receiver.requests if r.path == "/slack"]
    message = slack.json()
    assert "free_to_paid" in message["text"] and "u1" in message["text"]
    assert "https://bh.example.com/accounts/beta" in json.dumps(message["blocks"])
    # evaluating again creates nothing new, so nothing more is queued or sent
    cli(env, "evaluate", "--as-of", "2026-03-03")
    again = json.loads(cli(env, "deliver", "--format", "json").stdout)
    assert again["deliveries"] == [] and len(receiver.requests) == 2
