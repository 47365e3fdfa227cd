"""The web app as a person uses it, in Chromium: sign in, the inbox, claiming and
disqualifying, the account view, the Journey board, a definitions edit with an error shown
inline; keyboard reach, visible focus and labelled fields on every page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from browser_support import ADMIN, Server, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""

FOCUS_STYLE = """() => { const el = document.activeElement; const s = getComputedStyle(el);
  return {tag: el.tagName, text: (el.textContent || '').trim().slice(0, 60),
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0}; }"""


def _tab_until(page: Any, pattern: str, limit: int = 80) -> dict[str, Any]:
    """Press Tab until the focused element's text matches ``pattern``; its focus style."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen: dict[str, Any] = page.evaluate(FOCUS_STYLE)
        if re.search(pattern, seen["text"]):
            return seen
    raise AssertionError(f"Tab never reached {pattern!r}")


def test_sign_in_lands_on_the_inbox(rep_page: Any, server: Server) -> None:
    page = rep_page
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Journey")
    shot(page, "inbox")
    assert page.evaluate(UNLABELLED) == []


def test_claim_and_disqualify_from_the_team_queue(rep_page: Any, server: Server) -> None:
    page = rep_page
    page.goto(f"{server.url}/inbox?scope=team")
    claim = page.get_by_role("button", name="Claim").first
    row = page.locator("tbody tr").filter(has=claim).first
    who = row.locator("a[data-row-link]").inner_text()
    claim.click()
    page.wait_for_load_state("domcontentloaded")
    page.goto(f"{server.url}/inbox?scope=mine")
    mine = page.locator("tbody tr").filter(has_text=who).first
    assert server.rep.split("@")[0] in mine.inner_text() or "assigned" in mine.inner_text()
    mine.get_by_label(re.compile("Reason to disqualify")).fill("not a fit: student project")
    mine.get_by_role("button", name="Disqualify").click()
    page.wait_for_load_state("domcontentloaded")
    page.goto(f"{server.url}/inbox?scope=mine&status=disqualified")
    assert page.locator("tbody tr").filter(has_text=who).count() >= 1
    shot(page, "inbox-disqualified")


def test_account_view_from_the_journey_board(rep_page: Any, server: Server) -> None:
    page = rep_page
    page.goto(f"{server.url}/journey")
    assert page.get_by_role("heading", name="Journey").is_visible()
    columns = page.locator(".board-column")
    assert columns.count() >= 5
    # an account with a qualification the rep may see (the account page shows only those)
    theirs = page.evaluate(
        "async () => (await (await fetch('/api/v1/qualifications?scope=team')).json())"
        ".qualifications.map(q => q.account_id).filter(a => a)"
    )
    cards = page.locator(".board-card a")
    hrefs = cards.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    index = next(i for i, h in enumerate(hrefs) if unquote(h.rsplit("/", 1)[-1]) in theirs)
    first_card = cards.nth(index)
    name = first_card.inner_text()
    shot(page, "journey")
    first_card.click()
    page.wait_for_url(re.compile(r".*/accounts/.+"))
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    chart = page.get_by_role("img", name=re.compile("Activity of .*last 90 days"))
    assert chart.is_visible()
    assert page.locator("svg.chart desc").text_content()  # the text alternative
    assert page.get_by_text(re.compile(r"\d+ used of")).is_visible()
    assert page.locator(".evidence li").count() >= 1
    shot(page, "account")
    assert page.evaluate(UNLABELLED) == []


BOARD_FIT = """() => { const b = document.querySelector('.board').getBoundingClientRect();
  return Array.from(document.querySelectorAll('.board-column')).map(c => {
    const r = c.getBoundingClientRect();
    return {name: c.querySelector('h2 span').textContent, left: r.left, right: r.right,
            boardLeft: b.left, boardRight: b.right}; }); }"""


def test_journey_board_shows_every_stage_column_at_1400_px(rep_page: Any, server: Server) -> None:
    page = rep_page  # a 1400 x 900 viewport
    page.goto(f"{server.url}/journey")
    columns = page.evaluate(BOARD_FIT)
    assert len(columns) >= 6  # the demo's five stages and Unstaged
    clipped = [
        c["name"]
        for c in columns
        if c["left"] < c["boardLeft"] or c["right"] > c["boardRight"] + 0.5
    ]
    assert clipped == [], columns
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400


