"""The case corpus loader: one YAML file in ``tests/cases/`` -> inputs and expectations.

Shared by every runner (the oracle in ``tests/backends/test_cases_reference.py``, the
compiled engine on DuckDB and PostgreSQL), so they all read a case the same way.

A case file::

    description: what the case pins down (one or two sentences)
    definitions: {pqls: [...], scores: {...}, stages: [...]}   # a beachhead.yml fragment
    messages: [raw Segment messages]      # normalised with ingest.segment.normalize
    accounts: [{id: acme, plan: free, updated_at: ...}]    # optional accounts import rows
    users: [{id: u1, email: ..., account_id: acme}]         # optional users import rows
    imported_at: 2026-01-01T00:00:00Z      # optional: time of import rows without updated_at
    as_of: 2026-03-01T00:00:00Z
    expect:
      pqls: {key: [sorted matching entity ids]}          # every PQL of the fragment
      scores: {score: {entity: {points: 50, band: medium}}}   # optional, or just points
      stages: {account: stage_key | unstaged}             # optional
      touch: {pql: {entity: high | low | none}}           # optional
      users: [ids], accounts: [ids]                        # optional: who is evaluated
      members: {account: [user ids]}, primary: {user: account | null}   # optional
      evidence: {pql: {entity: [{path, held, value}]}}    # optional, per leaf in order

Messages get ``seq`` = their position (1-based) and, without a time of their own, are
"received" at ``received_at`` (default ``as_of``). Import rows get the ``seq`` after the
messages, in file order. Messages with a ``messageId`` already seen are dropped, as the
store would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from beachhead.ingest.derive import account_row, user_row
from beachhead.ingest.freemail import builtin_free_mail
from beachhead.ingest.identity import Snapshot
from beachhead.ingest.message import MembershipRow, Message, TraitRow
from beachhead.ingest.segment import normalize
from beachhead.rules.load import load_text
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation, Match

CASES_DIR = Path(__file__).parent / "cases"
# Other corpora live beside these, in their own formats, with their own runners: the
# definitions loader's error cases and the routing cases. They are not evaluation cases.
EXCLUDED_DIRS = frozenset({"config_errors", "routing"})
# The free-mail list every runner passes: the one that ships.
FREE_MAIL = builtin_free_mail()
DEFAULT_IMPORTED_AT = "2000-01-01T00:00:00Z"
CASE_KEYS = frozenset(
    {
        "description",
        "definitions",
        "messages",
        "accounts",
        "users",
        "imported_at",
        "as_of",
        "received_at",
        "expect",
    }
)
EXPECT_KEYS = frozenset(
    {"pqls", "scores", "stages", "touch", "users", "accounts", "members", "primary", "evidence"}
)


@dataclass
class Case:
    """Everything a runner needs: inputs ready for an evaluator and what must come out."""

    id: str  # path relative to tests/cases, e.g. "operators/eq_typed.yaml"
    description: str
    config: Config
    raw_messages: list[dict[str, Any]]  # as written, duplicates included
    messages: list[Message]  # normalised, duplicates dropped, seq = position in the file
    stored_raws: list[dict[str, Any]]  # the raw message of each entry of ``messages``
    trait_rows: list[TraitRow]  # from import rows only (messages derive their own)
    memberships: list[MembershipRow]  # from import rows only
    as_of: datetime
    expect: dict[str, Any] = field(default_factory=dict)


def case_files() -> list[Path]:
    """Every case file, sorted, excluding the loader's own error cases."""
    return sorted(
        p
        for p in CASES_DIR.rglob("*.yaml")
        if p.relative_to(CASES_DIR).parts[0] not in EXCLUDED_DIRS
    )


def case_id(path: Path) -> str:
    return path.relative_to(CASES_DIR).as_posix()


