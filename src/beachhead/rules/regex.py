"""The small regular-expression grammar of ``matches``, checked at load time.

Why a grammar of our own: the same ``matches`` must mean the same thing in Python (the
oracle), DuckDB (RE2) and PostgreSQL (POSIX ARE). The grammar is: literal characters,
``.``, classes ``[a-z0-9_]`` / ``[^...]``, ``\\d`` and ``\\s`` (ASCII), ``^``, ``$``, ``*``,
``+``, ``?``, ``{m}``, ``{m,n}``, ``|``, groups ``( )`` and ``(?: )``, ``(?i)`` at the very
start, and ``\\`` before a metacharacter. Nothing else.

The pattern is parsed once and re-emitted in a form whose meaning is identical in all three
engines: every group becomes ``(?:...)``, ``\\d`` becomes ``[0-9]``, ``\\s`` becomes
``[ \\t\\n\\r\\f\\v]``, ``.`` is "any character but newline", ``$`` is the very end of the
string (Python: ``\\Z``, since Python's ``$`` also matches before a final newline), and
every literal metacharacter is backslash-escaped.

Functions:

- ``check(pattern) -> Regex``: parse; raises ``RegexError`` (a ``ValueError`` with the
  position and what was expected).
- ``Regex.ignore_case``: ``(?i)`` was given.
- ``to_python(pattern) -> re.Pattern[str]``: compiled for ``re`` (use ``.search``).
- ``to_re2(pattern) -> str`` / ``to_postgres(pattern) -> str``: the pattern text with
  ``(?i)`` inline when case-insensitive (both engines read a leading ``(?i)``); use with
  DuckDB ``regexp_matches`` and PostgreSQL ``~``. ``Regex.body(dialect)`` gives the text
  without the flag, for an engine that takes the flag separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Dialect = Literal["python", "re2", "postgres"]

METACHARS = frozenset(".^$*+?{}[]()|\\")
_CLASS_SPECIAL = frozenset("\\]^-[&~|")
_SPACE_CLASS = " \\t\\n\\r\\f\\v"
MAX_REPEAT = 1000  # RE2's limit


class RegexError(ValueError):
    """A pattern outside the supported grammar."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position + 1})")
        self.position = position


