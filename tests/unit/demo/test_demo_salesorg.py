"""sales_org.yml is a valid teams/routing fragment: merged into the shipped template it loads,
and the template's events and pages are all in the demo's vocabulary."""

from __future__ import annotations

import re
from importlib import resources

from demo_support import DemoRun

from beachhead.demo import vocab
from beachhead.rules.load import load_text


def _template() -> str:
    return resources.files("beachhead.rules").joinpath("templates/beachhead.yml").read_text()


def test_sales_org_merges_into_the_template_and_loads(demo_run: DemoRun) -> None:
    fragment = (demo_run.out / "sales_org.yml").read_text()
    config = load_text(_template() + "\n" + fragment)
    assert [t.key for t in config.teams] == ["self_serve", "mid_market", "enterprise"]
    assert len(config.routing) == 3
    owners = {a["owner"] for a in demo_run.accounts} - {""}
    reps = {r.email for t in config.teams for r in t.reps}
    assert owners <= reps and owners


def test_template_uses_only_the_demo_vocabulary() -> None:
    events = set(re.findall(r"event: ([A-Z][A-Za-z ]+?)[,}]", _template()))
    assert events and events <= set(vocab.ACTIVITY)
