"""Shared wording of alerts: titles per event type, the facts of one qualification.

Pure: turns stored event dicts (``AlertEvent.to_dict``) into strings. The Slack and
webhook renderers build on it so both say the same thing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

TITLES = {
    "qualified": "New qualification",
    "assigned": "Qualification assigned",
    "converted": "Qualification converted",
    "expired": "Qualification expired",
    "stage_changed": "Stage changed",
}


def title(event_type: str) -> str:
    return TITLES.get(event_type, event_type.replace("_", " ").capitalize())


def account_url(public_url: str, account_id: str) -> str:
    """The account's page in the web app (``<public_url>/accounts/<id>``)."""
    return f"{public_url.rstrip('/')}/accounts/{quote(account_id, safe='')}"


def entity_text(q: dict[str, Any]) -> str:
    """``user u_17`` / ``account acme``."""
    level = q.get("level") or "entity"
    return f"{level} {q.get('entity_id', '?')}"


def evidence_sentences(q: dict[str, Any]) -> list[str]:
    """The sentences of the evidence that held (all of them when none is marked held)."""
    evidence = [e for e in q.get("evidence") or [] if isinstance(e, dict) and e.get("sentence")]
    held = [e for e in evidence if e.get("held", True)]
    return [str(e["sentence"]) for e in (held or evidence)]


def summary(event: dict[str, Any]) -> str:
    """One line that says everything important, for plain-text readers."""
    q = event.get("qualification")
    if event.get("type") == "stage_changed" or not q:
        account = event.get("account_id") or "?"
        before = event.get("stage_from") or "none"
        after = event.get("stage_to") or "none"
        return f"{title(str(event.get('type')))}: account {account} moved from {before} to {after}"
    parts = [f"{title(str(event.get('type')))}: {q.get('pql', '?')} for {entity_text(q)}"]
    if q.get("account_id") and q.get("account_id") != q.get("entity_id"):
        parts.append(f"(account {q['account_id']})")
    extras = [
        f"{label} {q[key]}"
        for key, label in (("touch", "touch"), ("team", "team"), ("rep", "rep"))
        if q.get(key)
    ]
    line = " ".join(parts)
    return f"{line}; {', '.join(extras)}" if extras else line
