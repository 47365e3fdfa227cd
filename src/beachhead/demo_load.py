"""Load a generated demo company into a data folder and record evaluations over it.

What the browser tests, the page tests and ``bench/web.py`` start from: the demo company's
files (``demo.generate``) imported through the ordinary importers, a ``beachhead.yml`` made of
the shipped template plus the demo's sales org (teams and routing), and recorded evaluations
at a few times up to the end of the window, so qualifications, routing and stage history
(moves between journey stages) exist as they would after some weeks of use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from beachhead.config import Settings
from beachhead.demo import generator
from beachhead.ingest.importers import import_accounts, import_events, import_users
from beachhead.runtime import Runtime


@dataclass(frozen=True, slots=True)
class DemoFolder:
    """Where the loaded demo lives and what it holds."""

    settings: Settings
    manifest: generator.Manifest
    as_of: datetime  # the latest recorded evaluation
    open_qualifications: int


def demo_config_text(sales_org_yml: str) -> str:
    """The shipped template with the demo's ``teams:``/``routing:`` appended."""
    from beachhead.cli.rules_cmds import template_text

    return template_text().rstrip("\n") + "\n\n" + sales_org_yml.strip("\n") + "\n"


def load_demo(
    root: Path,
    events: int = 20_000,
    seed: int = 7,
    end: datetime | None = None,
    evaluations: int = 3,
    step: timedelta = timedelta(days=7),
) -> DemoFolder:
    """Generate into ``root/demo``, import into ``root/data``, config at ``root/beachhead.yml``.

    Evaluations are recorded at ``end - (evaluations-1)*step``, ..., ``end`` (the end of the
    generated window, exclusive, minus one second so every message is visible).
    """
    from beachhead.lifecycle_service import read_config, run_evaluation

    out = root / "demo"
    manifest = generator.generate(events, seed, out, end=end)
    config_path = root / "beachhead.yml"
    config_path.write_text(
        demo_config_text((out / generator.FILES["sales_org"]).read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    settings = Settings(config=config_path, data=root / "data")
    window_end = generator.window(end)[1] - timedelta(seconds=1)
    runtime = Runtime(settings)
    try:
        store, state = runtime.events, runtime.state
        with (out / generator.FILES["events"]).open("rb") as f:
            import_events(store, state.add_rejects, f, "import:events.jsonl")
        with (out / generator.FILES["accounts"]).open(encoding="utf-8", newline="") as f:
            import_accounts(store, state.add_rejects, f, "import:accounts.csv", now=window_end)
        with (out / generator.FILES["users"]).open(encoding="utf-8", newline="") as f:
            import_users(store, state.add_rejects, f, "import:users.csv", now=window_end)
        config = read_config(config_path)
        outcome = None
        for i in range(evaluations - 1, -1, -1):
            outcome = run_evaluation(runtime, config, window_end - i * step)
        assert outcome is not None
        return DemoFolder(settings, manifest, window_end, len(outcome.open))
    finally:
        runtime.close()
