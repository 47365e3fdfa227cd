"""An embedded data folder or store file that cannot be used is one line naming the path,
exit 1, for every command that opens the stores (were tracebacks: FileExistsError,
NotADirectoryError, duckdb's IOException, sqlite3's DatabaseError), and the file that is in
the way is left as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BEACHHEAD = str(Path(sys.executable).with_name("beachhead"))
GARBAGE = b"this is not a database\n" * 50

# (case, --data relative to the working folder, file to plant, the line's start)
CASES = [
    ("data is a file", "d", "d", "error: cannot use the data folder d: it is a file, not a folder"),
    (
        "a parent of data is a file",
        "f/d",
        "f",
        "error: cannot use the data folder f/d: f is a file, not a folder",
    ),
    (
        "events.duckdb is not a database",
        "d",
        "d/events.duckdb",
        "error: cannot open the events store d/events.duckdb: ",
    ),
    (
        "state.db is not a database",
        "d",
        "d/state.db",
        "error: cannot open the state store d/state.db: file is not a database",
    ),
]
# every command that opens the state store; and users/evaluate also open the events store
STATE = [["evaluate"], ["qualifications"], ["rejects"], ["keys", "list"], ["deliver"]]
STATE += [["users-admin", "list"], ["migrate"], ["serve", "--port", "0"]]
EVENTS = [["users"], ["accounts"], ["evaluate"], ["migrate"], ["serve", "--port", "0"]]
COMMANDS = {" ".join(c): c for c in STATE + EVENTS}


def _uses(case: str, command: list[str]) -> bool:
    if "events.duckdb" in case:
        return command in EVENTS
    if "state.db" in case:
        return command in STATE
    return True


PAIRS = [(*c, n) for c in CASES for n, cmd in COMMANDS.items() if _uses(c[0], cmd)]


@pytest.mark.parametrize(
    ("case", "data", "planted", "says", "name"), PAIRS, ids=[f"{p[0]}: {p[4]}" for p in PAIRS]
)
def test_a_data_folder_that_cannot_be_used_is_one_line(
    tmp_path: Path, name: str, case: str, data: str, planted: str, says: str
) -> None:
    command = COMMANDS[name]
    (tmp_path / "beachhead.yml").write_text("version: 1\n")
    target = tmp_path / planted
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(GARBAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}
    proc = subprocess.run(
        [BEACHHEAD, *command, "--data", data, "--config", "beachhead.yml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(says), line
    assert target.read_bytes() == GARBAGE  # nothing lost
