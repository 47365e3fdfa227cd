"""``/users`` (a searchable list) and ``/users/<id>``: one person's view.

Thin, like ``accounts_pages``: data from ``beachhead.entity_pages``, chart from ``charts``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from beachhead.directory import directory
from beachhead.entity_pages import NotFound, clamp_page, pages_of, user_page, user_rows
from beachhead.web import deps
from beachhead.web.charts import activity_chart
from beachhead.web.inbox import visibility
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)


@router.get("/users", response_class=HTMLResponse)
def users(
    request: Request, q: str = "", page: int = 1, user: deps.User = Depends(deps.current_user)
) -> HTMLResponse:
    rt, config = deps.runtime(request), deps.config(request)
    rows, total = user_rows(directory(rt, config), q, page)
    pages = pages_of(total)
    ctx = {"rows": rows, "total": total, "q": q, "page": clamp_page(page, total), "pages": pages}
    return render(request, "user_list.html", ctx, user=user)


@router.get("/users/{user_id:path}", response_class=HTMLResponse)
def person(
    request: Request,
    user_id: str,
    page: int = 1,
    user: deps.User = Depends(deps.current_user),
) -> HTMLResponse:
    rt, config = deps.runtime(request), deps.config(request)
    try:
        seen = visibility(user, config)  # the inbox's rule: a rep sees their team's only
        p = user_page(rt, config, user_id, page, visibility=seen)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    chart = activity_chart(p.activity, f"Activity of {p.name}, last 90 days")
    return render(request, "user.html", {"p": p, "chart": chart}, user=user)
