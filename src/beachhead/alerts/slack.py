"""Slack incoming-webhook payloads: ``{"text": ..., "blocks": [...]}`` in Block Kit.

Pure functions. ``text`` alone says everything, the evidence sentences included
(notifications, screen readers and clients without blocks show it); the blocks lay out
the PQL, the entity and account, touch/team/rep (the PQL by name, the rep mentioned by
their Slack member id when the team lists one), the evidence sentences and a button to
the account in the app. This is the same JSON
``slack_sdk.webhook.WebhookClient.send(text=..., blocks=...)`` posts.

Block Kit limits respected here: 10 fields per section, 3000 characters per text,
50 blocks per message (a digest lists at most ``DIGEST_MAX_ITEMS`` and says how many more).
"""

from __future__ import annotations

import re
from typing import Any

from beachhead.alerts import render

DIGEST_MAX_ITEMS = 15
_MAX_TEXT = 2900
_MEMBER = re.compile(r"[A-Z0-9]{2,40}")  # a Slack member id: U01ANA, W0123ABC


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>`` would otherwise be read as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(text)}


def _fields(event: dict[str, Any]) -> list[dict[str, str]]:
    q = event.get("qualification") or {}
    if not q:
        return [
            _mrkdwn(f"*Account*\n{escape(str(event.get('account_id') or '?'))}"),
            _mrkdwn(f"*From*\n{escape(str(event.get('stage_from') or 'none'))}"),
            _mrkdwn(f"*To*\n{escape(str(event.get('stage_to') or 'none'))}"),
        ]
    pql = str(q.get("pql") or "")
    name = event.get("pql_name")
    facts = [
        ("PQL", escape(f"{name} ({pql})" if name and name != pql else pql)),
        ("Entity", escape(render.entity_text(q))),
        ("Account", escape(str(q.get("account_id") or ""))),
        ("Touch", escape(str(q.get("touch") or ""))),
        ("Team", escape(str(q.get("team") or ""))),
        ("Rep", _rep(event, q)),
    ]
    return [_mrkdwn(f"*{label}*\n{value}") for label, value in facts if value]


def mention(event: dict[str, Any]) -> str | None:
    """``<@U01ANA>`` for the rep's Slack member id (``teams[].reps[].slack``), when it
    looks like one (letters and digits: anything else is shown as text, never markup)."""
    member = event.get("rep_slack")
    if isinstance(member, str) and _MEMBER.fullmatch(member):
        return f"<@{member}>"
    return None


def _rep(event: dict[str, Any], q: dict[str, Any]) -> str:
    rep = escape(str(q.get("rep") or ""))
    at = mention(event)
    return f"{at} ({rep})" if at and rep else rep


def _evidence_block(sentences: list[str]) -> dict[str, Any] | None:
    if not sentences:
        return None
    lines = "\n".join(f"• {escape(s)}" for s in sentences)
    return {"type": "section", "text": _mrkdwn(f"*Why*\n{lines}")}


def _account_of(event: dict[str, Any]) -> str | None:
    q = event.get("qualification") or {}
    value = q.get("account_id") or event.get("account_id")
    return str(value) if value else None


def _link_block(event: dict[str, Any], public_url: str) -> dict[str, Any] | None:
    account = _account_of(event)
    if account is None:
        return None
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open account"},
                "url": render.account_url(public_url, account),
            }
        ],
    }


def event_payload(event: dict[str, Any], public_url: str) -> dict[str, Any]:
    """The message for one alert."""
    text = escape(render.summary(event))
    at = mention(event)
    if at is not None:  # the rep is notified
        text += f" {at}"
    account = _account_of(event)
    if account is not None:
        text += f" <{render.account_url(public_url, account)}|open account>"
    sentences = render.evidence_sentences(event.get("qualification") or {})
    if sentences:  # the why, for a client that shows the text alone
        text += "\nWhy: " + "; ".join(escape(s) for s in sentences)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(render.title(str(event["type"])), 150)},
        },
        {"type": "section", "fields": _fields(event)[:10]},
    ]
    for extra in (_evidence_block(sentences), _link_block(event, public_url)):
        if extra is not None:
            blocks.append(extra)
    return {"text": _clip(text, 3000), "blocks": blocks}


def _digest_line(event: dict[str, Any], public_url: str) -> str:
    line = escape(render.summary(event))
    at = mention(event)
    if at is not None:  # each rep of the digest is notified, as by a single alert
        line += f" {at}"
    account = _account_of(event)
    if account is not None:
        line += f" <{render.account_url(public_url, account)}|open>"
    sentences = render.evidence_sentences(event.get("qualification") or {})
    if sentences:
        line += "\n" + "\n".join(f"    • {escape(s)}" for s in sentences[:5])
    return line


def _digest_text(event: dict[str, Any]) -> str:
    at = mention(event)
    return f"- {escape(render.summary(event))}" + (f" {at}" if at is not None else "")


def digest_payload(events: list[dict[str, Any]], public_url: str) -> dict[str, Any]:
    """One message for a bundle window: a line per alert (at most ``DIGEST_MAX_ITEMS``)."""
    event_type = str(events[0]["type"]) if events else "qualified"
    heading = f"{render.title(event_type)}: {len(events)} in this digest"
    shown = events[:DIGEST_MAX_ITEMS]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(heading, 150)}}
    ]
    for event in shown:
        blocks.append({"type": "section", "text": _mrkdwn(_digest_line(event, public_url))})
    if len(events) > len(shown):
        more = len(events) - len(shown)
        blocks.append(
            {"type": "context", "elements": [_mrkdwn(f"and {more} more in the Beachhead inbox")]}
        )
    text_lines = [escape(heading), *(_digest_text(e) for e in events)]
    return {"text": _clip("\n".join(text_lines), 3000), "blocks": blocks}
