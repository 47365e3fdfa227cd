"""The inbox: qualifications by scope (mine, my team, all), filtered, sorted, paged, acted on.

Shared by the pages here and the JSON API (``web/api.py``): ``Filters`` (the query
parameters), ``build_query`` (filters + who is asking -> the store's ``InboxQuery``, with
the visibility rule inside it), and ``act`` (a rep action through the lifecycle service,
after the same visibility rule and the role rule for reassigning).

Access rules (tested role by role in tests/integration/test_web_access.py and
tests/integration/test_web_rep_permissions.py; ``refusal`` decides, the pages hide what
it refuses):
- a rep sees qualifications assigned to them or in their team's queue, never another
  team's; "all" needs the manager role;
- claim and working need a rep of the definitions (a rep of some team in beachhead.yml),
  whatever the role: work is never assigned to someone no rep's inbox shows;
- a rep (role) marks won, disqualifies (with a reason) or starts working only on what is
  theirs: assigned to them, or unassigned in their queue when they are a rep of the
  definitions (what claiming would give them anyway); never a teammate's;
- managers and admins see every team, may reassign, mark won and disqualify any row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from beachhead.qualify import lifecycle as lc
from beachhead.rules.model import Config, Motion, Touch
from beachhead.store.app_users import AppUser
from beachhead.store.inbox import (
    BANDS,
    SORTS,
    BadCursor,
    InboxPage,
    InboxQuery,
    InboxStore,
    Visibility,
    spellings,
)
from beachhead.store.qualifications import QualificationStore
from beachhead.store.saved_views import SavedView, SavedViewStore
from beachhead.web import deps
from beachhead.web.alerts_worker import deliver_soon
from beachhead.web.auth import safe_next
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)

SCOPES = ("mine", "team", "all")
ACTIONS = ("claim", "working", "won", "disqualify", "reassign")
PAGE_SIZE = 50
DONE = {
    "claim": "Claimed.",
    "working": "Marked as being worked.",
    "won": "Marked won.",
    "disqualify": "Disqualified.",
    "reassign": "Reassigned.",
    "saved": "View saved.",
    "deleted": "View deleted.",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """The inbox's query parameters (empty string: not filtered)."""

    scope: str = ""
    pql: str = ""
    motion: str = ""
    touch: str = ""
    team: str = ""
    stage: str = ""
    status: str = "open"
    sort: str = "priority"
    score: str = ""  # a score key (beachhead.yml ``scores``): shown, filtered by band, sorted by
    band: str = ""
    after: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Filters from query parameters; a value outside its choices is a 422."""
        f = cls(**{k: str(params.get(k, "") or "") for k in cls.__dataclass_fields__})
        if not f.status:
            f = cls(**{**asdict(f), "status": "open"})
        if not f.sort:
            f = cls(**{**asdict(f), "sort": "priority"})
        checks = {
            "scope": ("", *SCOPES),
            "sort": SORTS,
            "status": ("open", "all", *lc.STATUSES),
            "touch": ("", *(t.value for t in Touch)),
            "motion": ("", *(m.value for m in Motion)),
            "band": ("", *BANDS),
        }
        for name, choices in checks.items():
            value = getattr(f, name)
            if value not in choices:
                raise HTTPException(
                    422, f"{name} must be one of {', '.join(c for c in choices if c)}"
                )
        if not f.score and (f.band or f.sort == "score"):
            raise HTTPException(422, "band and sort=score need a score")
        return f

    def params(self, **changes: str) -> dict[str, str]:
        """The parameters that differ from the defaults, with ``changes`` applied (links)."""
        merged = {**asdict(self), **changes}
        defaults = {"status": "open", "sort": "priority"}
        return {k: v for k, v in merged.items() if v and defaults.get(k) != v}

    def url(self, **changes: str) -> str:
        p = self.params(**changes)
        return "/inbox" + (f"?{urlencode(p)}" if p else "")


def default_scope(user: AppUser) -> str:
    return "all" if user.can("manager") else "mine"


def config_reps(config: Config) -> list[str]:
    return [r.email for t in config.teams for r in t.reps]


def rep_name(config: Config, email: str) -> str:
    """The user's email as beachhead.yml spells it (routing counts load by that spelling)."""
    found = config.rep(email)
    return email if found is None else found[1].email


