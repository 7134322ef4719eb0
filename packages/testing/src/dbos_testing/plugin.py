"""The ``dbos`` pytest plugin (entry point ``pytest11``): system databases for tests.

Fixtures:
    dbos_backend: ``"sqlite"`` or ``"postgres"``; tests using any database fixture run once per
        selected backend (``--dbos-backend=all|sqlite|postgres``, env ``DBOS_TEST_BACKENDS``).
    dbos_postgres_admin_url: (session) maintenance-database URL of the test Postgres server:
        ``DBOS_TEST_DATABASE_URL``'s server, or one throwaway server started once per session,
        of the major ``DBOS_TEST_PG_VERSION`` names (default 16; see `_postgres_server`). Tests
        using it directly are Postgres tests: skipped unless the postgres backend is selected.
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
from dbos.plugins import plugin_manager

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
    # A bad selection is a usage error before anything is collected; so is Postgres asked for
    # by name (--dbos-backend, DBOS_TEST_BACKENDS or DBOS_TEST_PG_VERSION) but unavailable.
    backends, explicit = _requested(config)
    if "postgres" in backends and (explicit or os.environ.get(pg.ENV_VERSION)):
        reason = _postgres_unavailable(config)
        if reason:
            raise pytest.UsageError(reason)


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


_UNAVAILABLE = pytest.StashKey[str | None]()


def _postgres_unavailable(config: pytest.Config) -> str | None:
    """Why this session cannot have Postgres (missing modules or server binaries), if so."""
    if _UNAVAILABLE not in config.stash:
        missing = [m for m in ("dbos_postgres", "psycopg") if importlib.util.find_spec(m) is None]
        reason = f"Postgres tests need: {', '.join(missing)}" if missing else None
        config.stash[_UNAVAILABLE] = reason or pg.unavailable_reason()
    return config.stash[_UNAVAILABLE]


def _postgres_marks(config: pytest.Config) -> list[pytest.MarkDecorator]:
    """Skip marks for a Postgres test when Postgres is unavailable (and was not asked for by
    name: that is a usage error in `pytest_configure`)."""
    reason = _postgres_unavailable(config)
    return [] if reason is None else [pytest.mark.skip(reason=reason)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dbos_backend" not in metafunc.fixturenames:
        return
    backends, _ = _requested(metafunc.config)
    if metafunc.definition.get_closest_marker("postgres_only"):
        backends = tuple(b for b in backends if b == "postgres")
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = tuple(b for b in backends if b == "sqlite")
    params = []
    for backend in backends:
        marks = _postgres_marks(metafunc.config) if backend == "postgres" else []
        params.append(pytest.param(backend, id=backend, marks=marks))
    if not params:
        params = [pytest.param(None, marks=pytest.mark.skip(reason="backend not selected"))]
    metafunc.parametrize("dbos_backend", params, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the Postgres server directly (not through ``dbos_backend``) are
    Postgres tests: they run only when Postgres is selected and available."""
    backends, _ = _requested(config)
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "dbos_postgres_admin_url" not in names or "dbos_backend" in names:
            continue
        if "postgres" not in backends:
            item.add_marker(pytest.mark.skip(reason="backend not selected"))
            continue
        for mark in _postgres_marks(config):
            item.add_marker(mark)


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