ACCOUNTS_AS_OF = re.compile(r"(\d+) accounts? as of")  # "1 account as of" for one


def _accounts_shown(page: Any) -> int:
    found = ACCOUNTS_AS_OF.search(page.get_by_text(ACCOUNTS_AS_OF).inner_text())
    assert found
    return int(found.group(1))


def test_journey_filter_by_owner(rep_page: Any, server: Server) -> None:
    page = rep_page
    page.goto(f"{server.url}/journey")
    total = _accounts_shown(page)
    owner = page.locator("#f-owner option").nth(1).get_attribute("value")
    page.get_by_label("Owner").select_option(owner)
    page.wait_for_url(re.compile(r".*owner=.*"))
    filtered = _accounts_shown(page)
    assert 0 < filtered < total


def test_definitions_edit_shows_the_error_next_to_its_line(admin_page: Any, server: Server) -> None:
    page = admin_page
    page.goto(f"{server.url}/definitions")
    assert page.get_by_role("heading", name=re.compile("Matches now")).is_visible()
    original = Path(server.demo.settings.config).read_text()
    bad = original.replace("gte: 500}", "gtx: 500}", 1)
    line = bad[: bad.index("gtx: 500")].count("\n") + 1
    page.get_by_label("beachhead.yml").fill(bad)
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("domcontentloaded")
    errors = page.locator(".diagnostics li")
    assert errors.count() == 1
    assert f":{line}:" in errors.first.inner_text() and "gtx" in errors.first.inner_text()
    inline = page.locator(f"#line-{line}")
    assert "has-error" in (inline.get_attribute("class") or "")
    assert "unknown operator" in inline.locator(".diag").inner_text()
    assert page.get_by_label("beachhead.yml").input_value() == bad  # the edit is kept
    assert Path(server.demo.settings.config).read_text() == original  # nothing saved
    shot(page, "definitions-error")
    assert page.evaluate(UNLABELLED) == []


def test_keyboard_reaches_main_actions_with_visible_focus(admin_page: Any, server: Server) -> None:
    page = admin_page
    page.goto(f"{server.url}/journey")
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUS_STYLE)
    assert first["text"] == "Skip to content" and first["outline"] != "none"
    seen = _tab_until(page, r"^Apply$")
    assert seen["outline"] != "none" and seen["width"] >= 2
    seen = _tab_until(page, r".+", limit=3)  # and on to the first card
    assert seen["outline"] != "none"
    page.goto(f"{server.url}/definitions")
    seen = _tab_until(page, r"^Preview changes$", limit=200)
    assert seen["outline"] != "none"
    page.goto(f"{server.url}/inbox?scope=all")
    seen = _tab_until(page, r"^Claim$|^Working$|^Won$", limit=200)  # an admin may not claim
    assert seen["outline"] != "none"
    shot(page, "keyboard-focus")


PHONE = 390  # an iPhone 12-16's CSS width
OVERFLOWING = """(width) => Array.from(document.querySelectorAll('main *'))
  .filter(el => !el.closest('.visually-hidden, thead'))  // clipped: read aloud, not shown
  .filter(el => { const r = el.getBoundingClientRect(); return r.width && r.right > width + 0.5; })
  .slice(0, 5).map(el => el.outerHTML.slice(0, 100))"""


@pytest.mark.parametrize("who", ["rep", "admin"])
def test_the_inbox_fits_a_phone(browser: Any, server: Server, who: str) -> None:
    """At 390px the inbox was wider than the screen (a ten-column table): rows stack, and
    the filters, the tabs and every row's action buttons stay on the screen."""
    context = browser.new_context(viewport={"width": PHONE, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, server.url, server.rep if who == "rep" else ADMIN)
        for scope in ("mine", "team") if who == "rep" else ("all",):
            page.goto(f"{server.url}/inbox?scope={scope}")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE
            assert page.evaluate(OVERFLOWING, PHONE) == [], scope
            if scope == "mine":  # may be empty (the queue's work is unclaimed)
                continue
            assert page.locator("tbody tr").count() >= 1, scope
            for button in page.locator("tbody tr").first.locator(".row-actions button").all():
                box = button.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE
            shot(page, f"inbox-phone-{who}-{scope}")
    finally:
        context.close()
