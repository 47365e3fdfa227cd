"""The ``import`` service: what ``beachhead import`` runs, in the CLI or inside ``serve``.

When ``beachhead serve`` holds the embedded events store, the CLI forwards the import to it
(see ``runtime.call_service``); the server reads the file by its path (same machine), or
the text the CLI read from stdin.
"""

from __future__ import annotations

import base64
from typing import Any

from beachhead.ingest.importers import ImportFailed, bytes_input, open_input, run_import
from beachhead.runtime import Runtime, ServiceError, service


@service("import")
def import_service(runtime: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    """payload: kind (events|accounts|users), source, strict, and path or data (the
    bytes the CLI read from stdin, base64: never decoded there, so bad UTF-8 is rejected
    here as it is without a server)."""
    kind = str(payload["kind"])
    source = str(payload["source"])
    strict = bool(payload.get("strict", False))
    try:
        if "data" in payload:  # stdin's bytes as read, base64 (gzip is fine)
            stream = bytes_input(base64.b64decode(str(payload["data"])))
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
