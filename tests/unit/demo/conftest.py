"""One generated demo company shared by the demo tests (generating it takes about a second)."""

from __future__ import annotations

import orjson
import pytest
from demo_support import DemoRun, read_csv

from beachhead.demo import generate

EVENTS = 60_000
SEED = 11


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo") / "out"
    manifest = generate(EVENTS, SEED, out)
    with (out / "events.jsonl").open("rb") as f:
        messages = [orjson.loads(line) for line in f]
    return DemoRun(
        out=out,
        manifest=manifest,
        messages=messages,
        accounts=read_csv(out / "accounts.csv"),
        users=read_csv(out / "users.csv"),
    )