def visibility(user: AppUser, config: Config) -> Visibility:
    if user.can("manager"):
        return Visibility(everything=True)
    return Visibility(False, spellings(user.email, config_reps(config)), user.team)


def check_score(config: Config, f: Filters) -> None:
    """A named score must be one of beachhead.yml's ``scores`` (else a 422)."""
    if f.score and f.score not in config.scores:
        known = ", ".join(config.scores) or "none defined"
        raise HTTPException(422, f"score must be one of the defined scores ({known})")


def build_query(user: AppUser, config: Config, f: Filters, limit: int = PAGE_SIZE) -> InboxQuery:
    check_score(config, f)
    scope = f.scope or default_scope(user)
    if scope == "all" and not user.can("manager"):
        raise HTTPException(403, "seeing every team's qualifications needs the manager role")
    if f.team and not user.can("manager") and f.team != user.team:
        raise HTTPException(403, "another team's queue needs the manager role")
    pqls: set[str] | None = None
    if f.pql:
        pqls = {f.pql}
    if f.motion:
        of_motion = {p.key for p in config.pqls if p.motion.value == f.motion}
        pqls = of_motion if pqls is None else pqls & of_motion
    team = f.team or None
    reps: tuple[str, ...] | None = None
    if scope == "mine":
        reps = spellings(user.email, config_reps(config))
    elif scope == "team":
        team = team or user.team
        if team is None:  # no team: an empty queue, not everyone's
            pqls = set()
    return InboxQuery(
        visibility=visibility(user, config),
        reps=reps,
        team=team,
        pqls=None if pqls is None else tuple(sorted(pqls)),
        touch=f.touch or None,
        stage=f.stage or None,
        status=f.status,
        sort=f.sort,
        after=f.after or None,
        limit=limit,
        score=f.score or None,
        band=f.band or None,
    )


def load_page(request: Request, user: AppUser, f: Filters, limit: int = PAGE_SIZE) -> InboxPage:
    config = deps.config(request)
    query = build_query(user, config, f, limit)
    try:
        return InboxStore(deps.state(request)).page(query, [p.key for p in config.pqls])
    except BadCursor as exc:
        raise HTTPException(422, str(exc)) from exc


def visible(request: Request, user: AppUser, qualification_id: str) -> lc.Qualification:
    q = InboxStore(deps.state(request)).get(
        qualification_id, visibility(user, deps.config(request))
    )
    if q is None:  # not there, or not yours to see: the same answer
        raise HTTPException(404, f"no qualification {qualification_id!r}")
    return q


def _is_rep(user: AppUser, config: Config) -> bool:
    return config.rep(user.email) is not None


def refusal(user: AppUser, config: Config, q: lc.Qualification, action: str) -> str | None:
    """Why ``user`` may not run ``action`` on ``q`` (a row they can see), or None.

    The role and the rep rule only: whether the status allows it is the lifecycle's
    (a 409), e.g. claiming what is already assigned."""
    if action == "reassign":
        return None if user.can("manager") else "reassigning needs the manager role"
    is_rep = _is_rep(user, config)
    if action in ("claim", "working") and not is_rep:
        what = "claiming" if action == "claim" else "starting work on a qualification"
        return f"{what} needs a rep of the definitions; {user.email} is not a rep of any team"
    if user.can("manager"):
        return None
    if q.rep is not None and q.rep.lower() != user.email.lower():
        if action == "claim":
            return None  # the lifecycle's answer: already assigned (409)
        return f"qualification {q.id} is assigned to {q.rep}; only they or a manager may act on it"
    if q.rep is None and not is_rep:
        return f"{user.email} is not a rep of any team of the definitions, so cannot take this work"
    return None


REASON_MAX = 2000  # characters of a disqualify reason


