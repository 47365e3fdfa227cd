"""``/accounts`` (a searchable list) and ``/accounts/<id>``: the account (PQA) view.

Thin: the data is gathered by ``beachhead.entity_pages``; this module checks the signed-in
user, renders the template and draws the activity chart.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from beachhead.directory import directory
from beachhead.entity_pages import (
    NotFound,
    account_page,
    account_rows,
    clamp_page,
    pages_of,
    stage_names,
)
from beachhead.web import deps
from beachhead.web.charts import activity_chart
from beachhead.web.inbox import visibility
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request, q: str = "", page: int = 1, user: deps.User = Depends(deps.current_user)
) -> HTMLResponse:
    rt, config = deps.runtime(request), deps.config(request)
    rows, total = account_rows(directory(rt, config), config, q, page)
    pages = pages_of(total)
    ctx = {"rows": rows, "total": total, "q": q, "page": clamp_page(page, total), "pages": pages}
    return render(request, "account_list.html", ctx, user=user)


@router.get("/accounts/{account_id:path}", response_class=HTMLResponse)
def account(
    request: Request,
    account_id: str,
    page: int = 1,
    user: deps.User = Depends(deps.current_user),
) -> HTMLResponse:
    rt, config = deps.runtime(request), deps.config(request)
    try:
        seen = visibility(user, config)  # the inbox's rule: a rep sees their team's only
        p = account_page(rt, config, account_id, page, visibility=seen)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    ctx = {
        "p": p,
        "names": stage_names(config),
        "chart": activity_chart(p.activity, f"Activity of {p.name}, last 90 days"),
    }
    return render(request, "account.html", ctx, user=user)
