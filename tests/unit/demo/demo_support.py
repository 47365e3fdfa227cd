"""Helpers shared by the demo tests (imported by name: this folder is on sys.path)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from beachhead.demo import Manifest


@dataclass(frozen=True)
class DemoRun:
    """A generated folder, its manifest, and its files parsed."""

    out: Path
    manifest: Manifest
    messages: list[dict[str, Any]]
    accounts: list[dict[str, str]]
    users: list[dict[str, str]]


def parse_time(text: str) -> datetime:
    """The generator writes ``...Z`` timestamps; Python 3.11 reads them directly."""
    return datetime.fromisoformat(text)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
