"""``beachhead import`` through the real command, on DuckDB and on PostgreSQL."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from beachhead.cli.main import app
from beachhead.config import Settings
from beachhead.store.events import EventStore, open_event_store

BEACHHEAD = str(Path(sys.executable).with_name("beachhead"))
RUNNER = CliRunner()

GOOD = [
    {
        "type": "identify",
        "userId": "u1",
        "anonymousId": "a1",
        "traits": {"email": "ana@acme.com"},
        "timestamp": "2026-02-01T10:00:00Z",
    },
    {"type": "track", "userId": "u1", "event": "Signed Up", "timestamp": "2026-02-01T10:01:00Z"},
    {
        "type": "group",
        "userId": "u1",
        "groupId": "acme",
        "traits": {"plan": "free"},
        "timestamp": "2026-02-01T10:02:00Z",
    },
    {"type": "track", "userId": 7, "event": "Logged In", "messageId": "m-7"},
]
# line (1-based) -> (text, expected reason); the rest of the file is GOOD with a blank line
BAD = {
    3: ('{"type": "track", "userId": "u1"}', "track message needs 'event'"),
    5: ("this is not json", None),
    7: (
        '{"type": "group", "userId": "u1", "timestamp": "2026-02-01T10:00:00Z"}',
        "group message needs 'groupId'",
    ),
}


def jsonl(messages: list[dict[str, Any]]) -> str:
    return "".join(orjson.dumps(m).decode() + "\n" for m in messages)


def mixed_file() -> tuple[str, int]:
    """GOOD messages with BAD lines at their line numbers and one blank line; -> (text, good)."""
    good = iter(GOOD)
    lines: list[str] = []
    for n in range(1, len(GOOD) + len(BAD) + 2):
        if n in BAD:
            lines.append(BAD[n][0])
        elif n == 4:
            lines.append("")
        else:
            lines.append(orjson.dumps(next(good)).decode())
    return "\n".join(lines) + "\n", len(GOOD)


def run(
    env: dict[str, str], *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in this process (Typer's runner), with ``env`` set; like a subprocess."""
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith("BEACHHEAD_")}
    result = RUNNER.invoke(app, list(args), input=stdin, env={**clean, **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def run_binary(
    env: dict[str, str], *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``beachhead`` executable in a subprocess."""
    proc = subprocess.run(
        [BEACHHEAD, *args],
        input=stdin,
        capture_output=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("BEACHHEAD_")}, **env},
        timeout=120,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def run_json(
    env: dict[str, str], *args: str, stdin: bytes | None = None, code: int = 0
) -> dict[str, Any]:
    proc = run(env, *args, "--format", "json", stdin=stdin)
    assert proc.returncode == code, proc.stderr
    data: dict[str, Any] = orjson.loads(proc.stdout)  # JSON alone on stdout
    return data


@pytest.fixture
def events_store(backend_env: dict[str, str]) -> Iterator[Any]:
    """Opens the store the environment names (after the commands have exited)."""
    opened: list[EventStore] = []

    def open_() -> EventStore:
        s = open_event_store(
            Settings(
                data=Path(backend_env["BEACHHEAD_DATA"]),
                database_url=backend_env.get("BEACHHEAD_DATABASE_URL"),
            )
        )
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


def test_rejected_lines_are_numbered_and_exit_1(
    backend_env: dict[str, str], tmp_path: Path
) -> None:
    text, n_good = mixed_file()
    f = tmp_path / "events.jsonl"
    f.write_text(text)
    proc = run(backend_env, "import", "events", str(f))
    assert proc.returncode == 1
    assert "line 3: track message needs 'event'" in proc.stdout
    assert "line 7: group message needs 'groupId'" in proc.stdout
    assert "line 5: not JSON" in proc.stdout
    report = run_json(backend_env, "import", "events", str(f), code=1)
    assert [r["line"] for r in report["rejected"]] == sorted(BAD)
    for r in report["rejected"]:
        want = BAD[r["line"]][1]
        assert want is None or r["error"] == want
    assert (report["stored"], report["duplicates"]) == (0, n_good)  # second run: all known
    rejects = run_json(backend_env, "rejects")["rejects"]
    assert {(r["source"], r["position"]) for r in rejects} == {
        ("import:events.jsonl", n) for n in BAD
    }
    assert {r["raw"] for r in rejects if r["position"] == 5} == {"this is not json"}


def test_clean_file_exits_0_and_reimport_stores_nothing(
    backend_env: dict[str, str], tmp_path: Path, events_store: Any
) -> None:
    f = tmp_path / "good.jsonl"
    f.write_text(jsonl(GOOD))
    first = run_json(backend_env, "import", "events", str(f))
    assert first == {
        "stored": len(GOOD),
        "duplicates": 0,
        "duplicates_differing": 0,
        "rejected": [],
        "strict": False,
        "stored_nothing": False,
    }
    again = run_json(backend_env, "import", "events", str(f))
    assert (again["stored"], again["duplicates"]) == (0, len(GOOD))
    changed = [dict(GOOD[3], event="Logged Out"), *GOOD[:3]]
    f.write_text(jsonl(changed))
    third = run_json(backend_env, "import", "events", str(f))
    assert (third["stored"], third["duplicates"], third["duplicates_differing"]) == (
        0,
        len(GOOD),
        1,
    )
    store = events_store()
    assert store.count() == len(GOOD)
    assert {m.user_id for m in store.messages()} == {"u1", "7"}
    assert [(t.kind, t.entity_id) for t in store.trait_rows()] == [
        ("user", "u1"),
        ("account", "acme"),
    ]
    assert [(lk.from_id, lk.to_id) for lk in store.links()] == [("a1", "u1")]


def test_strict_stores_nothing_unless_all_valid(
    backend_env: dict[str, str], tmp_path: Path
) -> None:
    text, n_good = mixed_file()
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(text)
    report = run_json(backend_env, "import", "events", "--strict", str(bad), code=1)
    assert report["stored"] == 0 and report["stored_nothing"] is True
    assert [r["line"] for r in report["rejected"]] == sorted(BAD)
    good = tmp_path / "good.jsonl"
    good.write_text(jsonl(GOOD))
    ok = run_json(backend_env, "import", "events", "--strict", str(good))
    assert ok["stored"] == n_good  # nothing of the strict failure was stored before


def test_gzip_file_and_stdin(backend_env: dict[str, str], tmp_path: Path) -> None:
    gz = tmp_path / "events.jsonl.gz"
    gz.write_bytes(gzip.compress(jsonl(GOOD[:2]).encode()))
    assert run_json(backend_env, "import", "events", str(gz))["stored"] == 2
    piped = run_json(backend_env, "import", "events", "-", stdin=jsonl(GOOD).encode())
    assert (piped["stored"], piped["duplicates"]) == (2, 2)
    more = [{"type": "track", "userId": "u9", "event": "E", "messageId": "gz-stdin"}]
    piped_gz = run_json(
        backend_env, "import", "events", "-", stdin=gzip.compress(jsonl(more).encode())
    )
    assert piped_gz["stored"] == 1


BOM = b"\xef\xbb\xbf"  # UTF-8 byte order mark, as Windows tools write at a file's start


@pytest.mark.parametrize("how", ["file", "gzip file", "stdin", "gzip stdin"])
def test_a_leading_utf8_bom_is_dropped(
    backend_env: dict[str, str], tmp_path: Path, how: str
) -> None:
    """Line 1 after a BOM is a message like the others (it was rejected as not JSON), with
    the installed executable; a BOM further on is not skipped."""
    body = BOM + jsonl(GOOD).encode()
    data = gzip.compress(body) if "gzip" in how else body
    path = tmp_path / ("events.jsonl.gz" if "gzip" in how else "events.jsonl")
    path.write_bytes(data)
    args = ["import", "events", "-" if "stdin" in how else str(path), "--format", "json"]
    proc = run_binary(backend_env, *args, stdin=data if "stdin" in how else None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = orjson.loads(proc.stdout)
    assert (report["stored"], report["rejected"]) == (len(GOOD), [])
    later = tmp_path / "later.jsonl"
    later.write_bytes(jsonl(GOOD[:1]).encode() + BOM + b'{"type": "track"}\n')
    again = orjson.loads(
        run_binary(backend_env, "import", "events", str(later), "--format", "json").stdout
    )
    assert [r["line"] for r in again["rejected"]] == [2]


ACCOUNTS_CSV = """id,name,plan,employees,mrr,owner,active,zip,updated_at
acme,Acme Inc,free,250,99.5,rep@example.com,true,00123,2026-01-15T00:00:00Z
globex,Globex,team,,,,FALSE,,
,nameless,free,1,,,,,
initech,"Initech, LLC",business,40,1e3,,,,not-a-time
"""
USERS_CSV = """id,email,account_id,seats
u1,ana@acme.com,acme,3
u2,bo@globex.com,,
u3,cy@acme.com,acme
"""


def test_csv_imports_type_cells(
    backend_env: dict[str, str], tmp_path: Path, events_store: Any
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS_CSV)
    report = run_json(backend_env, "import", "accounts", str(accounts), code=1)
    assert report["stored"] == 2
    assert report["rejected"] == [
        {"line": 4, "error": "row needs 'id'"},
        {"line": 5, "error": "'updated_at' is not an ISO-8601 time: 'not-a-time'"},
    ]
    users = tmp_path / "users.csv"
    users.write_text(USERS_CSV)
    ureport = run_json(backend_env, "import", "users", str(users), code=1)
    assert ureport["stored"] == 2
    assert ureport["rejected"] == [{"line": 4, "error": "row has 3 cells, the header has 4"}]
    store = events_store()
    rows = {(r.kind, r.entity_id): r for r in store.trait_rows()}
    acme = rows[("account", "acme")]
    assert acme.traits == {
        "name": "Acme Inc",
        "plan": "free",
        "employees": 250,
        "mrr": 99.5,
        "owner": "rep@example.com",
        "active": True,
        "zip": "00123",
    }
    assert acme.ts.isoformat() == "2026-01-15T00:00:00+00:00" and acme.source == "import"
    assert rows[("account", "globex")].traits == {"name": "Globex", "plan": "team", "active": False}
    assert rows[("user", "u1")].traits == {"email": "ana@acme.com", "seats": 3}
    assert rows[("user", "u2")].traits == {"email": "bo@globex.com"}
    assert [(m.user_id, m.account_id, m.source) for m in store.memberships()] == [
        ("u1", "acme", "import")
    ]
    assert store.count() == 0


def test_csv_strict_and_missing_id_column(
    backend_env: dict[str, str], tmp_path: Path, events_store: Any
) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(ACCOUNTS_CSV)
    report = run_json(backend_env, "import", "accounts", "--strict", str(accounts), code=1)
    assert report["stored"] == 0 and len(report["rejected"]) == 2
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,plan\nAcme,free\n")
    proc = run(backend_env, "import", "accounts", str(no_id))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: the CSV header needs an 'id' column (found: name, plan)"
    ]
    missing = run(backend_env, "import", "events", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert events_store().trait_rows() == []


def _cut_gzip(n: int) -> bytes:
    """A gzip of ``n`` valid tracks, cut at 90% of its bytes (a download that broke off)."""
    text = "".join(
        orjson.dumps(
            {"type": "track", "userId": f"u{i % 7}", "event": "E", "messageId": f"cut-{i}"}
        ).decode()
        + "\n"
        for i in range(n)
    )
    data = gzip.compress(text.encode())
    return data[: len(data) * 9 // 10]


def test_input_that_breaks_off_is_one_line_naming_what_was_stored(
    backend_env: dict[str, str], tmp_path: Path, events_store: Any
) -> None:
    """A gzip cut short, or a CSV whose bytes stop being UTF-8 after thousands of rows:
    one line on stderr, exit 1, saying how far it read and what of it was stored (was a
    bare 'aborted' after storing 2,000 lines, and 'cannot read' after storing 5,000 rows)."""
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(_cut_gzip(3000))
    strict = run(backend_env, "import", "events", "--strict", str(cut))
    assert strict.returncode == 1 and strict.stdout == ""
    assert strict.stderr.count("\n") == 1 and "nothing was stored (--strict)" in strict.stderr
    assert events_store().count() == 0
    proc = run(backend_env, "import", "events", str(cut))
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: cannot read the input past line ")
    assert "ends too early" in line
    stored = events_store().count()
    assert 0 < stored < 3000 and f"; {stored} stored from the lines before it" in line

    # a CSV gzip cut short: its message says what importing it again does with CSV rows
    rows = "".join(f"a{i},n{i}\n" for i in range(6000))
    cut_csv = tmp_path / "accounts.csv.gz"
    cut_csv.write_bytes(gzip.compress(b"id,name\n" + rows.encode())[:-300])
    proc = run(backend_env, "import", "accounts", str(cut_csv))
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert "ends too early" in line and "sets the same traits again" in line
    kept = len(events_store().trait_rows())
    assert kept >= 5000 and f"; {kept} stored from the lines before it" in line

    folder = tmp_path / "a-folder"
    folder.mkdir()
    gone = run(backend_env, "import", "events", str(folder))
    assert gone.returncode == 1
    assert gone.stderr.strip() == f"error: cannot read {folder}: a folder, not a file"


def test_installed_command_reads_gzip_from_stdin(backend_env: dict[str, str]) -> None:
    """The real executable end to end: gzip on stdin, table on stdout, exit code."""
    text, n_good = mixed_file()
    proc = run_binary(backend_env, "import", "events", "-", stdin=gzip.compress(text.encode()))
    assert proc.returncode == 1, proc.stderr
    assert "line 3: track message needs 'event'" in proc.stdout
    report = orjson.loads(
        run_binary(
            backend_env, "import", "events", "-", "--format", "json", stdin=jsonl(GOOD).encode()
        ).stdout
    )
    assert (report["stored"], report["duplicates"], report["rejected"]) == (0, n_good, [])


def test_import_runs_inside_a_live_server(tmp_path: Path) -> None:
    """With ``serve`` holding the embedded store, import is forwarded to it (and works)."""
    from test_serve import Server, stored_messages

    env = {"BEACHHEAD_DATA": str(tmp_path / "data")}
    f = tmp_path / "events.jsonl"
    text, n_good = mixed_file()
    f.write_text(text)
    srv = Server(env, tmp_path / "serve.log").start()
    try:
        report = run_json(env, "import", "events", str(f), code=1)
        assert report["stored"] == n_good
        assert [r["line"] for r in report["rejected"]] == sorted(BAD)
        piped = run_json(env, "import", "events", "-", stdin=jsonl(GOOD).encode())
        assert (piped["stored"], piped["duplicates"]) == (0, n_good)
        accounts = tmp_path / "accounts.csv"
        accounts.write_text(ACCOUNTS_CSV)
        assert run_json(env, "import", "accounts", str(accounts), code=1)["stored"] == 2
        # stdin goes to the server as the bytes read: not UTF-8 is refused there as here
        # (it was decoded with replacement characters and stored, exit 0)
        latin = run_json(
            env, "import", "accounts", "-", stdin=b"id,name\nlatin,Caf\xe9\nok,Cafe\n", code=1
        )
        assert latin["stored"] == 1
        assert latin["rejected"] == [
            {"line": 2, "error": "the bytes are not UTF-8 text (byte 0xe9)"}
        ]
        cut = run(env, "import", "events", "-", stdin=_cut_gzip(3000))
        assert cut.returncode == 1 and "ends too early" in cut.stderr
        said = re.search(r"; (\d+) stored from the lines before it", cut.stderr)
        assert said is not None, cut.stderr
    finally:
        srv.stop()
    assert len(stored_messages(env)) == n_good + int(said.group(1))


@pytest.mark.parametrize(
    ("kind", "text", "header"),
    [
        ("events", '{"type": "track", "userId": "u", "event": "E"}\n', "duplicates"),
        ("accounts", "id,plan\nacme,free\n", "rows stored"),
        ("users", "id,email\nu1,a@acme.io\n", "rows stored"),
    ],
)
def test_the_table_shows_duplicates_only_for_messages(
    backend_env: dict[str, str], tmp_path: Path, kind: str, text: str, header: str
) -> None:
    """CSV rows have no message id, so a duplicates column would always say 0."""
    f = tmp_path / ("in.jsonl" if kind == "events" else "in.csv")
    f.write_text(text)
    proc = run(backend_env, "import", kind, str(f))
    assert proc.returncode == 0, proc.stderr
    assert header in proc.stdout
    assert ("duplicates" in proc.stdout) is (kind == "events")
