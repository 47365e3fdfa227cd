"""One step into a JSON value by key, for any key a trait or property may have.

Ibis compiles ``value[key]`` through sqlglot's JSON-path parser, which reads some keys
as path syntax: ``$email`` lost its ``$``, ``a[0]`` became an index, ``a:b`` a nested
step (all read as missing, silently), and a quote or ``*`` failed the compile (a
traceback from every command). Keys with none of those characters keep Ibis' own form
(the compiled SQL of ordinary definitions is unchanged); the others are read by the
backend's function with the key as a plain string: DuckDB's ``->`` with a JSON pointer
(RFC 6901: ``~`` and ``/`` escaped), PostgreSQL's ``json(b)_extract_path``.

The backend comes from the compile in progress (``dialect``): ``compile_plan`` and
``compile_pairs`` set it; a key that needs it with none set is ``Unsupported``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from beachhead.engine.errors import Unsupported

# characters sqlglot's JSON-path parser reads as syntax (a dot never reaches a key)
_PATH_SYNTAX = frozenset("$[]:'\"*")
_DIALECT: ContextVar[str | None] = ContextVar("beachhead_json_dialect", default=None)


@contextlib.contextmanager
def dialect(backend: str) -> Iterator[None]:
    """The backend the expressions built inside are compiled for."""
    token = _DIALECT.set(backend)
    try:
        yield
    finally:
        _DIALECT.reset(token)


@ibis.udf.scalar.builtin(name="json_extract_path")
def _json_extract_path(doc: dt.JSON, key: str) -> dt.JSON:
    """DuckDB: ``doc -> key`` (a JSON pointer); PostgreSQL: json_extract_path."""


@ibis.udf.scalar.builtin(name="jsonb_extract_path")
def _jsonb_extract_path(doc: dt.JSON(binary=True), key: str) -> dt.JSON(binary=True):  # type: ignore[valid-type]
    """PostgreSQL: jsonb_extract_path."""


def plain(key: str) -> bool:
    """Can Ibis' own ``value[key]`` read this key as it is?"""
    return not (_PATH_SYNTAX & set(key))


def step(value: ir.JSONValue, key: str) -> ir.JSONValue:
    """``value``'s member ``key`` (NULL when missing or not an object)."""
    if plain(key):
        return value[key]
    backend = _DIALECT.get()
    if backend == "duckdb":
        pointer = "/" + key.replace("~", "~0").replace("/", "~1")
        return _json_extract_path(value, pointer)
    if backend == "postgres":
        if value.type().binary:
            return _jsonb_extract_path(value, key)
        # sqlglot writes json_extract_path's key into the SQL as it is given (it quotes
        # jsonb_extract_path's): the quote doubled here is the SQL literal's. The case
        # corpus reads such keys on both (tests/cases/traits/odd_names.yaml)
        return _json_extract_path(value, key.replace("'", "''"))
    raise Unsupported(f"a trait or property named {key!r}", backend or "this backend")


def json_path(obj: ir.JSONValue, keys: Sequence[str]) -> ir.JSONValue:
    """Walk nested objects (a missing step gives NULL)."""
    out = obj
    for key in keys:
        out = step(out, key)
    return out
