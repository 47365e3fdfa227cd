"""``beachhead demo``: from nothing to a served app on a believable company, in one command.

The phases, each reported to a ``Phases`` listener (the CLI draws a Rich bar per phase):

1. **generate** the demo company's files (``demo.generator``) into ``<dir>/files``;
2. **import** them through the product's own importers, as ``beachhead import`` would;
3. **replay** evaluations day by day over the last ``REPLAY_DAYS`` days of the data, so that
   qualifications, routing, conversions and stage history exist as after weeks of use (the
   data's end is fixed, so the replay is too, whatever today's date);
4. **people**: a demo admin and every rep of the sales org as app users who can sign in;
5. **serve** the app (``serve_demo``).

Everything lives in one folder (default ``./.beachhead-demo``): the embedded stores, the
generated files, the demo's ``beachhead.yml`` and ``demo.json`` (what was built and the
sign-in). The folder is always embedded storage, even when ``BEACHHEAD_DATABASE_URL`` is
set, so the demo never mixes with a user's own data. Re-running starts clean: a folder this
module made (it holds ``demo.json``) is emptied first; any other non-empty folder is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from beachhead.config import Settings
from beachhead.runtime import Runtime, find_server

if TYPE_CHECKING:
    from beachhead.rules.model import Config, Team

DEFAULT_DIR = Path(".beachhead-demo")
MARKER = "demo.json"  # what makes a folder a demo folder (safe to empty on a re-run)
FILES_DIR = "files"
CONFIG_FILE = "beachhead.yml"
REPLAY_DAYS = 60
ADMIN_EMAIL = "admin@tallyboard.io"
ADMIN_NAME = "Demo Admin"
IMPORT_BATCH = 20_000  # lines per append: half the time of the default 2,000 on the demo
PHASES = ("generate", "import", "replay", "people", "serve")


class DemoError(Exception):
    """A one-line reason the demo cannot run as asked (bad folder, a server already on it)."""


class Phases(Protocol):
    """Listener for progress: a phase begins with a total (None: unknown), advances, ends."""

    def begin(self, phase: str, total: int | None) -> None: ...

    def advance(self, phase: str, done: int, total: int | None = None) -> None: ...

    def end(self, phase: str) -> None: ...


class NoPhases:
    """A listener that ignores everything (tests, scripts)."""

    def begin(self, phase: str, total: int | None) -> None:
        del phase, total

    def advance(self, phase: str, done: int, total: int | None = None) -> None:
        del phase, done, total

    def end(self, phase: str) -> None:
        del phase


@dataclass(frozen=True, slots=True)
class Person:
    """An app user the demo made; every one signs in with the demo's password."""

    email: str
    role: str
    team: str | None
    name: str


@dataclass(slots=True)
class DemoResult:
    """What a run built: where, with what sign-in, and what the replay produced."""

    root: Path
    settings: Settings
    password: str
    people: list[Person]
    scale: str
    seed: int
    messages: int
    accounts: int
    users: int
    rejected: int
    replay_from: datetime
    as_of: datetime
    evaluations: int
    qualifications: dict[str, int]  # by PQL key, every status
    statuses: dict[str, int]  # by status
    stage_moves: int  # stage changes after the first evaluation
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    cpu: dict[str, float] = field(default_factory=dict)  # phase -> CPU seconds, all threads
    note: str = ""  # what was done to the folder first, when anything

    @property
    def admin(self) -> Person:
        return next(p for p in self.people if p.role == "admin")

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": str(self.root),
            "config": str(self.settings.config),
            "sign_in": {"email": self.admin.email, "password": self.password},
            "people": [asdict(p) for p in self.people],
            "scale": self.scale,
            "seed": self.seed,
            "messages": self.messages,
            "accounts": self.accounts,
            "users": self.users,
            "rejected": self.rejected,
            "replay_from": _iso(self.replay_from),
            "as_of": _iso(self.as_of),
            "evaluations": self.evaluations,
            "qualifications": self.qualifications,
            "statuses": self.statuses,
            "stage_moves": self.stage_moves,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "cpu": {k: round(v, 2) for k, v in self.cpu.items()},
        }


def _iso(t: datetime) -> str:
    from beachhead.lifecycle_service import iso

    return iso(t)


def demo_settings(root: Path, config: Path | None = None) -> Settings:
    """Embedded stores in ``root`` (never ``BEACHHEAD_DATABASE_URL``), the demo's config."""
    return Settings(
        config=config if config is not None else root / CONFIG_FILE,
        data=root,
        database_url=None,
    )


# --------------------------------------------------------------------------- the folder


