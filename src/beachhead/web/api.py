"""The JSON API under ``/api/v1``: the inbox, rep actions, saved views, teams, keys, alerts.

Authentication is the web app's session cookie (sign in at ``/signin``); every write also
needs the session's CSRF token in ``X-CSRF-Token`` (``GET /api/v1/me`` returns it), so a
page on another site cannot make a signed-in browser act. The same role rules as the
pages apply (see ``web/inbox.py``). Every route declares its response model, so
``/openapi.json`` documents what the app answers; errors are ``{"detail": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from beachhead.qualify import lifecycle as lc
from beachhead.store.app_users import AppUser, AppUserStore
from beachhead.store.inbox import Other
from beachhead.store.qualifications import QualificationStore
from beachhead.store.saved_views import SavedView, SavedViewStore
from beachhead.web import deps, inbox
from beachhead.web import settings_pages as ops

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "The role is not enough, or the CSRF token is missing or wrong"},
    404: {"description": "Not there, or not visible to this user"},
    422: {"description": "A parameter or body field is not valid"},
}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=ERRORS)
BODY_MAX = 1 << 20  # bytes of a request body to /api/ (the largest field, a reason, is 2,000)

_TOO_LARGE = orjson.dumps({"detail": f"the request body is larger than {BODY_MAX:,} bytes"})


class BodyLimit:
    """ASGI middleware: a request to ``/api/`` whose ``Content-Length`` is over
    ``BODY_MAX`` gets 413 before its body is read (FastAPI reads a body before it runs a
    route's dependencies, so a route cannot refuse it sooner). A plain ASGI class, not
    ``BaseHTTPMiddleware``: the ingest API's requests pass with one string test."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > BODY_MAX:
                    body = _TOO_LARGE
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)


asgi_middleware = (BodyLimit,)


# --------------------------------------------------------------------------- models


class Me(BaseModel):
    email: str
    role: str = Field(description="admin, manager or rep")
    team: str | None
    csrf_token: str = Field(description="Send as X-CSRF-Token on every write")


class Evidence(BaseModel):
    path: str | None = None
    held: bool | None = None
    value: Any = None
    sentence: str | None = None


class ScoreOut(BaseModel):
    points: float
    band: str | None = Field(None, description="high, medium or low; null without bands")


class OtherOut(BaseModel):
    """Another open qualification of the same entity (the inbox lists it beside)."""

    id: str
    pql: str
    priority: int
    status: str
    rep: str | None


class QualificationOut(BaseModel):
    """A qualification in the shape of ``evaluate --format json``, plus its current stage."""

    id: str
    pql: str
    level: str
    entity_id: str
    account_id: str | None
    priority: int
    status: str
    qualified_at: datetime
    closed_at: datetime | None
    touch: str
    team: str | None
    rep: str | None
    stage: str | None = Field(None, description="the account's current journey stage")
    scores: dict[str, ScoreOut] = Field(
        default_factory=dict,
        description="the entity's scores at the latest recorded evaluation (a user's PQL: "
        "the user's and its account's account-level scores)",
    )
    evidence: list[Evidence]
    others: list[OtherOut] = Field(
        default_factory=list,
        description="in the inbox: the entity's other open qualifications you may see, "
        "highest priority first (ties by PQL key)",
    )


class QualificationPage(BaseModel):
    qualifications: list[QualificationOut]
    total: int = Field(description="rows matching the filters (every page), at most 1000")
    total_exact: bool = Field(description="false: more than `total` rows match")
    next_cursor: str | None = Field(description="pass as `after` for the next page")


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    status_from: str | None
    status_to: str
    team: str | None
    rep: str | None
    reason: str
    rule: str


class QualificationDetail(BaseModel):
    qualification: QualificationOut
    history: list[HistoryEntry]


class ActionIn(BaseModel):
    reason: str = Field("", description="why (required to disqualify)")
    rep: str | None = Field(None, description="reassign: to this rep")
    team: str | None = Field(None, description="reassign: to this team")


class ViewIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    params: dict[str, str] = Field(description="inbox filters: scope, pql, motion, ...")
    shared: bool = Field(False, description="share with your team")