def _plain(value: Any) -> Any:
    """YAML nodes -> plain JSON-like data; dates and times back to the ISO text written."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_time(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _definitions_text(defs: dict[str, Any]) -> str:
    """The fragment as a beachhead.yml text (JSON is YAML 1.2), with name/version filled in."""
    defs = {"version": 1, **defs}
    pqls = [{"name": p.get("key", ""), **p} for p in defs.get("pqls", [])]
    if pqls:
        defs["pqls"] = pqls
    stages = [{"name": s.get("key", ""), **s} for s in defs.get("stages", [])]
    if stages:
        defs["stages"] = stages
    return json.dumps(defs, indent=2)


def load_case(path: Path) -> Case:
    """Read and check one case file (unknown keys are an error, like in beachhead.yml)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    data = _plain(yaml.load(path.read_text("utf-8")))
    cid = case_id(path)
    if not isinstance(data, dict):
        raise ValueError(f"{cid}: a case is a mapping")
    unknown = set(data) - CASE_KEYS
    if unknown:
        raise ValueError(f"{cid}: unknown keys {sorted(unknown)}")
    expect = data.get("expect") or {}
    bad = set(expect) - EXPECT_KEYS
    if bad:
        raise ValueError(f"{cid}: unknown expect keys {sorted(bad)}")
    for key in ("description", "definitions", "as_of", "expect"):
        if key not in data:
            raise ValueError(f"{cid}: missing {key!r}")

    config = load_text(_definitions_text(data["definitions"]), f"tests/cases/{cid}")
    as_of = parse_time(data["as_of"])
    received = parse_time(str(data.get("received_at", data["as_of"])))

    raws: list[dict[str, Any]] = list(data.get("messages") or [])
    messages: list[Message] = []
    stored_raws: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, raw in enumerate(raws, start=1):
        msg = normalize(raw, received)
        if msg.message_id in seen:
            continue
        seen.add(msg.message_id)
        messages.append(replace(msg, seq=n))
        stored_raws.append(raw)

    imported_at = parse_time(data.get("imported_at", DEFAULT_IMPORTED_AT))
    trait_rows: list[TraitRow] = []
    memberships: list[MembershipRow] = []
    seq = len(raws)
    for kind in ("accounts", "users"):
        for row in data.get(kind) or []:
            seq += 1
            row = dict(row)
            entity = str(row.pop("id"))
            ts = parse_time(row.pop("updated_at")) if "updated_at" in row else imported_at
            traits = {k: v for k, v in row.items() if v is not None}
            if kind == "accounts":
                derived = account_row(entity, traits, ts)
            else:
                account = traits.pop("account_id", None)
                derived = user_row(entity, traits, ts, None if account is None else str(account))
            trait_rows += [replace(r, seq=seq) for r in derived.trait_rows]
            memberships += [replace(m, seq=seq) for m in derived.memberships]

    return Case(
        id=cid,
        description=str(data["description"]),
        config=config,
        raw_messages=raws,
        messages=messages,
        stored_raws=stored_raws,
        trait_rows=trait_rows,
        memberships=memberships,
        as_of=as_of,
        expect=expect,
    )


def _num(x: Any) -> Any:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else x


def check(case: Case, result: Evaluation, snapshot: Snapshot | None = None) -> list[str]:
    """Every difference between ``result`` (and the identity ``snapshot``) and the case's
    expectations, as readable lines; empty when all agree."""
    exp = case.expect
    diffs: list[str] = []

    def differ(what: str, want: Any, got: Any) -> None:
        if want != got:
            diffs.append(f"{what}: expected {want!r}, got {got!r}")

    matched: dict[str, list[str]] = {p.key: [] for p in case.config.pqls}
    by_key: dict[tuple[str, str], Match] = {}
    for m in result.matches:
        matched.setdefault(m.pql, []).append(m.entity_id)
        by_key[(m.pql, m.entity_id)] = m
    for key in matched:
        if key not in (exp.get("pqls") or {}):
            diffs.append(f"pqls.{key}: not listed in expect.pqls (every PQL must be)")
    for key, want in (exp.get("pqls") or {}).items():
        differ(f"pqls.{key}", sorted(str(w) for w in want or []), sorted(matched.get(key, [])))
    for key, per in (exp.get("touch") or {}).items():
        for entity, want in per.items():
            hit = by_key.get((key, entity))
            differ(f"touch.{key}.{entity}", want, hit.touch if hit else None)
    for key, per in (exp.get("evidence") or {}).items():
        for entity, leaves in per.items():
            hit = by_key.get((key, entity))
            if hit is None:
                diffs.append(f"evidence.{key}.{entity}: expected a match, got none")
                continue
            seen = [{"path": e.path, "held": e.held, "value": _num(e.value)} for e in hit.evidence]
            want_leaves = [{**leaf, "value": _num(leaf.get("value"))} for leaf in leaves]
            differ(f"evidence.{key}.{entity}", want_leaves, seen)
    for key, per in (exp.get("scores") or {}).items():
        for entity, want in per.items():
            ev = result.users.get(entity) or result.accounts.get(entity)
            sv = ev.scores.get(key) if ev else None
            if isinstance(want, dict):
                got: Any = None if sv is None else {"points": _num(sv.points), "band": sv.band}
                want = {"points": _num(want.get("points")), "band": want.get("band")}
            else:
                got = None if sv is None else _num(sv.points)
                want = _num(want)
            differ(f"scores.{key}.{entity}", want, got)
    for account, want in (exp.get("stages") or {}).items():
        ev = result.accounts.get(account)
        got_stage = None if ev is None else (ev.stage or "unstaged")
        differ(f"stages.{account}", want, got_stage)
    if "users" in exp:
        differ("users", sorted(exp["users"]), sorted(result.users))
    if "accounts" in exp:
        differ("accounts", sorted(exp["accounts"]), sorted(result.accounts))
    if snapshot is not None:
        for account, want in (exp.get("members") or {}).items():
            differ(f"members.{account}", sorted(want), sorted(snapshot.members.get(account, ())))
        for user, want in (exp.get("primary") or {}).items():
            differ(f"primary.{user}", want, snapshot.primary.get(user))
    elif "members" in exp or "primary" in exp:
        diffs.append("members/primary expected but no identity snapshot given")
    return diffs
