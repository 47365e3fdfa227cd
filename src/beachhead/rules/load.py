"""``beachhead.yml`` -> ``Config``, or every error at once with file:line:col and path.

``load_text(text, filename)`` is pure; ``load_config(path)`` only reads the file first.
Both raise ``ConfigError`` whose ``diagnostics`` are ``Diagnostic(file, line, column, path,
message)``; ``str(diagnostic)`` is ``file:line:col: path: message``. Nothing is returned
from an invalid file, so nothing is ever evaluated from one.

The checker walks the YAML tree itself (instead of leaning on pydantic's messages) so that
each message says what was expected in the words of the spec, and points at the key or
value that is wrong. The walk is a set of small methods, one per construct, in three
layers: ``check_shapes.py`` (scalars, lists, comparisons), ``check_conditions.py``
(conditions) and ``check_definitions.py`` (scores, PQLs, stages, teams, routing, alerts).
"""

from __future__ import annotations

import functools
from pathlib import Path

from beachhead.rules.check_definitions import DefinitionChecks
from beachhead.rules.diagnostics import ConfigError, Diagnostic
from beachhead.rules.model import Config
from beachhead.rules.yamltree import YamlSyntaxError, parse_yaml

__all__ = ["ConfigError", "Diagnostic", "load_config", "load_text", "unreadable"]


@functools.lru_cache(maxsize=32)
def load_text(text: str, filename: str = "beachhead.yml") -> Config:
    """Parse and validate ``text``; raise ``ConfigError`` listing every problem.

    Cached by (text, filename): the ruamel parser is pure Python (~0.1 s for the template)
    and a ``Config`` is immutable, so the web app and services may reload freely."""
    try:
        root = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError([Diagnostic(filename, exc.line, exc.col, "", exc.message)]) from None
    if root is None:
        return Config()
    checker = DefinitionChecks(filename)
    config = checker.config(root)
    if checker.diags or config is None:
        raise ConfigError(checker.diags)
    return config


def unreadable(path: str | Path) -> str | None:
    """Why the definitions file ``path`` cannot be read, as the one line every command
    and service says (``cannot read the definitions P: ...``); None when it is a file."""
    p = Path(path)
    if p.is_dir():
        why = "it is a folder, not a file"
    elif p.exists():  # a file, or a pipe / device (--config /dev/stdin) that is read as one
        return None
    else:
        why = "no such file (beachhead init writes one)"
    return f"cannot read the definitions {p}: {why}"


def load_config(path: str | Path) -> Config:
    """Read ``path`` and ``load_text`` it (the only file access in ``rules/``)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [Diagnostic(str(p), 1, 1, "", f"cannot read the file: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise ConfigError([Diagnostic(str(p), 1, 1, "", "the file is not UTF-8 text")]) from None
    return load_text(text, str(p))
