"""The ``import`` service: what ``beachhead import`` runs, in the CLI or inside ``serve``.

When ``beachhead serve`` holds the embedded events store, the CLI forwards the import to it
(see ``runtime.call_service``); the server reads the file by its path (same machine), or
the text the CLI read from stdin.
"""

from __future__ import annotations

import io
from typing import Any

from beachhead.ingest.importers import ImportFailed, open_input, run_import
from beachhead.runtime import Runtime, ServiceError, service


@service("import")
def import_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """payload: kind (events|accounts|users), source, strict, and path or text."""
    kind = str(payload["kind"])
    source = str(payload["source"])
    strict = bool(payload.get("strict", False))
    try:
        if "text" in payload:
            stream = io.BytesIO(str(payload["text"]).encode())
            report = run_import(
                kind, runtime.events, runtime.state.add_rejects, stream, source, strict
            )
        else:
            with open_input(str(payload["path"])) as inp:
                report = run_import(
                    kind, runtime.events, runtime.state.add_rejects, inp.stream, source, strict
                )
    except (ImportFailed, OSError) as exc:
        raise ServiceError(str(exc)) from exc
    return {**report.to_dict(), "strict_aborted": report.strict_aborted}
