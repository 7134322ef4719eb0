"""The ``dbos`` pytest plugin (entry point ``pytest11``): system databases for tests.

The backends come from the installed ``dbos`` plugins: each contributes its test database
through the ``dbos_test_backends`` hook (`dbos.plugins.BackendForTests`), so a third backend
needs no change here. This project's own: ``sqlite`` (a file per test) and ``postgres`` (see
``dbos_postgres._testdb``).

Fixtures:
    dbos_backend: the backend's name (``"sqlite"``, ``"postgres"``, ...); tests using any
        database fixture run once per selected backend (``--dbos-backend=all|<name>``, env
        ``DBOS_TEST_BACKENDS=name,...``; default: every contributed backend).
    dbos_test_databases: (session) ``open(name)``: that backend's `DatabasesForTests` for this
        session, set up on first use and torn down at the session's end.
    dbos_postgres_admin_url: (session) maintenance-database URL of the test Postgres server:
        ``DBOS_TEST_DATABASE_URL``'s server, or one throwaway server started once per session,
        of the major ``DBOS_TEST_PG_VERSION`` names (default 16; see `_postgres_server`). Tests
        using it directly are Postgres tests: skipped unless the postgres backend is selected.
    dbos_postgres_template: (session) the migrated database that test databases are cloned from.
    dbos_system_database_url: a fresh, migrated system database for this test.
    dbos_storage: a set-up `SystemStorage` on that database.
    dbos: a launched `DBOS` on that database, destroyed after the test.
    dbos_crash: a `CrashPlan`: crash workflows at chosen points in this process.
    dbos_faults: a `FaultInjector`: make storage calls fail, drop connections.
    dbos_spans: a `SpanCatcher`: the OpenTelemetry spans finished during this test (needs the
        OpenTelemetry SDK: ``dbos-core[otel]``).

Markers: ``dbos_backends("name", ...)`` (run on those backends only), and its shorthands
``postgres_only``, ``sqlite_only``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest

from dbos import DBOS, SystemStorage
from dbos.plugins import BackendForTests, DatabasesForTests, broken_plugins, plugin_manager

from ._crash import CrashPlan
from ._faults import FaultInjector
from ._spans import SpanCatcher, span_catcher
from ._storage import storage_for_url

_ENV_BACKENDS = "DBOS_TEST_BACKENDS"
_ENV_PG_VERSION = "DBOS_TEST_PG_VERSION"
#: Markers that name the backends a test runs on.
_SHORTHANDS = {"postgres_only": ("postgres",), "sqlite_only": ("sqlite",)}
#: This project's backends that may be missing from an installation (a hint only, as core's
#: for URL schemes): their tests are then skipped saying what to install, as before the hook.
_KNOWN = {"postgres": ("Postgres", ("dbos_postgres", "psycopg"), _ENV_PG_VERSION)}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dbos")
    group.addoption(
        "--dbos-backend",
        default=None,
        metavar="all|NAME",
        help="system database backend(s) for dbos tests: all, or the name of an installed "
        "backend (sqlite, postgres, ...; default: all, or $DBOS_TEST_BACKENDS)",
    )


@pytest.hookimpl(trylast=True)  # after conftests and other plugins registered their backends
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dbos_backends(*names): run this test on the named backends only"
    )
    config.addinivalue_line("markers", "postgres_only: run this test on Postgres only")
    config.addinivalue_line("markers", "sqlite_only: run this test on SQLite only")
    # A bad selection is a usage error before anything is collected; so is a backend asked
    # for by name (--dbos-backend, DBOS_TEST_BACKENDS, or the backend's own variable such as
    # DBOS_TEST_PG_VERSION) but unavailable.
    names, explicit = _requested(config)
    backends = _backends(config)
    for name in names:
        if explicit or backends[name].required_by_environment():
            reason = _unavailable(config, name)
            if reason:
                raise pytest.UsageError(reason)


_BACKENDS = pytest.StashKey[dict[str, BackendForTests]]()


def _backends(config: pytest.Config) -> dict[str, BackendForTests]:
    """The contributed test backends by name, in their order (asked once per session)."""
    if _BACKENDS not in config.stash:
        found: dict[str, BackendForTests] = {}
        for contributed in plugin_manager().hook.dbos_test_backends():
            for backend in contributed:
                if backend.name == "all":
                    raise pytest.UsageError("a dbos plugin names a test backend 'all'")
                if backend.name in found:
                    raise pytest.UsageError(
                        f"two dbos plugins contribute a test backend named {backend.name!r}"
                    )
                found[backend.name] = backend
        for name, (label, modules, variable) in _KNOWN.items():
            if name not in found:
                found[name] = _missing(name, label, modules, variable)
        config.stash[_BACKENDS] = dict(sorted(found.items(), key=lambda i: (i[1].order, i[0])))
    return config.stash[_BACKENDS]


def _missing(name: str, label: str, modules: tuple[str, ...], variable: str) -> BackendForTests:
    """A stand-in for one of this project's backends that is not installed (or failed to
    load): its tests are skipped, or it is a usage error when asked for."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{label} tests need: {', '.join(missing)}"
    else:
        failures = "; ".join(f"{n}: {e}" for n, e in broken_plugins().items())
        reason = f"no installed dbos plugin contributes {label} test databases" + (
            f" (failed to load: {failures})" if failures else ""
        )

    def refuse() -> AbstractContextManager[DatabasesForTests]:
        raise RuntimeError(reason)

    return BackendForTests(
        name=name,
        open_session=refuse,
        unavailable=lambda: reason,
        required_by_environment=lambda: bool(os.environ.get(variable)),
        order=10,
    )