class ViewOut(BaseModel):
    id: int
    name: str
    owner: str
    team: str | None
    params: dict[str, str]


class Deleted(BaseModel):
    deleted: bool


def qualification_out(
    q: lc.Qualification,
    stage: str | None = None,
    scores: Mapping[str, tuple[float, str | None]] | None = None,
    others: Sequence[Other] = (),
) -> QualificationOut:
    return QualificationOut(
        id=q.id,
        pql=q.pql,
        level=q.level,
        entity_id=q.entity_id,
        account_id=q.account_id,
        priority=q.priority,
        status=q.status,
        qualified_at=q.qualified_at,
        closed_at=q.closed_at,
        touch=q.touch,
        team=q.team,
        rep=q.rep,
        stage=stage,
        scores={k: ScoreOut(points=p, band=b) for k, (p, b) in (scores or {}).items()},
        evidence=[
            Evidence(**{k: e.get(k) for k in ("path", "held", "value", "sentence")})
            for e in q.evidence
        ],
        others=[
            OtherOut(id=o.id, pql=o.pql, priority=o.priority, status=o.status, rep=o.rep)
            for o in others
        ],
    )


def _view_out(v: SavedView) -> ViewOut:
    return ViewOut(id=v.id, name=v.name, owner=v.owner, team=v.team, params=v.params)


# --------------------------------------------------------------------------- me, inbox


@router.get("/me", response_model=Me, summary="The signed-in user and the CSRF token")
def me(user: AppUser = Depends(deps.current_user)) -> Me:
    return Me(email=user.email, role=user.role, team=user.team, csrf_token=user.csrf)


@router.get(
    "/qualifications",
    response_model=QualificationPage,
    summary="The inbox: filtered, sorted, one page at a time (keyset)",
)
def list_qualifications(
    request: Request,
    scope: str = Query("", description="mine, team or all (default: mine for reps, all above)"),
    pql: str = Query("", description="a PQL key"),
    motion: str = Query("", description="a motion: PQLs of that motion"),
    touch: str = Query("", description="none, low or high"),
    team: str = Query("", description="a team key"),
    stage: str = Query("", description="the account's current journey stage"),
    status: str = Query("open", description="open, all, or one lifecycle status"),
    sort: str = Query("priority", description="priority, recency or score (needs `score`)"),
    score: str = Query("", description="a score key: filter by `band`, sort by its points"),
    band: str = Query("", description="high, medium or low (needs `score`)"),
    after: str = Query("", description="the previous page's next_cursor"),
    limit: int = Query(50, ge=1, le=500),
    user: AppUser = Depends(deps.current_user),
) -> QualificationPage:
    f = inbox.Filters.from_params(
        {
            "scope": scope,
            "pql": pql,
            "motion": motion,
            "touch": touch,
            "team": team,
            "stage": stage,
            "status": status,
            "sort": sort,
            "score": score,
            "band": band,
            "after": after,
        }
    )
    page = inbox.load_page(request, user, f, limit)
    return QualificationPage(
        qualifications=[
            qualification_out(
                q,
                page.stages.get(q.account_id or ""),
                page.scores.get(q.id),
                page.others.get(q.id, ()),
            )
            for q in page.rows
        ],
        total=page.total,
        total_exact=page.total_exact,
        next_cursor=page.next_cursor,
    )


@router.get(
    "/qualifications/{qualification_id}",
    response_model=QualificationDetail,
    summary="One qualification with its evidence and history",
)
def get_qualification(
    request: Request, qualification_id: str, user: AppUser = Depends(deps.current_user)
) -> QualificationDetail:
    q = inbox.visible(request, user, qualification_id)
    store = QualificationStore(deps.state(request))
    history = store.history(q.id)
    return QualificationDetail(
        qualification=qualification_out(q, scores=store.scores_of([q.id]).get(q.id)),
        history=[
            HistoryEntry(
                at=c.at,
                actor=c.actor,
                status_from=c.status_from,
                status_to=c.status_to,
                team=c.team,
                rep=c.rep,
                reason=c.reason,
                rule=c.rule,
            )
            for c in history
        ],
    )


