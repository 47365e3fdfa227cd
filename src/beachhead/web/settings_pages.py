"""Settings: write keys, teams and reps (away), alert targets with "send test", app users.

The operations live here as plain functions with pydantic shapes, used by the page
(``/settings``) and by the JSON API (``web/api.py``) alike.

Who may do what: managers see teams and mark any rep away or back; a rep may mark only
themself (API ``PUT /api/v1/reps/{email}/away``); keys, alerts and the list of app users
need the admin role. Teams and reps come from beachhead.yml; only "away" is kept in the
state store (``rep_away``), and ``deps.config`` applies it, so every action taken through
the app routes around away reps. A "send test" posts a sample qualification to the
alert's targets now, the same way delivery does (signed webhook, Slack blocks), and shows
the answer; nothing goes through the outbox.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import orjson
from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from beachhead.alerts import slack, webhook
from beachhead.alerts.deliver import DeliveryError
from beachhead.alerts.deliver import Request as Delivery
from beachhead.alerts.deliver import send as deliver_send
from beachhead.alerts.events import AlertEvent
from beachhead.alerts.settings import AlertSettings
from beachhead.rules.model import Config, MissingEnvVar, resolve_env
from beachhead.store.app_users import AppUser, AppUserStore
from beachhead.store.state import StateStore
from beachhead.web import deps
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)


class RepOut(BaseModel):
    email: str
    name: str | None
    team: str
    away: bool


class TeamOut(BaseModel):
    key: str
    name: str | None
    assign: str
    capacity: int | None
    reps: list[RepOut]


class AwayIn(BaseModel):
    away: bool


class KeyOut(BaseModel):
    prefix: str = Field(description="the key's first characters (the key is never shown again)")
    name: str
    created_at: datetime
    revoked_at: datetime | None


class KeyIn(BaseModel):
    name: str | None = Field(None, max_length=200)


class KeyCreated(BaseModel):
    key: str = Field(description="the new key: shown only this once")
    name: str


class AlertTargetOut(BaseModel):
    index: int
    name: str | None
    on: str
    pqls: list[str] | None
    touch: list[str] | None
    targets: list[str] = Field(description="slack and/or webhook")
    bundle: str | None


class TargetResult(BaseModel):
    target: str
    ok: bool
    status_code: int | None
    error: str | None


class TestResult(BaseModel):
    results: list[TargetResult]


# --------------------------------------------------------------------------- operations


def teams(config: Config) -> list[TeamOut]:
    return [
        TeamOut(
            key=t.key,
            name=t.name,
            assign=t.assign.value,
            capacity=t.capacity,
            reps=[RepOut(email=r.email, name=r.name, team=t.key, away=r.away) for r in t.reps],
        )
        for t in config.teams
    ]


def set_away(request: Request, user: AppUser, email: str, away: bool) -> RepOut:
    """Mark a rep of the definitions away (or back): managers for anyone, reps for themself."""
    config = deps.config_strict(request)
    found = config.rep(email)
    if found is None:
        raise HTTPException(404, f"no rep {email} in the definitions")
    if not user.can("manager") and email.lower() != user.email.lower():
        raise HTTPException(403, "marking another rep away needs the manager role")
    AppUserStore(deps.state(request)).set_away(email, away, user.email)
    team, rep = found
    return RepOut(email=rep.email, name=rep.name, team=team.key, away=away)


def keys(state: StateStore) -> list[KeyOut]:
    return [
        KeyOut(prefix=k.prefix, name=k.name, created_at=k.created_at, revoked_at=k.revoked_at)
        for k in state.list_keys()
    ]


def alert_targets(config: Config) -> list[AlertTargetOut]:
    return [
        AlertTargetOut(
            index=i,
            name=a.name,
            on=str(a.on),
            pqls=list(a.pqls) if a.pqls is not None else None,
            touch=[str(t) for t in a.touch] if a.touch is not None else None,
            targets=[k for k, v in (("slack", a.slack), ("webhook", a.webhook)) if v is not None],
            bundle=a.bundle.text if a.bundle is not None else None,
        )
        for i, a in enumerate(config.alerts)
    ]


def sample_event() -> AlertEvent:
    now = datetime.now(UTC).replace(microsecond=0)
    return AlertEvent(
        type="qualified",
        occurred_at=now,
        qualification={
            "id": "test",
            "pql": "test",
            "level": "account",
            "entity_id": "test-account",
            "account_id": "test-account",
            "priority": 0,
            "status": "new",
            "is_new": True,
            "qualified_at": now.isoformat().replace("+00:00", "Z"),
            "touch": "high",
            "team": None,
            "rep": None,
            "evidence": [
                {
                    "path": "when",
                    "held": True,
                    "value": None,
                    "sentence": "This is a test message from Beachhead settings",
                }
            ],
        },
    )


def send_test(config: Config, index: int, client: httpx.Client | None = None) -> TestResult:
    """POST a sample qualification to each target of ``alerts[index]`` now."""
    if not 0 <= index < len(config.alerts):
        raise HTTPException(404, f"no alert {index}")
    alert = config.alerts[index]
    settings = AlertSettings()
    event = sample_event().to_dict()
    event_id = "test_" + uuid.uuid4().hex
    requests: list[tuple[str, Delivery | str]] = []
    try:
        if alert.slack is not None:
            body = orjson.dumps(slack.event_payload(event, settings.public_url))
            hdrs = {"Content-Type": "application/json", webhook.EVENT_ID_HEADER: event_id}
            requests.append(("slack", Delivery(resolve_env(alert.slack.webhook_url), body, hdrs)))
    except MissingEnvVar as exc:
        requests.append(("slack", str(exc)))
    try:
        if alert.webhook is not None:
            secret = resolve_env(alert.webhook.secret) if alert.webhook.secret else None
            data = webhook.encode(webhook.event_body(event, event_id))
            requests.append(
                (
                    "webhook",
                    Delivery(
                        resolve_env(alert.webhook.url),
                        data,
                        webhook.headers(event_id, data, secret),
                    ),
                )
            )
    except MissingEnvVar as exc:
        requests.append(("webhook", str(exc)))
    results: list[TargetResult] = []
    own = client is None
    http = client or httpx.Client(timeout=settings.alert_timeout.total_seconds())
    try:
        for name, req in requests:
            if isinstance(req, str):
                results.append(TargetResult(target=name, ok=False, status_code=None, error=req))
                continue
            try:
                code = deliver_send(http, req)
                results.append(TargetResult(target=name, ok=True, status_code=code, error=None))
            except DeliveryError as exc:
                results.append(
                    TargetResult(
                        target=name,
                        ok=False,
                        status_code=exc.status,
                        error=str(exc),
                    )
                )
    finally:
        if own:
            http.close()
    return TestResult(results=results)


# --------------------------------------------------------------------------- the page

FLASH = {
    "away": "Saved.",
    "revoked": "Write key revoked.",
    "key": "Write key created.",
}


class NewKeys:
    """New write keys waiting to be shown once, after the form's redirect (Post/Redirect/Get:
    reloading the page shows the settings again, it creates no second key). The redirect
    carries a random one-time token, never the key; the token is good once, for the admin
    who made the key, for ``ttl`` seconds. In memory: one server process serves the app."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[int, KeyCreated, float]] = {}

    def put(self, user: AppUser, created: KeyCreated) -> str:
        token = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            self._waiting = {t: v for t, v in self._waiting.items() if v[2] > now}
            self._waiting[token] = (user.id, created, now + self.ttl)
        return token

    def take(self, user: AppUser, token: str) -> KeyCreated | None:
        with self._lock:
            found = self._waiting.get(token)
            if found is None or found[0] != user.id:
                return None
            del self._waiting[token]
        return found[1] if found[2] > time.monotonic() else None


