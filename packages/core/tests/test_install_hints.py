"""One way to tell users what to install: every "needs package X" message ends with the exact
pip command, each requirement in single quotes (`dbos.plugins.install_hint`). The missing
packages are simulated as the other tests do (``sys.modules[name] = None`` in a fresh
interpreter)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dbos.plugins import install_hint

ROOT = Path(__file__).resolve().parents[3]


def test_the_hint_is_the_exact_quoted_command() -> None:
    assert install_hint("dbos-postgres") == "pip install 'dbos-postgres'"
    assert install_hint("dbos-client[ui]") == "pip install 'dbos-client[ui]'"
    assert install_hint("a", "b[x]") == "pip install 'a' 'b[x]'"
    with pytest.raises(ValueError):
        install_hint()


def test_no_source_spells_a_pip_command_another_way() -> None:
    # Each `pip install` in the packages' code quotes its requirement as install_hint does
    # (the helper itself and the reinstall advice of the distribution check aside).
    odd = []
    for path in sorted(ROOT.glob("packages/*/src/**/*.py")):
        if path.name == "install.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for found in re.finditer(r"pip install(.{0,2})", line):
                if found.group(1) not in (" '", " -"):
                    odd.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert odd == []


def _without(modules: list[str], code: str) -> str:
    """Run `code` in a fresh interpreter where `modules` cannot be imported; its output."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    script = "import sys\n" + blocked + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_missing_packages_name_the_command_that_installs_them() -> None:
    client = _without(
        ["dbos_client"],
        """
        import dbos
        try:
            dbos.DBOSClient
        except AttributeError as exc:
            print(exc)
        """,
    )
    assert client.strip() == (
        "dbos.DBOSClient needs the dbos-client package, which is not installed: "
        "pip install 'dbos-client'"
    )

    backend = _without(
        ["dbos_postgres"],
        """
        from dbos import DBOSConfigError
        from dbos.plugins import backend_for_url
        from dbos.storage import StorageOptions
        try:
            backend_for_url("postgresql://app:hunter2@db/app", StorageOptions())
        except DBOSConfigError as exc:
            print(exc)
        """,
    )
    assert "install dbos-postgres (pip install 'dbos-postgres')" in backend
    assert "hunter2" not in backend

    pydantic = _without(
        ["pydantic"],
        """
        from dbos import make_pydantic_args_validator
        try:
            make_pydantic_args_validator(lambda x: x)
        except ImportError as exc:
            print(exc)
        """,
    )
    assert pydantic.strip() == (
        "pydantic_args_validator needs pydantic 2 or later, which is not installed: "
        "pip install 'dbos-core[pydantic]'"
    )

    sqlalchemy = _without(
        ["sqlalchemy"],
        """
        import dbos
        try:
            dbos.SQLAlchemyDatasource
        except ImportError as exc:
            print(exc)
        """,
    )
    assert sqlalchemy.startswith(
        "dbos.SQLAlchemyDatasource needs SQLAlchemy 2 (with greenlet for async), which is not "
        "installed: pip install 'dbos-core[sqlalchemy]' (for async SQLite: "
        "pip install 'dbos-core[aiosqlite]'; "
    )


def test_the_testing_helpers_name_the_command_too() -> None:
    spans = _without(
        ["opentelemetry"],
        """
        from dbos_testing._spans import _install
        try:
            _install()
        except ModuleNotFoundError as exc:
            print(exc)
        """,
    )
    assert spans.strip() == (
        "catching spans needs the OpenTelemetry SDK, which is not installed: "
        "pip install 'dbos-core[otel]'"
    )


def test_the_postgres_test_server_hint_names_the_command() -> None:
    # The hint lives in the Postgres backend: absent where core runs without a driver.
    pytest.importorskip("dbos_postgres")
    server = _without(
        ["dbos_testing.postgres"],
        """
        from dbos_postgres._testdb import _unavailable
        print(_unavailable())
        """,
    )
    assert server.strip() == (
        "Postgres tests get their server from dbos-testing (pip install 'dbos-testing[postgres]')"
    )