@dataclass(frozen=True)
class Regex:
    """A checked pattern: the original text, the flag, and the portable pieces."""

    source: str
    ignore_case: bool
    _pieces: tuple[str, ...]  # tokens; "$" and "." are emitted per dialect

    def body(self, dialect: Dialect) -> str:
        out: list[str] = []
        for piece in self._pieces:
            if piece == "\x00END":
                out.append("\\Z" if dialect == "python" else "$")
            elif piece == "\x00DOT":
                out.append("." if dialect != "postgres" else "[^\\n]")
            else:
                out.append(piece)
        return "".join(out)

    def inline(self, dialect: Dialect) -> str:
        return ("(?i)" if self.ignore_case else "") + self.body(dialect)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.out: list[str] = []

    def peek(self) -> str | None:
        return self.text[self.i] if self.i < len(self.text) else None

    def fail(self, message: str, at: int | None = None) -> RegexError:
        return RegexError(message, self.i if at is None else at)

    def parse(self) -> None:
        self.alternation(top=True)
        if self.i < len(self.text):  # a stray ")"
            raise self.fail("unbalanced ')'")

    def alternation(self, top: bool) -> None:
        self.sequence()
        while self.peek() == "|":
            self.out.append("|")
            self.i += 1
            self.sequence()
        if not top and self.peek() != ")":
            raise self.fail("missing ')' to close the group")

    def sequence(self) -> None:
        start = self.i
        while (c := self.peek()) is not None and c not in "|)":
            self.atom()
            self.quantifier()
        if self.i == start:
            raise self.fail("empty alternative (nothing between '|', '(' or ')')")

    def atom(self) -> None:
        c = self.text[self.i]
        if c == "(":
            self.group()
        elif c == "[":
            self.char_class()
        elif c == "\\":
            self.out.append(self.escape(in_class=False))
        elif c == ".":
            self.out.append("\x00DOT")
            self.i += 1
        elif c == "^":
            self.out.append("^")
            self.i += 1
        elif c == "$":
            self.out.append("\x00END")
            self.i += 1
        elif c in "*+?{":
            raise self.fail(f"'{c}' has nothing to repeat (escape it as '\\{c}')")
        else:  # literal, including ']' and '}'
            self.out.append(self.literal(c))
            self.i += 1

    @staticmethod
    def literal(c: str) -> str:
        return "\\" + c if c in METACHARS else c

    def group(self) -> None:
        start = self.i
        self.i += 1
        if self.text.startswith("?:", self.i):
            self.i += 2
        elif self.peek() == "?":
            if self.text.startswith("?i)", self.i):
                raise self.fail("(?i) is only allowed at the very start", start)
            raise self.fail("only ( ) and (?: ) groups are supported (no lookaround)", start)
        self.out.append("(?:")
        self.alternation(top=False)
        self.i += 1  # the ")"
        self.out.append(")")

    def escape(self, in_class: bool) -> str:
        at = self.i
        self.i += 1
        c = self.peek()
        if c is None:
            raise self.fail("a pattern cannot end with '\\'", at)
        self.i += 1
        if c == "d":
            return "0-9" if in_class else "[0-9]"
        if c == "s":
            return _SPACE_CLASS if in_class else f"[{_SPACE_CLASS}]"
        if c in METACHARS or (in_class and c in _CLASS_SPECIAL) or c in "-/":
            return "\\" + c
        raise self.fail(
            f"'\\{c}' is not supported: use \\d, \\s, or '\\' before a metacharacter", at
        )

    def char_class(self) -> None:
        start = self.i
        self.i += 1
        parts = ["["]
        if self.peek() == "^":
            parts.append("^")
            self.i += 1
        members = 0
        while True:
            c = self.peek()
            if c is None:
                raise self.fail("missing ']' to close the class", start)
            if c == "]" and members > 0:
                self.i += 1
                break
            if c == "]":
                raise self.fail("empty class '[]' (escape ']' as '\\]')")
            lo, lo_single = self.class_char()
            if self.peek() == "-" and self.i + 1 < len(self.text) and self.text[self.i + 1] != "]":
                self.i += 1
                hi, hi_single = self.class_char()
                if not (lo_single and hi_single):
                    raise self.fail("a range needs single characters on both sides")
                if _unescape(lo) > _unescape(hi):
                    raise self.fail(f"range out of order: {_unescape(lo)}-{_unescape(hi)}")
                parts.append(f"{lo}-{hi}")
            else:
                parts.append(lo)
            members += 1
        parts.append("]")
        self.out.append("".join(parts))

    def class_char(self) -> tuple[str, bool]:
        """One class member, escaped for every dialect; the bool says it is one character."""
        c = self.text[self.i]
        if c == "\\":
            if self.text[self.i + 1 : self.i + 2] in ("d", "s"):
                return self.escape(in_class=True), False
            return self.escape(in_class=True), True
        if c == "[" and self.text[self.i + 1 : self.i + 2] in (":", "=", "."):
            raise self.fail("POSIX classes like [:alpha:] are not supported")
        self.i += 1
        return ("\\" + c if c in _CLASS_SPECIAL else c), True

    def quantifier(self) -> None:
        c = self.peek()
        if c in ("*", "+", "?"):
            self.out.append(c)
            self.i += 1
        elif c == "{":
            m = re.compile(r"\{([0-9]+)(?:,([0-9]+))?\}").match(self.text, self.i)
            if not m:
                raise self.fail("expected a repeat like {3} or {2,5}")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if hi < lo:
                raise self.fail(f"repeat {{{lo},{hi}}} has its bounds in the wrong order")
            if hi > MAX_REPEAT:
                raise self.fail(f"repeat bound {hi} is above {MAX_REPEAT}")
            self.out.append(m.group(0))
            self.i = m.end()
        else:
            return
        nxt = self.peek()
        if nxt is not None and nxt in "*+?{":
            raise self.fail(f"'{nxt}' cannot follow a repeat (no lazy or possessive repeats)")


def _unescape(token: str) -> str:
    return token[1:] if token.startswith("\\") else token


def check(pattern: str) -> Regex:
    """Parse ``pattern`` against the grammar; raise ``RegexError`` saying what is wrong."""
    ignore_case = pattern.startswith("(?i)")
    body = pattern[4:] if ignore_case else pattern
    if body == "":
        raise RegexError("empty pattern", len(pattern))
    parser = _Parser(body)
    try:
        parser.parse()
    except RegexError as exc:
        if ignore_case:
            raise RegexError(str(exc).rsplit(" (at", 1)[0], exc.position + 4) from None
        raise
    return Regex(source=pattern, ignore_case=ignore_case, _pieces=tuple(parser.out))


def to_python(pattern: str) -> re.Pattern[str]:
    """Compiled for Python's ``re``; call ``.search(text)``."""
    rx = check(pattern)
    return re.compile(rx.body("python"), re.IGNORECASE if rx.ignore_case else 0)


def to_re2(pattern: str) -> str:
    """Pattern text for RE2 (DuckDB ``regexp_matches``), ``(?i)`` inline when given."""
    return check(pattern).inline("re2")


def to_postgres(pattern: str) -> str:
    """Pattern text for a PostgreSQL ARE (``~``), ``(?i)`` inline when given."""
    return check(pattern).inline("postgres")
