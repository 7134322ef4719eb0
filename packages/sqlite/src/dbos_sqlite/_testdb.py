"""The SQLite backend's test databases (hook ``dbos_test_backends``): a file in the test's own
folder, nothing to set up per session."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dbos.plugins import BackendForTests, hookimpl


class SQLiteTestDatabases:
    """A session's SQLite test databases: one file per test, left to the test runner's
    clean-up of the folder it gives."""

    server_url: str | None = None

    @contextmanager
    def fresh_database(self, scratch: Path) -> Iterator[str]:
        yield f"sqlite:///{scratch}/dbos.sqlite"


@contextmanager
def _open_session() -> Iterator[SQLiteTestDatabases]:
    yield SQLiteTestDatabases()


@hookimpl
def dbos_test_backends() -> Sequence[BackendForTests]:
    return [BackendForTests(name="sqlite", open_session=_open_session, order=0)]
