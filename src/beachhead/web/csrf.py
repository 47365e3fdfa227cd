"""CSRF protection: every state-changing request carries a token an attacker cannot read.

Signed in: the token is the session's own (random, stored with the session); forms send it
as the hidden field ``csrf_token``, scripts as the header ``X-CSRF-Token``. Before signing
in (the sign-in form itself) a double-submit cookie is used: a random ``bh_csrf`` cookie
whose value the form must repeat. Both are compared in constant time. Cookies are
``SameSite=Lax`` as a second line of defence, not the only one.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, Response

FIELD = "csrf_token"
HEADER = "x-csrf-token"
PRE_COOKIE = "bh_csrf"


async def sent_token(request: Request) -> str:
    """The token the request carries: the header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def verify(request: Request, expected: str) -> None:
    """403 unless the request carries ``expected``."""
    if not same(await sent_token(request), expected):
        raise HTTPException(403, "the form has expired or did not come from this site (CSRF)")


def pre_session_token(request: Request) -> str:
    """The sign-in form's token: the ``bh_csrf`` cookie's value, or a new one."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)


def set_pre_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRE_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=3600,
    )


async def verify_pre_session(request: Request) -> None:
    await verify(request, request.cookies.get(PRE_COOKIE, ""))