def prepare_folder(root: Path) -> str:
    """Make ``root`` an empty demo folder; a sentence on what was done ("" if nothing).

    Refuses (DemoError) a folder that holds other things, and one a live server is using.
    """
    if root.exists() and not root.is_dir():
        raise DemoError(f"{root} is a file, not a folder; choose another --data")
    if root.is_dir() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise DemoError(
                f"{root} is not empty and is not a demo folder (no {MARKER}); "
                "choose another --data or remove it"
            )
        info = find_server(demo_settings(root), timeout=2.0)
        if info is not None:
            raise DemoError(
                f"a demo is being served from {root} at {info.url} (pid {info.pid}); "
                "stop it first (Ctrl-C in its terminal)"
            )
        shutil.rmtree(root)
        note = f"removed the previous demo in {root} and started clean"
    else:
        note = ""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".gitignore").write_text("# made by beachhead demo\n*\n", encoding="utf-8")
    _write_marker(root, {"state": "building"})
    return note


def _write_marker(root: Path, data: dict[str, Any]) -> None:
    """``demo.json``, readable by the owner only (it holds the demo's password)."""
    path = root / MARKER
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def demo_config_text(sales_org_yml: str) -> str:
    """The shipped template with the generated sales org's ``teams:``/``routing:`` appended.

    No alert target: the template's alert example stays commented, so nothing is sent
    anywhere (the demo works offline).
    """
    from beachhead.cli.rules_cmds import template_text

    return template_text().rstrip("\n") + "\n\n" + sales_org_yml.strip("\n") + "\n"


# --------------------------------------------------------------------------- phases


@contextmanager
def _phase(
    phases: Phases,
    timings: dict[str, float],
    name: str,
    total: int | None,
    cpu: dict[str, float] | None = None,
) -> Iterator[None]:
    """Time a phase: wall seconds in ``timings``, CPU seconds of the process in ``cpu``.

    Both, because on a busy machine the wall time says more about the other processes
    than about the demo.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    phases.begin(name, total)
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - started
        if cpu is not None:
            cpu[name] = time.process_time() - cpu_started
        phases.end(name)


def import_files(runtime: Runtime, files: Path, at: datetime, phases: Phases, total: int) -> int:
    """Events, accounts and users through the ordinary importers; how many lines rejected.

    ``at`` is the import's time for CSV rows without ``updated_at`` (the end of the data).
    """
    from beachhead.demo.generator import FILES
    from beachhead.ingest.importers import import_accounts, import_events, import_users

    store, sink = runtime.events, runtime.state.add_rejects
    with (files / FILES["events"]).open("rb") as fb:
        report = import_events(
            store,
            sink,
            fb,
            f"import:{FILES['events']}",
            progress=lambda n: phases.advance("import", n),
            batch_lines=IMPORT_BATCH,
        )
    rejected = len(report.rejected)
    for name, importer in (("accounts", import_accounts), ("users", import_users)):
        with (files / FILES[name]).open(encoding="utf-8", newline="") as ft:
            rejected += len(importer(store, sink, ft, f"import:{FILES[name]}", now=at).rejected)
    phases.advance("import", total)
    return rejected


def replay(
    runtime: Runtime,
    config: Config,
    start: datetime,
    end: datetime,
    phases: Phases,
    step: timedelta = timedelta(days=1),
) -> int:
    """Recorded evaluations at ``start``, ``start + step``, ..., ``end``; how many."""
    from beachhead.lifecycle_service import replay_times, run_replay

    count = len(replay_times(start, end, step))
    phases.advance("replay", 0, count)
    _, steps = run_replay(
        runtime,
        config,
        start,
        end,
        step,
        progress=lambda i, _n, _t: phases.advance("replay", i),
    )
    phases.advance("replay", count)
    return len(steps)


def _name_of(email: str) -> str:
    """``maya.lopez@tallyboard.io`` -> ``Maya Lopez``."""
    local = email.split("@", 1)[0]
    return " ".join(part.capitalize() for part in local.replace("_", ".").split(".") if part)


def demo_people(teams: tuple[Team, ...] | list[Team]) -> list[Person]:
    """The demo admin, then every rep of every team (role rep, their team)."""
    people = [Person(ADMIN_EMAIL, "admin", None, ADMIN_NAME)]
    seen = {ADMIN_EMAIL}
    for team in teams:
        for rep in team.reps:
            email = rep.email.strip().lower()
            if email in seen:
                continue
            seen.add(email)
            people.append(Person(email, "rep", team.key, rep.name or _name_of(email)))
    return people


def create_demo_people(
    runtime: Runtime,
    teams: tuple[Team, ...] | list[Team],
    password: str,
    phases: Phases | None = None,
) -> list[Person]:
    """App users for the demo admin and the sales org's reps, all with ``password``."""
    from beachhead.store.app_users import AppUserStore

    users = AppUserStore(runtime.state)
    people = demo_people(teams)
    done = 0
    counting = threading.Lock()

    def create(p: Person) -> None:
        nonlocal done
        users.create(p.email, password, p.role, p.team, p.name)
        with counting:
            done += 1
            if phases is not None:
                phases.advance("people", done, len(people))

    # argon2 is slow on purpose and releases the GIL: hash a few at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, people))
    return people


