"""The pure parts of the pages: the SVG chart and its text alternative, the definitions
page's line mapping, and saving definitions (atomic, with a backup, nothing on errors)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest

from beachhead.cli.rules_cmds import template_text
from beachhead.definitions_service import backup_path, save, validate
from beachhead.rules.load import ConfigError
from beachhead.web.charts import _nice_max, activity_chart, describe
from beachhead.web.definitions_pages import _lines

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [(date(2026, 9, 1) + timedelta(days=i), (i * 7) % 11) for i in range(90)]


def test_chart_is_an_accessible_svg_with_one_bar_a_day() -> None:
    svg = ET.fromstring(str(activity_chart(DAYS, "Activity of Acme & Co, last 90 days")))
    assert svg.get("role") == "img"
    labelled = (svg.get("aria-labelledby") or "").split()
    ids = {el.get("id"): el for el in svg.iter() if el.get("id")}
    assert [ids[i].tag for i in labelled] == [f"{SVG}title", f"{SVG}desc"]
    assert ids[labelled[0]].text == "Activity of Acme & Co, last 90 days"
    assert ids[labelled[1]].text == describe(DAYS)
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == len(DAYS)
    heights = [float(b.get("height") or 0) for b in bars]
    peak = max(n for _, n in DAYS)
    tallest = heights.index(max(heights))
    assert DAYS[tallest][1] == peak
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert str(_nice_max(peak)) in labels and "0" in labels  # the value axis
    assert "01 Sep" in labels and DAYS[-1][0].strftime("%d %b") in labels  # the date axis
    assert "style=" not in str(activity_chart(DAYS, "x"))  # CSP: no inline styles


def test_description_says_total_peak_and_recent() -> None:
    text = describe(DAYS)
    total = sum(n for _, n in DAYS)
    assert f"{total:,} activity messages over 90 days" in text
    assert f"{sum(n for _, n in DAYS[-7:]):,} in the last 7 days" in text
    assert describe([(d, 0) for d, _ in DAYS]).startswith("No activity between")


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (480, 500)])
def test_nice_axis_top(value: int, top: int) -> None:
    assert _nice_max(value) == top


def test_lines_carry_their_diagnostics() -> None:
    text = template_text().replace("gte: 500}", "gtx: 500}", 1)
    _config, diags = validate(text, "beachhead.yml")
    assert diags
    lines = _lines(text, diags)
    assert len(lines) == text.count("\n")
    flagged = [line for line in lines if line["diags"]]
    assert [line["n"] for line in flagged] == sorted({d.line for d in diags})
    assert "gtx" in flagged[0]["text"]


def test_save_keeps_a_backup_and_refuses_invalid_text(tmp_path: Path) -> None:
    path = tmp_path / "beachhead.yml"
    old = template_text()
    path.write_text(old)
    new = old.replace("priority: 10", "priority: 11", 1)
    save(path, new)
    assert path.read_text() == new
    assert backup_path(path).read_text() == old
    with pytest.raises(ConfigError):
        save(path, new.replace("motion: free_to_paid", "motion: free_lunch", 1))
    assert path.read_text() == new  # unchanged, and no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beachhead.yml", "beachhead.yml.bak"]
    assert re.search(r"priority: 11", path.read_text())
