"""Reading a CSV cell as a trait value: integer, decimal, true/false, or text.

A CSV has no types, yet a condition like ``employees >= 200`` needs a number, so a cell
that looks like a number is one. An empty cell is a missing trait (not ``null``, which
would remove a trait the account already has). Text with leading zeros (``"00123"``, a zip
code or an account number) stays text: reading it as 123 would lose what it says; so does
text with a leading ``+`` (a phone number).
"""

from __future__ import annotations

import re

# no leading "+": "+15551234567" is a phone number, and as 15551234567 it loses its "+"
_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(
    r"-?(0|[1-9][0-9]*)?\.[0-9]+([eE][-+]?[0-9]+)?|-?(0|[1-9][0-9]*)[eE][-+]?[0-9]+"
)
_BOOLS = {"true": True, "false": False}

MISSING = object()  # the value of an empty cell: leave the trait out


def cell_value(text: str) -> object:
    """``"42"`` -> 42, ``"4.5"`` -> 4.5, ``"TRUE"`` -> True, ``""`` -> MISSING, else the text."""
    s = text.strip()
    if not s:
        return MISSING
    if _INT.fullmatch(s):
        return int(s)
    if _DECIMAL.fullmatch(s):
        return float(s)
    b = _BOOLS.get(s.lower())
    if b is not None:
        return b
    return s
