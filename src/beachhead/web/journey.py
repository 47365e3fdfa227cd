"""``/journey``: the board of journey stages with account cards, and moves between stages.

Thin: ``beachhead.journey_service.board`` gathers the columns (exact counts, capped cards)
and the moves of the chosen period; filters by team and owner are query parameters, so a
filtered board is a link that can be shared.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from beachhead.journey_service import UNSTAGED, board
from beachhead.web import deps
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)
PERIODS = (7, 30, 90)


@router.get("/journey", response_class=HTMLResponse)
def journey(
    request: Request,
    team: str = "",
    owner: str = "",
    days: int = 30,
    expand: str = "",
    user: deps.User = Depends(deps.current_user),
) -> HTMLResponse:
    rt, config = deps.runtime(request), deps.config(request)
    days = days if days in PERIODS else 30
    b = board(rt, config, team or None, owner or None, days, expand=expand or None)
    names = {c.key: c.name for c in b.columns}
    peak = max((m.count for m in b.moves), default=0)

    def link(**changes: str | int) -> str:
        params = {"team": team, "owner": owner, "days": days, **changes}
        return "/journey?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})

    ctx = {
        "b": b,
        "team": team,
        "owner": owner,
        "days": days,
        "periods": PERIODS,
        "expand": expand,
        "names": names,
        "unstaged": UNSTAGED,
        "peak": peak,
        "link": link,
    }
    return render(request, "journey.html", ctx, user=user)