def act(
    request: Request,
    user: AppUser,
    qualification_id: str,
    action: str,
    reason: str = "",
    rep: str = "",
    team: str = "",
) -> lc.Qualification:
    """Run one rep action for ``user``: 404 unseen, 403 not allowed, 409 refused."""
    from beachhead import lifecycle_service as svc

    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    if len(reason) > REASON_MAX:  # the form's and the API's one limit (a 20 MB reason was kept)
        raise HTTPException(422, f"a reason is at most {REASON_MAX:,} characters")
    if "\x00" in reason + rep + team:
        raise HTTPException(422, "a reason, rep or team contains a NUL character")
    q = visible(request, user, qualification_id)
    config = deps.config_strict(request)
    why = refusal(user, config, q, action)
    if why is not None:
        raise HTTPException(403, why)
    state = deps.state(request)
    actor = rep_name(config, user.email)
    try:
        if action == "claim":
            q = svc.claim(state, config, qualification_id, actor)
        elif action == "working":
            q = svc.start_working(state, config, qualification_id, actor)
        elif action == "won":
            q = svc.mark_won(state, config, qualification_id, actor)
        elif action == "disqualify":
            q = svc.disqualify(state, config, qualification_id, actor, reason)
        else:
            q = svc.reassign(
                state, config, qualification_id, actor, rep=rep or None, team=team or None
            )
    except lc.LifecycleError as exc:
        raise HTTPException(409, str(exc)) from exc
    deliver_soon(request.app)  # its alerts (assigned, status changed) go now
    return q


def row_scores(
    scores: Mapping[str, tuple[float, str | None]], chosen: str = ""
) -> list[dict[str, Any]]:
    """A row's scores for display: the chosen one only, else all, by key."""
    keys = [chosen] if chosen else sorted(scores)
    return [
        {"key": k, "points": _num(scores[k][0]), "band": scores[k][1]} for k in keys if k in scores
    ]


def _num(points: float) -> float | int:
    return int(points) if float(points).is_integer() else points


def evidence_sentences(q: lc.Qualification) -> list[dict[str, Any]]:
    return [
        {"sentence": e.get("sentence") or e.get("path"), "held": e.get("held", True)}
        for e in q.evidence
    ]


def _choices(config: Config) -> dict[str, Any]:
    return {
        "pqls": [(p.key, p.name) for p in config.pqls],
        "motions": [m.value for m in Motion],
        "touches": [t.value for t in Touch],
        "teams": [(t.key, t.name or t.key) for t in config.teams],
        "stages": [(s.key, s.name) for s in config.stages],
        "statuses": ["open", *lc.STATUSES, "all"],
        "sorts": list(SORTS),
        "scores": [(k, sc.name or k) for k, sc in config.scores.items()],
        "bands": list(BANDS),
        "reps": config_reps(config),
    }


def _may(user: AppUser, config: Config) -> Callable[[lc.Qualification, str], bool]:
    """For the templates: whether ``user`` may run an action on a row (buttons shown)."""
    return lambda q, action: refusal(user, config, q, action) is None


def _views(request: Request, user: AppUser) -> list[SavedView]:
    return SavedViewStore(deps.state(request)).visible(user.id, user.team)


def form_score(params: dict[str, str], config: Config) -> dict[str, str]:
    """The filter form offers a band and the score sort next to a score select whose
    default is "all": a band or sort=score sent without a score means the first defined
    score (with bands, for a band), which the form then shows as chosen."""
    if params.get("score") or not (params.get("band") or params.get("sort") == "score"):
        return params
    banded = [k for k, sc in config.scores.items() if sc.bands is not None]
    chosen = (banded if params.get("band") else []) or list(config.scores)
    return {**params, "score": chosen[0]} if chosen else params