def new_password() -> str:
    """A fresh password per demo: a served demo is not a known password away from anyone."""
    return secrets.token_urlsafe(9)


# --------------------------------------------------------------------------- the run


def build_demo(
    root: Path = DEFAULT_DIR,
    scale: str = "small",
    seed: int = 42,
    config: Path | None = None,
    replay_days: int = REPLAY_DAYS,
    password: str | None = None,
    phases: Phases | None = None,
    step: timedelta = timedelta(days=1),
) -> DemoResult:
    """Every phase but serving; the result says what was built and how long each took.

    ``config``: evaluate these definitions instead of the template plus the sales org.
    ``replay_days`` 0 records a single evaluation at the end of the data.
    """
    from beachhead.demo import generator
    from beachhead.lifecycle_service import read_config
    from beachhead.store.app_users import check_password
    from beachhead.store.qualifications import QualificationStore

    ph: Phases = phases if phases is not None else NoPhases()
    password = check_password(password) if password is not None else new_password()
    if replay_days < 0:
        raise DemoError(f"--replay-days must be 0 or more, got {replay_days}")
    given = read_config(config) if config is not None else None  # bad definitions: fail now
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    note = prepare_folder(root)
    files = root / FILES_DIR
    spec = generator.parse_scale(scale)
    with _phase(ph, timings, "generate", None, cpu):
        manifest = generator.generate(
            scale,
            seed,
            files,
            progress=lambda _p, done, total: ph.advance("generate", done, total),
        )
    if config is None:
        config_path = root / CONFIG_FILE
        sales_org = (files / generator.FILES["sales_org"]).read_text(encoding="utf-8")
        config_path.write_text(demo_config_text(sales_org), encoding="utf-8")
    else:
        config_path = config
    settings = demo_settings(root, config_path)
    definitions = given if given is not None else read_config(config_path)
    data_end = generator.window(manifest.end)[1]
    as_of = data_end - timedelta(seconds=1)  # the last moment of the data: all of it seen
    start = as_of - timedelta(days=replay_days)
    runtime = Runtime(settings)
    try:
        with _phase(ph, timings, "import", manifest.messages, cpu):
            rejected = import_files(runtime, files, as_of, ph, manifest.messages)
        with _phase(ph, timings, "replay", None, cpu):
            evaluations = replay(runtime, definitions, start, as_of, ph, step)
        with _phase(ph, timings, "people", None, cpu):
            people = create_demo_people(runtime, definitions.teams, password, ph)
        quals = QualificationStore(runtime.state)
        found = quals.find()
        moves = [c for c in quals.stage_history() if not c.initial]
    finally:
        runtime.close()
    result = DemoResult(
        root=root,
        settings=settings,
        password=password,
        people=people,
        scale=spec.label,
        seed=seed,
        messages=manifest.messages,
        accounts=manifest.accounts,
        users=manifest.users,
        rejected=rejected,
        replay_from=start,
        as_of=as_of,
        evaluations=evaluations,
        qualifications=dict(sorted(Counter(q.pql for q in found).items())),
        statuses=dict(sorted(Counter(q.status for q in found).items())),
        stage_moves=len(moves),
        timings=timings,
        cpu=cpu,
        note=note,
    )
    _write_marker(root, {"state": "built", **result.to_json()})
    return result


# --------------------------------------------------------------------------- serving


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """Listen now (before the long build), so a busy port fails at once; the socket and URL.

    Port 0 picks a free port; the URL names the real one.
    """
    from beachhead.cli.serve import _bind

    try:
        sock = _bind(host, port)
    except OSError as exc:
        hint = "; try --port 0 for any free port" if port else ""
        raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from exc
    url = f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}"
    return sock, url


def serve_demo(
    settings: Settings,
    sock: socket.socket,
    url: str,
    on_ready: Callable[[str], None],
) -> None:
    """Serve the app on the demo folder until interrupted; ``on_ready(url)`` once it answers."""
    import uvicorn

    from beachhead.runtime import ServerInfo, remove_server_info
    from beachhead.web.app import create_app

    app = create_app(settings)
    app.state.advertise = ServerInfo(os.getpid(), url, secrets.token_urlsafe(32))
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )

    def wait_ready() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            on_ready(url)

    watcher = threading.Thread(target=wait_ready, name="demo-ready", daemon=True)
    watcher.start()
    try:
        server.run(sockets=[sock])
    finally:
        remove_server_info(settings, os.getpid())
        sock.close()
