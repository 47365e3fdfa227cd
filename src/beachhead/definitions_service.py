"""The definitions page: match counts now, validation, a dry-run preview, and saving.

- ``validate(text, filename)``: the same diagnostics as ``beachhead check`` (the loader is
  the same; ``filename`` is the configured path, so messages read alike).
- ``preview(runtime, current, edited)``: evaluates the edited definitions at the app's now
  with ``compute_evaluation`` and compares, per PQL, with the current definitions' matches
  (the cached evaluation) and the open qualifications: which qualifications would be
  created (a match with no open one and not in cooldown) and which entities would no
  longer match. Nothing is recorded.
- ``save(path, text)``: validate, keep the current file as ``<name>.bak``, then write the
  new text to a temporary file in the same folder, fsync it and rename it over the file
  (atomic: a reader sees the old or the new file, never half of one).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from beachhead.directory import directory
from beachhead.qualify.lifecycle import in_cooldown
from beachhead.rules.load import ConfigError, Diagnostic, load_text
from beachhead.rules.model import Config
from beachhead.rules.result import Evaluation
from beachhead.runtime import Runtime
from beachhead.store.qualifications import QualificationStore

SAMPLE = 10


@dataclass(frozen=True, slots=True)
class DefinitionCount:
    kind: str  # pql | pqa | stage
    key: str
    name: str
    matches: int


@dataclass
class PqlPreview:
    key: str
    name: str
    now: int  # matches with the current definitions
    edited: int  # matches with the edited ones
    create: int
    no_longer: int
    create_sample: list[str] = field(default_factory=list)
    no_longer_sample: list[str] = field(default_factory=list)
    # open qualifications whose entity matches now and would not under the edit (they
    # stay open); one that does not match today either is not "stopping" to match
    open_not_matching: int = 0


@dataclass
class Preview:
    as_of: datetime
    pqls: list[PqlPreview]


def match_counts(config: Config, evaluation: Evaluation | None) -> list[DefinitionCount]:
    """PQLs and PQAs with how many entities match now; stages with how many accounts."""
    if evaluation is None:
        return []
    per: dict[str, int] = {}
    for m in evaluation.matches:
        per[m.pql] = per.get(m.pql, 0) + 1
    stages: dict[str | None, int] = {}
    for ev in evaluation.accounts.values():
        stages[ev.stage] = stages.get(ev.stage, 0) + 1
    out = [
        DefinitionCount("pqa" if p.is_pqa else "pql", p.key, p.name, per.get(p.key, 0))
        for p in config.pqls
    ]
    out += [DefinitionCount("stage", s.key, s.name, stages.get(s.key, 0)) for s in config.stages]
    return out


def validate(text: str, filename: str) -> tuple[Config | None, list[Diagnostic]]:
    try:
        return load_text(text, filename), []
    except ConfigError as exc:
        return None, list(exc.diagnostics)


def _keys(evaluation: Evaluation) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for m in evaluation.matches:
        out.setdefault(m.pql, set()).add(m.entity_id)
    return out


def preview(runtime: Runtime, current: Config, edited: Config) -> Preview:
    from beachhead.services import compute_evaluation

    d = directory(runtime, current)
    as_of = d.as_of
    before = _keys(d.evaluation) if d.evaluation is not None else {}
    with runtime.lock:
        after_eval = compute_evaluation(runtime.settings, runtime.events, edited, as_of)
    after = _keys(after_eval)
    store = QualificationStore(runtime.state)
    with runtime.state.session() as s:
        prior = store.load_prior(s)
    open_keys: dict[str, set[str]] = {}
    for q in prior.open:
        open_keys.setdefault(q.pql, set()).add(q.entity_id)
    names = {p.key: p.name for p in current.pqls} | {p.key: p.name for p in edited.pqls}
    order = [p.key for p in edited.pqls] + [p.key for p in current.pqls if p.key not in after]
    rows = []
    for key in dict.fromkeys(order):
        now, then, opened = before.get(key, set()), after.get(key, set()), open_keys.get(key, set())
        create = sorted(
            e
            for e in then - opened
            if not in_cooldown(edited, key, prior.last_closed.get((key, e)), as_of)
        )
        gone = sorted(now - then)
        rows.append(
            PqlPreview(
                key,
                names.get(key, key),
                len(now),
                len(then),
                len(create),
                len(gone),
                create[:SAMPLE],
                gone[:SAMPLE],
                len((opened & now) - then),  # matching now and not under the edit
            )
        )
    return Preview(as_of, rows)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def save(path: Path, text: str) -> Config:
    """Write ``text`` over ``path`` atomically after keeping ``path.bak``; ConfigError if
    the text is not valid (nothing is written then)."""
    config = load_text(text, str(path))
    if path.exists():
        _write_atomic(backup_path(path), path.read_bytes())
    _write_atomic(path, text.encode("utf-8"))
    return config


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