@router.get("/inbox")
def inbox(request: Request, user: AppUser = Depends(deps.current_user)) -> Response:
    params = dict(request.query_params)
    view_id = params.pop("view", "")
    if view_id.isascii() and view_id.isdigit():  # '²' is a digit to str.isdigit
        view = SavedViewStore(deps.state(request)).get(int(view_id), user.id, user.team)
        if view is None:
            raise HTTPException(404, "no such saved view")
        params = {**view.params, **{k: v for k, v in params.items() if k == "after"}}
    config, config_error = deps.config_or_error(request)
    f = Filters.from_params(form_score(params, config))
    page = load_page(request, user, f)
    ok = request.query_params.get("ok", "")
    return render(
        request,
        "inbox.html",
        {
            "f": f,
            "scope": f.scope or default_scope(user),
            "scopes": [s for s in SCOPES if s != "all" or user.can("manager")],
            "page": page,
            "rows": [
                {
                    "q": q,
                    "evidence": evidence_sentences(q),
                    "stage": page.stages.get(q.account_id or ""),
                    "scores": row_scores(page.scores.get(q.id, {}), f.score),
                    "others": page.others.get(q.id, []),
                }
                for q in page.rows
            ],
            "pql_names": {p.key: p.name for p in config.pqls},
            "choices": _choices(config),
            "views": _views(request, user),
            "may": _may(user, config),
            "back": f.url(scope=f.scope or default_scope(user)),
            "flash": DONE.get(ok),
            "config_error": config_error,
        },
        user=user,
    )


@router.get("/inbox/q/{qualification_id}")
def detail(
    request: Request, qualification_id: str, user: AppUser = Depends(deps.current_user)
) -> Response:
    return _detail(request, user, qualification_id, DONE.get(request.query_params.get("ok", "")))


def _detail(
    request: Request,
    user: AppUser,
    qualification_id: str,
    flash: str | None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    q = visible(request, user, qualification_id)
    config = deps.config(request)
    history = QualificationStore(deps.state(request)).history(q.id)
    stage = InboxStore(deps.state(request)).stage_of([q.account_id]) if q.account_id else {}
    return render(
        request,
        "inbox_detail.html",
        {
            "q": q,
            "evidence": evidence_sentences(q),
            "history": history,
            "stage": stage.get(q.account_id or ""),
            "pql_name": {p.key: p.name for p in config.pqls}.get(q.pql, q.pql),
            "choices": _choices(config),
            "may": _may(user, config),
            "back": safe_next(request.query_params.get("back") or "/inbox"),
            "flash": error or flash,
            "flash_kind": "error" if error else "ok",
        },
        user=user,
        status_code=status,
    )


@router.post("/inbox/q/{qualification_id}/{action}")
def action(
    request: Request,
    qualification_id: str,
    action: str,
    reason: str = Form(""),
    rep: str = Form(""),
    team: str = Form(""),
    back: str = Form(""),
    user: AppUser = Depends(deps.csrf_user),
) -> Response:
    try:
        act(request, user, qualification_id, action, reason, rep, team)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        return _detail(request, user, qualification_id, None, str(exc.detail), 409)
    target = safe_next(back or f"/inbox/q/{qualification_id}")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}ok={action}", status_code=303)


@router.post("/inbox/views")
def save_view(
    request: Request,
    name: str = Form(...),
    query: str = Form(""),
    shared: str = Form(""),
    user: AppUser = Depends(deps.csrf_user),
) -> Response:
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(query.lstrip("?")))
    params.pop("after", None)
    params.pop("ok", None)
    params.pop("view", None)
    f = Filters.from_params(params)
    build_query(user, deps.config(request), f)  # a view its owner cannot open is refused
    if shared and not user.team:
        raise HTTPException(422, "sharing a view needs a team (users-admin set-team)")
    try:
        SavedViewStore(deps.state(request)).save(
            user.id, name, f.params(), user.team if shared else None
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return RedirectResponse(f.url(ok="saved"), status_code=303)


@router.post("/inbox/views/{view_id}/delete")
def delete_view(
    request: Request, view_id: int, user: AppUser = Depends(deps.csrf_user)
) -> Response:
    if not SavedViewStore(deps.state(request)).delete(view_id, user.id):
        raise HTTPException(404, "no saved view of yours with that id")
    return RedirectResponse("/inbox?ok=deleted", status_code=303)
