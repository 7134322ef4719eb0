"""A third backend contributes its test database through ``dbos_test_backends`` and a user's
ordinary tests run on it, with no change to dbos_testing (issue 10, item 6): the backend is a
plugin of the nested pytest session (pytester), registered with dbos's plugin manager."""

from __future__ import annotations

from pathlib import Path

import pytest

# The "memo" backend: ``memo:///path`` URLs, stored by the SQLite backend at that path (what
# matters here is the routing and the test databases, not another storage engine). It writes
# what happens to its session to memo.log, for the outer test to read.
MEMO_BACKEND = """
import os
from contextlib import contextmanager
from pathlib import Path

from dbos.plugins import BackendForTests, backend_for_url, hookimpl, plugin_manager
from dbos.storage import url_scheme

LOG = Path(__file__).with_name("memo.log")


def log(line):
    with LOG.open("a") as f:
        f.write(line + "\\n")


class MemoDatabases:
    server_url = None

    @contextmanager
    def fresh_database(self, scratch):
        log("fresh")
        yield f"memo:///{scratch}/memo.sqlite"
        log("dropped")


class MemoBackend:
    @hookimpl
    def dbos_storage_for_url(self, url, options):
        if url_scheme(url) != "memo":
            return None
        log("storage")
        return backend_for_url("sqlite" + url[len("memo"):], options)

    @hookimpl
    def dbos_test_backends(self):
        return [
            BackendForTests(
                name="memo",
                open_session=self.open_session,
                unavailable=lambda: os.environ.get("MEMO_DOWN") or None,
                order=5,
            )
        ]

    @contextmanager
    def open_session(self):
        log("open")
        yield MemoDatabases()
        log("close")


BACKEND = MemoBackend()


def pytest_configure(config):
    plugin_manager().register(BACKEND, name="memo-test-backend")


def pytest_unconfigure(config):
    plugin_manager().unregister(BACKEND)
"""

USER_TESTS = """
import pytest


def test_checkout(dbos, dbos_backend, dbos_system_database_url):
    assert dbos_system_database_url.startswith("memo://" if dbos_backend == "memo" else "sqlite")

    @dbos.workflow()
    def checkout(order):
        return f"order {order} done"

    assert checkout(1) == "order 1 done"


def test_storage(dbos_storage):
    assert dbos_storage.list_workflows  # a set-up SystemStorage on the test's database


@pytest.mark.dbos_backends("memo")
def test_memo_only(dbos_backend):
    assert dbos_backend == "memo"


@pytest.mark.sqlite_only
def test_sqlite_only(dbos_backend):
    assert dbos_backend == "sqlite"
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("DBOS_TEST_BACKENDS", raising=False)
    monkeypatch.delenv("MEMO_DOWN", raising=False)
    pytester.syspathinsert()
    pytester.makepyfile(memo_backend=MEMO_BACKEND, test_user=USER_TESTS)
    return pytester


def _log(project: pytest.Pytester) -> list[str]:
    path = Path(project.path, "memo.log")
    return path.read_text().split() if path.exists() else []


def test_a_contributed_backend_runs_ordinary_tests(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "-p", "memo_backend", "-v", "-rs",
                               "--dbos-backend=memo")  # fmt: skip
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["*test_checkout?memo? PASSED*", "*backend not selected*"])
    log = _log(project)
    # One session set-up and tear-down around every test's own database.
    assert log[0] == "open" and log[-1] == "close" and log.count("open") == 1
    assert log.count("fresh") == log.count("dropped") == 2  # test_memo_only needs none
    assert "storage" in log  # the fixtures reached the memo backend through its URLs


def test_a_contributed_backend_sits_beside_the_others(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBOS_TEST_BACKENDS", "sqlite,memo")
    result = project.runpytest("-p", "no:cacheprovider", "-p", "memo_backend", "-v")
    result.assert_outcomes(passed=6)
    # In the backends' order: SQLite (0) before memo (5).
    result.stdout.fnmatch_lines(["*test_checkout?sqlite? PASSED*", "*test_checkout?memo? PASSED*"])


def test_an_unavailable_contributed_backend_is_skipped_or_refused(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMO_DOWN", "the memo service is down")
    monkeypatch.setenv("DBOS_TEST_BACKENDS", "sqlite,memo")
    result = project.runpytest("-p", "no:cacheprovider", "-p", "memo_backend")
    # Asked for by name: a usage error naming why.
    result.stderr.fnmatch_lines(["*the memo service is down*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # Among all backends by default: its tests are skipped, saying why, and its session is
    # never opened (-k keeps out the other backends' tests, which are not the point here).
    monkeypatch.delenv("DBOS_TEST_BACKENDS")
    result = project.runpytest(
        "-p", "no:cacheprovider", "-p", "memo_backend", "-rs", "-k", "memo_only"
    )
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*the memo service is down*"])
    assert "open" not in _log(project)


def test_an_unknown_backend_name_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider", "-p", "memo_backend",
                               "--dbos-backend=oracle")  # fmt: skip
    result.stderr.fnmatch_lines(["*unknown backend 'oracle'*memo*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # Without the plugin, its name is unknown too: the plugin alone contributes it.
    result = project.runpytest("-p", "no:cacheprovider", "--dbos-backend=memo")
    result.stderr.fnmatch_lines(["*unknown backend 'memo'*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