async def startup(app: FastAPI) -> None:
    app.state.new_keys = NewKeys()


def new_keys(request: Request) -> NewKeys:
    found: NewKeys = request.app.state.new_keys
    return found


def _page(
    request: Request,
    user: AppUser,
    flash: str | None = None,
    new_key: KeyCreated | None = None,
    test: tuple[int, TestResult] | None = None,
    status: int = 200,
) -> Response:
    config, config_error = deps.config_or_error(request)
    state = deps.state(request)
    return render(
        request,
        "settings.html",
        {
            "teams": teams(config),
            "keys": keys(state) if user.can("admin") else [],
            "alerts": alert_targets(config) if user.can("admin") else [],
            "app_users": AppUserStore(state).list() if user.can("admin") else [],
            "new_key": new_key,
            "test": test,
            "flash": flash,
            "config_error": config_error,
        },
        user=user,
        status_code=status,
    )


@router.get("/settings")
def settings_page(request: Request, user: AppUser = Depends(deps.manager_user)) -> Response:
    ok, token = request.query_params.get("ok", ""), request.query_params.get("new", "")
    new_key = new_keys(request).take(user, token) if token and user.can("admin") else None
    flash = FLASH.get(ok)
    if ok == "key" and new_key is None:  # a reload: the key was shown once already
        flash = (
            "Write key created; it was shown only once "
            "(revoke it and create another if it was not copied)."
        )
    response = _page(request, user, flash, new_key=new_key)
    if new_key is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/reps/away")
def away_form(
    request: Request,
    email: str = Form(...),
    away: str = Form(""),
    user: AppUser = Depends(deps.manager_csrf),
) -> Response:
    set_away(request, user, email, away == "1")
    return RedirectResponse("/settings?ok=away#teams", status_code=303)


@router.post("/settings/keys")
def create_key_form(
    request: Request, name: str = Form(""), user: AppUser = Depends(deps.admin_csrf)
) -> Response:
    try:
        key, label = deps.state(request).create_key(name.strip() or None)
    except ValueError as exc:  # too long, a NUL: the API's limits, on the form too
        raise HTTPException(422, str(exc)) from exc
    token = new_keys(request).put(user, KeyCreated(key=key, name=label))
    return RedirectResponse(f"/settings?ok=key&new={token}#keys", status_code=303)


@router.post("/settings/keys/{prefix}/revoke")
def revoke_key_form(
    request: Request, prefix: str, user: AppUser = Depends(deps.admin_csrf)
) -> Response:
    if not AppUserStore(deps.state(request)).revoke_key_prefix(prefix):
        raise HTTPException(404, "no active write key with that prefix")
    return RedirectResponse("/settings?ok=revoked#keys", status_code=303)


@router.post("/settings/alerts/{index}/test")
def test_alert_form(
    request: Request, index: int, user: AppUser = Depends(deps.admin_csrf)
) -> Response:
    result = send_test(deps.config_strict(request), index)
    return _page(request, user, None, test=(index, result))
