"""Run the benchmarks and print a table per benchmark.

    python -m bench                 # every benchmark, default sizes
    python -m bench ingest_http     # only the ones named
    python -m bench --quick         # small sizes, to check the harness

Each module in BENCHES has ``run(quick: bool) -> list[BenchTable]``. Numbers are only
comparable within one run on one machine: each row sits beside the fastest hand-written
way to do the same work on the same engine, measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rich.console import Console

BENCHES = ["ingest_import", "ingest_http", "evaluate", "web", "incremental", "latency"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {BENCHES})")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    args = parser.parse_args(argv)
    console = Console()
    for name in args.names or BENCHES:
        try:
            mod = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            console.print(f"[yellow]{name}: not written yet[/]")
            continue
        for table in mod.run(quick=args.quick):
            table.print(console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
