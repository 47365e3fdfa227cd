"""What the browser tests share besides fixtures: where Chromium is, the server handle,
signing in and screenshots.

A module of its own (not ``conftest``) so that test files can import it: several folders have
a ``conftest.py``, and ``from conftest import ...`` gets whichever one pytest loaded last.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beachhead.demo_load import DemoFolder

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"


@dataclass
class Server:
    url: str
    demo: DemoFolder
    rep: str  # a rep of a team holding unassigned queue work
    proc: subprocess.Popen[bytes]


def sign_in(page: Any, url: str, email: str, password: str = PASSWORD) -> None:
    """Through the form, as a person does: the app sends an anonymous visitor to sign in."""
    page.goto(f"{url}/inbox")
    assert "/signin" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/inbox**")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