def _requested(config: pytest.Config) -> tuple[tuple[str, ...], bool]:
    """The selected backends, and whether the user chose them explicitly."""
    known = tuple(_backends(config))
    option = config.getoption("--dbos-backend")
    if option is None and os.environ.get(_ENV_BACKENDS):
        chosen = tuple(b.strip() for b in os.environ[_ENV_BACKENDS].split(",") if b.strip())
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise pytest.UsageError(f"{_ENV_BACKENDS} names unknown backend(s): {unknown}")
        return chosen, True
    if option in (None, "all"):
        return known, False
    if option not in known:
        raise pytest.UsageError(
            f"--dbos-backend: unknown backend {option!r} (choose from all, {', '.join(known)})"
        )
    return (option,), True


_UNAVAILABLE = pytest.StashKey[dict[str, str | None]]()


def _unavailable(config: pytest.Config, name: str) -> str | None:
    """Why this session cannot have backend `name` (asked once per session), if so."""
    reasons = config.stash.setdefault(_UNAVAILABLE, {})
    if name not in reasons:
        reasons[name] = _backends(config)[name].unavailable()
    return reasons[name]


def _skip_marks(config: pytest.Config, name: str) -> list[pytest.MarkDecorator]:
    """Skip marks for a test on backend `name` when it is unavailable (and was not asked for
    by name: that is a usage error in `pytest_configure`)."""
    reason = _unavailable(config, name)
    return [] if reason is None else [pytest.mark.skip(reason=reason)]


def _allowed(definition: pytest.Item) -> set[str] | None:
    """The backends the test's markers allow it, or None if they do not restrict it."""
    allowed: set[str] | None = None
    for marker, names in _SHORTHANDS.items():
        if definition.get_closest_marker(marker):
            allowed = set(names) if allowed is None else allowed & set(names)
    for mark in definition.iter_markers("dbos_backends"):
        named = {str(name) for name in mark.args}
        allowed = named if allowed is None else allowed & named
    return allowed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dbos_backend" not in metafunc.fixturenames:
        return
    backends, _ = _requested(metafunc.config)
    allowed = _allowed(metafunc.definition)
    if allowed is not None:
        backends = tuple(b for b in backends if b in allowed)
    params = [
        pytest.param(name, id=name, marks=_skip_marks(metafunc.config, name)) for name in backends
    ]
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
        for mark in _skip_marks(config, "postgres"):
            item.add_marker(mark)


@pytest.fixture
def dbos_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def dbos_test_databases(
    pytestconfig: pytest.Config,
) -> Iterator[Callable[[str], DatabasesForTests]]:
    """``open(name)``: backend `name`'s test databases for this session, opened on first use;
    all are closed (servers stopped, templates dropped) when the session ends."""
    opened: dict[str, DatabasesForTests] = {}
    with ExitStack() as stack:

        def open_backend(name: str) -> DatabasesForTests:
            if name not in opened:
                backend = _backends(pytestconfig)[name]
                opened[name] = stack.enter_context(backend.open_session())
            return opened[name]

        yield open_backend


@pytest.fixture(scope="session")
def dbos_postgres_admin_url(dbos_test_databases: Callable[[str], DatabasesForTests]) -> str:
    url = dbos_test_databases("postgres").server_url
    assert url is not None, "the postgres test backend names no server"
    return url


@pytest.fixture(scope="session")
def dbos_postgres_template(dbos_test_databases: Callable[[str], DatabasesForTests]) -> str:
    # Postgres's own attribute (see dbos_postgres._testdb), not part of the protocol.
    template = getattr(dbos_test_databases("postgres"), "template", None)
    if template is None:
        raise RuntimeError("the postgres test backend makes no template")
    return str(template())


@pytest.fixture
def dbos_system_database_url(
    dbos_backend: str,
    dbos_test_databases: Callable[[str], DatabasesForTests],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    scratch: Path = tmp_path_factory.mktemp("dbos")
    with dbos_test_databases(dbos_backend).fresh_database(scratch) as url:
        yield url


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


@pytest.fixture
def dbos_spans() -> Iterator[SpanCatcher]:
    """The process's `SpanCatcher`, cleared before and after the test: ``dbos_spans()`` is the
    spans finished during the test, once they have settled."""
    catcher = span_catcher()
    catcher.clear()
    yield catcher
    catcher.clear()
