"""``/definitions``: beachhead.yml with match counts; check, preview and save edits.

Everyone signed in sees the file and how many entities each definition matches now.
Admins edit it in a textarea (line numbers beside it) and send it with one of three
buttons, each a POST with the CSRF token:

- ``check``: the loader's diagnostics (the same as ``beachhead check``), listed and shown
  next to their line;
- ``preview``: a dry run of the edited file against the current one, per PQL
  (``definitions_service.preview``); nothing is recorded;
- ``save``: valid text only; the file is written atomically with the old one kept as
  ``beachhead.yml.bak``. A save is refused when the file changed since the form was
  opened (``base`` is the digest of the text the form started from).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from beachhead import definitions_service as ds
from beachhead.directory import directory
from beachhead.rules.load import Diagnostic
from beachhead.web import deps
from beachhead.web.layout import render

router = APIRouter(include_in_schema=False)
ACTIONS = ("check", "preview", "save")
NOT_DONE = {"check": "evaluated", "preview": "evaluated", "save": "saved"}
CHANGED = (
    "The file changed since you opened it; reload the page to start from the new version "
    "(your text is below)."
)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _lines(text: str, diags: list[Diagnostic]) -> list[dict[str, Any]]:
    """Each line of ``text`` with the diagnostics that point at it."""
    by_line: dict[int, list[Diagnostic]] = {}
    for d in diags:
        by_line.setdefault(d.line, []).append(d)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = [{"n": i, "text": line, "diags": by_line.pop(i, [])} for i, line in enumerate(lines, 1)]
    for n in sorted(by_line):  # beyond the end (e.g. an unexpected end of file)
        out.append({"n": n, "text": "", "diags": by_line[n]})
    return out


def _page(
    request: Request,
    user: deps.User,
    text: str,
    base: str,
    diags: list[Diagnostic] | None = None,
    preview: ds.Preview | None = None,
    flash: str | None = None,
    flash_kind: str = "ok",
    checked: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    rt = deps.runtime(request)
    config, error = deps.config_or_error(request)
    d = directory(rt, config) if error is None else None
    path = Path(rt.settings.config)
    ctx = {
        "path": str(path),
        "counts": ds.match_counts(config, d.evaluation if d else None),
        "as_of": d.as_of if d else None,
        "load_error": error,
        "text": text,
        "base": base,
        "lines": _lines(text, diags or []),
        "diags": diags or [],
        "preview": preview,
        "checked": checked,
        "can_edit": user.can("admin"),
        "rows": text.count("\n") + 3,
        "flash": flash,
        "flash_kind": flash_kind,
    }
    return render(request, "definitions.html", ctx, user=user, status_code=status_code)


@router.get("/definitions", response_class=HTMLResponse)
def definitions(
    request: Request, saved: int = 0, user: deps.User = Depends(deps.current_user)
) -> HTMLResponse:
    path = Path(deps.runtime(request).settings.config)
    text = _read(path)
    flash = f"Saved. The previous file is kept as {ds.backup_path(path).name}." if saved else None
    return _page(request, user, text, digest(text), flash=flash)


def _missing(
    request: Request, user: deps.User, text: str, base: str, what: str, action: str
) -> Response:
    """A request that lacks a field of this page's form: 422, nothing done."""
    return _page(
        request,
        user,
        text,
        base,
        flash=f"The form sent no {what}: nothing was {NOT_DONE[action]}.",
        flash_kind="error",
        status_code=422,
    )


@router.post("/definitions", response_class=HTMLResponse)
def submit(
    request: Request,
    text: str | None = Form(None),
    action: str = Form("check"),
    base: str = Form(""),
    user: deps.User = Depends(deps.admin_csrf),
) -> Response:
    rt = deps.runtime(request)
    path = Path(rt.settings.config)
    action = action if action in ACTIONS else "check"
    if text is None:  # not this page's form: an absent text would save an empty file
        on_disk = _read(path)
        return _missing(request, user, on_disk, digest(on_disk), "text", action)
    text = text.replace("\r\n", "\n")
    edited, diags = ds.validate(text, str(path))
    if diags:
        n = len(diags)
        return _page(
            request,
            user,
            text,
            base,
            diags,
            flash=f"{n} error{'s' if n != 1 else ''}: nothing was {NOT_DONE[action]}.",
            flash_kind="error",
            status_code=422,
        )
    assert edited is not None
    if action == "save":
        if not base:  # without it, whatever changed since would be overwritten
            return _missing(request, user, text, base, "base (the file it started from)", action)
        if base != digest(_read(path)):
            return _page(
                request,
                user,
                text,
                base,
                flash=CHANGED,
                flash_kind="error",
                status_code=409,
            )
        ds.save(path, text)
        return RedirectResponse("/definitions?saved=1", status_code=303)
    if action == "preview":
        current = deps.config(request)
        preview = ds.preview(rt, current, edited)
        return _page(request, user, text, base, preview=preview, checked=True)
    return _page(request, user, text, base, checked=True, flash="No errors.")
