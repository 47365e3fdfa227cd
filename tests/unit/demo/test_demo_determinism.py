"""The same seed gives byte-identical files; another seed or end gives another company."""

from __future__ import annotations

from pathlib import Path

from beachhead.demo import generate
from beachhead.demo.generator import FILES


def _files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in FILES.values()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    generate(20_000, 5, tmp_path / "a")
    generate(20_000, 5, tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a == b
    assert all(a.values())  # every file has content


def test_other_seed_other_company(tmp_path: Path) -> None:
    generate(20_000, 5, tmp_path / "a")
    generate(20_000, 6, tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("events.jsonl", "accounts.csv", "users.csv", "manifest.json"):
        assert a[name] != b[name], name
    assert a["sales_org.yml"] == b["sales_org.yml"]  # the org is the company's, not the seed's


def test_end_moves_the_window(tmp_path: Path) -> None:
    man = generate(5_000, 5, tmp_path, end="2026-03-01T00:00:00Z")
    assert (man.start, man.end) == ("2025-11-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z")
    last = (tmp_path / "events.jsonl").read_text().rstrip("\n").rsplit("\n", 1)[1]
    assert '"timestamp":"2026-02' in last


def test_regenerating_into_the_same_folder_overwrites(tmp_path: Path) -> None:
    generate(5_000, 1, tmp_path)
    first = _files(tmp_path)
    generate(3_000, 2, tmp_path)
    generate(5_000, 1, tmp_path)
    assert _files(tmp_path) == first
