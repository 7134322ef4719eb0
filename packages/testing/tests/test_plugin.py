"""The plugin as a user sees it, run in a nested pytest session (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

USER_TESTS = """
import psycopg
from pathlib import Path

import pytest

def test_url(dbos_system_database_url, dbos_backend):
    assert dbos_system_database_url.startswith(
        "sqlite" if dbos_backend == "sqlite" else "postgresql"
    )

@pytest.mark.postgres_only
def test_first_creates_a_table(dbos_system_database_url):
    with psycopg.connect(dbos_system_database_url, autocommit=True) as c:
        c.execute("CREATE TABLE leftover (x int)")

@pytest.mark.postgres_only
def test_second_gets_a_fresh_database(dbos_system_database_url):
    with psycopg.connect(dbos_system_database_url, autocommit=True) as c:
        assert c.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
        # ...cloned from the migrated template
        assert c.execute("SELECT to_regclass('dbos.workflow_status')").fetchone() != (None,)

def test_launched_dbos(dbos):
    @dbos.workflow()
    def hello(name):
        return f"hello {name}"
    assert hello("world") == "hello world"
"""


@pytest.fixture
def reuse_server(monkeypatch: pytest.MonkeyPatch, dbos_postgres_admin_url: str) -> None:
    # The nested session uses this session's Postgres instead of starting another one.
    monkeypatch.setenv("DBOS_TEST_DATABASE_URL", dbos_postgres_admin_url)
    monkeypatch.delenv("DBOS_TEST_BACKENDS", raising=False)


@pytest.mark.usefixtures("reuse_server")
def test_every_backend_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_url?sqlite? PASSED*", "*test_url?postgres? PASSED*"])


@pytest.mark.usefixtures("reuse_server")
def test_one_backend_on_request(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--dbos-backend=sqlite")
    # The postgres-only tests have no backend left to run on.
    result.assert_outcomes(passed=2, skipped=2)


def test_unknown_backend_in_environment_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBOS_TEST_BACKENDS", "sqlite,oracle")
    pytester.makepyfile(test_user="def test_x(dbos_system_database_url): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*DBOS_TEST_BACKENDS names unknown backend(s)*oracle*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


# Takes the Postgres backend's plugin out of dbos's plugin manager for the nested session, as
# if dbos-postgres were installed but failed to load.
WITHOUT_POSTGRES_PLUGIN = """
import pytest
from dbos.plugins import plugin_manager

REMOVED = []

@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    plugin = plugin_manager().get_plugin("postgres")
    if plugin is not None:
        plugin_manager().unregister(plugin)
        REMOVED.append(plugin)

def pytest_unconfigure(config):
    while REMOVED:
        plugin_manager().register(REMOVED.pop(), name="postgres")
"""


def test_postgres_without_its_plugin_is_skipped_saying_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBOS_TEST_BACKENDS", raising=False)
    monkeypatch.delenv("DBOS_TEST_PG_VERSION", raising=False)
    pytester.syspathinsert()
    pytester.makepyfile(
        without_postgres=WITHOUT_POSTGRES_PLUGIN,
        test_user="def test_x(dbos_system_database_url): pass",
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "without_postgres", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no installed dbos plugin contributes Postgres test databases*"])
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-p", "without_postgres", "--dbos-backend=postgres"
    )
    result.stderr.fnmatch_lines(["*no installed dbos plugin contributes Postgres*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


CRASH_AND_FAULT_TESTS = """
import pytest
from dbos import DBOS, SetWorkflowID
from dbos_testing import SimulatedCrash

@DBOS.step()
def charge(order):
    return f"charged {order}"

@DBOS.step()
def ship(order):
    return f"shipped {order}"

@DBOS.workflow()
def checkout(order):
    return [charge(order), ship(order)]

def test_checkout_survives_a_crash_after_charging(dbos, dbos_crash):
    dbos_crash.after_checkpoint(1)  # the first step (operations count from 1)
    with SetWorkflowID("order-1"), pytest.raises(SimulatedCrash):
        checkout("order-1")
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == ["charged order-1", "shipped order-1"]
    assert dbos_crash.ran("charge") == 1  # never charged twice

def test_checkout_survives_flaky_storage(dbos, dbos_faults, dbos_crash):
    dbos_faults.fail("record_step", nth=1).fail("finish_workflow", nth=1, after_commit=True)
    assert checkout("order-2") == ["charged order-2", "shipped order-2"]
    assert dbos_crash.ran("charge") == 1
    assert sum(dbos_faults.injected.values()) == 2
"""


@pytest.mark.usefixtures("reuse_server")
def test_crash_and_fault_fixtures_in_a_user_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checkout=CRASH_AND_FAULT_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)  # two tests, each on SQLite and Postgres


DIRECT_SERVER_TEST = """
def test_uses_the_server_directly(dbos_postgres_admin_url):
    assert dbos_postgres_admin_url.startswith("postgresql")
"""


def test_direct_server_tests_are_postgres_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A major that does not exist here: starting a server would fail the test.
    monkeypatch.delenv("DBOS_TEST_DATABASE_URL", raising=False)
    monkeypatch.setenv("DBOS_TEST_PG_VERSION", "9")
    pytester.makepyfile(test_user=DIRECT_SERVER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--dbos-backend=sqlite")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*backend not selected*"])


def test_an_unavailable_major_asked_for_by_name_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBOS_TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("DBOS_TEST_BACKENDS", raising=False)
    monkeypatch.delenv("DBOS_TEST_PG_BINDIR", raising=False)
    monkeypatch.setenv("DBOS_TEST_PG_VERSION", "9")
    pytester.makepyfile(test_user=DIRECT_SERVER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*no Postgres 9 on this machine*postgresql-9*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # ...but not when Postgres is not selected at all.
    result = pytester.runpytest("-p", "no:cacheprovider", "--dbos-backend=sqlite")
    result.assert_outcomes(skipped=1)


def _binaries_major() -> tuple[int, str] | None:
    from dbos_testing import _postgres_binaries as binaries

    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        major = binaries.server_major(folder)
        if major is not None and not binaries.missing_programs(folder):
            return major, str(folder)
    return None


BINARIES = _binaries_major()


@pytest.mark.skipif(BINARIES is None, reason="no /usr/lib/postgresql/<major>/bin here")
def test_a_major_from_binaries_runs_the_postgres_tests(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert BINARIES is not None
    major, bindir = BINARIES
    monkeypatch.delenv("DBOS_TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("DBOS_TEST_BACKENDS", raising=False)
    monkeypatch.setenv("DBOS_TEST_PG_VERSION", str(major))
    monkeypatch.setenv("DBOS_TEST_PG_BINDIR", bindir)
    pytester.makepyfile(
        test_user=f"""
import psycopg

def test_major(dbos_system_database_url):
    with psycopg.connect(dbos_system_database_url) as c:
        (version,) = c.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert version // 10000 == {major}
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--dbos-backend=postgres")
    result.assert_outcomes(passed=1)
