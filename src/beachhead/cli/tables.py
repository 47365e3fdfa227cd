"""Tables of stored data for the terminal.

Rich reads ``[...]`` in a string as markup: a user id ``[/]`` crashed ``users`` and
``rejects``, and a trait ``[beta] tester`` printed as `` tester``. Every cell (and the
title) of a ``PlainTable`` is plain text; rich's own renderables pass as they are.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


def plain(value: Any) -> Any:
    """A string as plain text (no markup); anything else as it is."""
    return Text(value) if isinstance(value, str) else value


class PlainTable(Table):
    """A rich ``Table`` whose string cells and title are never read as markup."""

    def __init__(self, *headers: Any, **kwargs: Any) -> None:
        if "title" in kwargs:
            kwargs["title"] = plain(kwargs["title"])
        super().__init__(*headers, **kwargs)  # the headers are the program's own words

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(plain(r) for r in renderables), **kwargs)
