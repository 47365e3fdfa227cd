"""The ``users`` and ``accounts`` services: every entity with its traits, scores and stage.

What ``beachhead users`` / ``beachhead accounts`` print (interfaces.md). They are services
(``runtime.service``) so that, beside a live ``beachhead serve``, the CLI asks the server
that holds the events store instead of opening it.

Identity comes from ``ingest/identity.resolve`` over the stored rows at ``as_of``; scores
and stages from ``services.compute_evaluation`` (the compiled engine when available, the
oracle otherwise). Without a definitions file there is nothing to score: ``scores`` is
``{}`` and ``stage`` null. With one, an account no stage holds for is ``unstaged``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from beachhead.ingest.freemail import load_free_mail
from beachhead.ingest.identity import Snapshot, named_ids, resolve
from beachhead.rules.durations import parse_iso_time
from beachhead.rules.load import ConfigError, load_config, unreadable
from beachhead.rules.model import Config
from beachhead.rules.result import EntityEval, Evaluation, ScoreValue
from beachhead.runtime import Runtime, ServiceError, service

UNSTAGED = "unstaged"


def iso(ts: datetime) -> str:
    """UTC ISO-8601 with ``Z``, as every JSON output of the project writes times."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_as_of(text: str | None) -> datetime:
    """``--as-of`` (a time without a zone is UTC), default now; a one-line error if bad."""
    if not text:
        return datetime.now(UTC)  # to the microsecond, as lifecycle_service.now_utc
    ts = parse_iso_time(text)
    if ts is None:
        raise ServiceError(f"--as-of: expected an ISO-8601 time such as 2026-03-01, got {text!r}")
    return ts


def read_optional_config(path: str | Path) -> Config | None:
    """The definitions, None when the file does not exist, or a one-line error if invalid."""
    p = Path(path)
    if not p.exists():
        return None
    problem = unreadable(p)  # a folder: the line every command says
    if problem is not None:
        raise ServiceError(problem)
    try:
        return load_config(p)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        more = f" (and {len(lines) - 1} more; see beachhead check)" if len(lines) > 1 else ""
        raise ServiceError(f"{lines[0]}{more}") from exc
    except OSError as exc:
        raise ServiceError(f"cannot read the definitions {p}: {exc.strerror or exc}") from exc


def _points(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def scores_json(ev: EntityEval | None) -> dict[str, dict[str, Any]]:
    if ev is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(ev.scores):
        sv: ScoreValue = ev.scores[key]
        out[key] = {"points": _points(sv.points), "band": sv.band}
    return out


def snapshot_at(runtime: Runtime, as_of: datetime) -> Snapshot:
    """Identity at ``as_of`` from the stored rows (every id a visible message names)."""
    events = runtime.events
    return resolve(
        events.trait_rows(as_of),
        events.links(as_of),
        events.memberships(as_of),
        as_of,
        load_free_mail(runtime.settings.free_mail_file),
        named_ids(events.messages(as_of)),
    )


def _evaluation(runtime: Runtime, config: Config | None, as_of: datetime) -> Evaluation | None:
    if config is None:
        return None
    from beachhead.services import compute_evaluation

    return compute_evaluation(runtime.settings, runtime.events, config, as_of)


def users_json(snap: Snapshot, result: Evaluation | None, as_of: datetime) -> dict[str, Any]:
    """``{"as_of", "users": [{"id", "traits", "account_id", "accounts", "scores"}]}``."""
    users = []
    for uid in sorted(snap.users):
        users.append(
            {
                "id": uid,
                "traits": snap.users[uid],
                "account_id": snap.primary.get(uid),
                "accounts": sorted(snap.accounts_of.get(uid, ())),
                "scores": scores_json(result.users.get(uid) if result else None),
            }
        )
    return {"as_of": iso(as_of), "users": users}


def accounts_json(snap: Snapshot, result: Evaluation | None, as_of: datetime) -> dict[str, Any]:
    """``{"as_of", "accounts": [{"id", "traits", "members", "stage", "scores"}]}``."""
    accounts = []
    for aid in sorted(snap.accounts):
        ev = result.accounts.get(aid) if result else None
        stage = None if result is None else (ev.stage if ev and ev.stage else UNSTAGED)
        accounts.append(
            {
                "id": aid,
                "traits": snap.accounts[aid],
                "members": sorted(snap.members.get(aid, ())),
                "stage": stage,
                "scores": scores_json(ev),
            }
        )
    return {"as_of": iso(as_of), "accounts": accounts}


def _inputs(
    runtime: Runtime, payload: dict[str, Any]
) -> tuple[Snapshot, Evaluation | None, datetime]:
    as_of = parse_as_of(payload.get("as_of"))
    config = read_optional_config(payload.get("config") or runtime.settings.config)
    snap = snapshot_at(runtime, as_of)
    return snap, _evaluation(runtime, config, as_of), as_of


@service("users")
def users_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """``{as_of?, config?}`` -> the users JSON of interfaces.md."""
    return users_json(*_inputs(runtime, payload))


@service("accounts")
def accounts_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """``{as_of?, config?}`` -> the accounts JSON of interfaces.md."""
    return accounts_json(*_inputs(runtime, payload))
