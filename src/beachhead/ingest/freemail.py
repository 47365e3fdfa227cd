"""The free-mail provider list: shipped as package data, extendable by a file of one's own.

A user at a free-mail domain (gmail.com, ...) says nothing about their company, so the
email-domain membership rule in ``ingest/identity.py`` skips them. The list is data, not
code, so a team can add the providers of their market with ``BEACHHEAD_FREE_MAIL_FILE``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path


def parse_domains(text: str) -> frozenset[str]:
    """One domain a line, lowercased; blank lines and ``#`` comments are skipped."""
    out: set[str] = set()
    for line in text.splitlines():
        item = line.split("#", 1)[0].strip().lower()
        if item:
            out.add(item.lstrip("@"))
    return frozenset(out)


@lru_cache(maxsize=1)
def builtin_free_mail() -> frozenset[str]:
    """The providers shipped with Beachhead (``ingest/freemail.txt``)."""
    text = resources.files("beachhead.ingest").joinpath("freemail.txt").read_text("utf-8")
    return parse_domains(text)


def load_free_mail(extra_file: Path | None = None) -> frozenset[str]:
    """The shipped list plus the domains of ``extra_file`` (settings.free_mail_file), if any."""
    domains = builtin_free_mail()
    if extra_file is not None:
        domains = domains | parse_domains(extra_file.read_text("utf-8"))
    return domains
