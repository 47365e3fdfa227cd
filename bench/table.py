"""A benchmark result: a titled table, printed with Rich, comparable with its ceiling."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass
class BenchTable:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        self.rows.append(list(row))

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        table = Table(title=self.title, title_justify="left")
        for col in self.columns:
            table.add_column(col, justify="right" if col[:1].isdigit() else "left")
        for row in self.rows:
            table.add_row(*[fmt(v) for v in row])
        console.print(table)
        for note in self.notes:
            console.print(f"  {note}", style="dim")


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
