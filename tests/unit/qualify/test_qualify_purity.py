"""qualify/ and rules/ stay pure: importing them pulls in no database, web or store module."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "duckdb", "psycopg", "fastapi", "httpx", "ibis", "beachhead.store")


def _loaded_io_modules(imports: str) -> str:
    """The forbidden modules loaded in a fresh interpreter after running ``imports``."""
    code = (
        f"{imports}\n"
        "import sys\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or any(m.startswith(f + '.') or m == f for f in {FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_qualify_imports_no_io_modules() -> None:
    assert _loaded_io_modules("import beachhead.qualify.lifecycle, beachhead.qualify.routing") == ""


def test_rules_imports_no_io_modules() -> None:
    """Every module of rules/ (the definitions' pure core) likewise."""
    imports = (
        "import importlib, pkgutil, beachhead.rules as r\n"
        "for m in pkgutil.iter_modules(r.__path__):\n"
        "    importlib.import_module('beachhead.rules.' + m.name)"
    )
    assert _loaded_io_modules(imports) == ""