@router.post(
    "/qualifications/{qualification_id}/{action}",
    response_model=QualificationOut,
    summary="A rep action: claim, working, won, disqualify (with a reason), reassign",
    responses={409: {"description": "The lifecycle refuses this change (its reason)"}},
)
def act(
    request: Request,
    qualification_id: str,
    action: str,
    body: ActionIn | None = None,
    user: AppUser = Depends(deps.csrf_user),
) -> QualificationOut:
    b = body or ActionIn()
    q = inbox.act(request, user, qualification_id, action, b.reason, b.rep or "", b.team or "")
    return qualification_out(q)


# --------------------------------------------------------------------------- saved views


@router.get("/views", response_model=list[ViewOut], summary="Your views and your team's")
def list_views(request: Request, user: AppUser = Depends(deps.current_user)) -> list[ViewOut]:
    return [_view_out(v) for v in SavedViewStore(deps.state(request)).visible(user.id, user.team)]


@router.post("/views", response_model=ViewOut, status_code=201, summary="Save a view")
def save_view(request: Request, body: ViewIn, user: AppUser = Depends(deps.csrf_user)) -> ViewOut:
    f = inbox.Filters.from_params({k: v for k, v in body.params.items() if k != "after"})
    inbox.build_query(user, deps.config(request), f)  # a view its owner cannot open: 403
    if body.shared and not user.team:
        raise HTTPException(422, "sharing a view needs a team")
    try:
        view = SavedViewStore(deps.state(request)).save(
            user.id, body.name, f.params(), user.team if body.shared else None
        )
    except ValueError as exc:  # a blank name, a NUL (the form route answers the same)
        raise HTTPException(422, str(exc)) from exc
    return _view_out(view)


@router.delete("/views/{view_id}", response_model=Deleted, summary="Delete one of your views")
def delete_view(request: Request, view_id: int, user: AppUser = Depends(deps.csrf_user)) -> Deleted:
    if not SavedViewStore(deps.state(request)).delete(view_id, user.id):
        raise HTTPException(404, "no saved view of yours with that id")
    return Deleted(deleted=True)


# --------------------------------------------------------------------------- settings


@router.get("/teams", response_model=list[ops.TeamOut], summary="Teams and reps, with away")
def teams(request: Request, user: AppUser = Depends(deps.current_user)) -> list[ops.TeamOut]:
    return ops.teams(deps.config_strict(request))


@router.put("/reps/{email}/away", response_model=ops.RepOut, summary="Mark a rep away or back")
def set_away(
    request: Request, email: str, body: ops.AwayIn, user: AppUser = Depends(deps.csrf_user)
) -> ops.RepOut:
    return ops.set_away(request, user, email, body.away)


@router.get("/keys", response_model=list[ops.KeyOut], summary="Write keys (prefixes only)")
def keys(request: Request, user: AppUser = Depends(deps.admin_user)) -> list[ops.KeyOut]:
    return ops.keys(deps.state(request))


@router.post("/keys", response_model=ops.KeyCreated, status_code=201, summary="Create a write key")
def create_key(
    request: Request, body: ops.KeyIn, user: AppUser = Depends(deps.admin_csrf)
) -> ops.KeyCreated:
    try:
        key, name = deps.state(request).create_key(body.name or None)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return ops.KeyCreated(key=key, name=name)


@router.delete("/keys/{prefix}", response_model=Deleted, summary="Revoke a write key by prefix")
def revoke_key(request: Request, prefix: str, user: AppUser = Depends(deps.admin_csrf)) -> Deleted:
    if not AppUserStore(deps.state(request)).revoke_key_prefix(prefix):
        raise HTTPException(404, "no active write key with that prefix")
    return Deleted(deleted=True)


@router.get("/alerts", response_model=list[ops.AlertTargetOut], summary="Alert targets")
def alerts(request: Request, user: AppUser = Depends(deps.admin_user)) -> list[ops.AlertTargetOut]:
    return ops.alert_targets(deps.config_strict(request))


@router.post(
    "/alerts/{index}/test",
    response_model=ops.TestResult,
    summary="Send a test message to an alert's targets now",
)
def test_alert(
    request: Request, index: int, user: AppUser = Depends(deps.admin_csrf)
) -> ops.TestResult:
    return ops.send_test(deps.config_strict(request), index)
