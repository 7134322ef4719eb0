"""What a backend contributes to test suites through the ``dbos_test_backends`` hook: a test
database per test, and whatever it needs once per session (a server, a migrated template).

Plain records, no test framework: ``dbos-testing`` turns them into pytest fixtures and
parametrization, so a backend needs neither pytest nor a change in ``dbos-testing``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class DatabasesForTests(Protocol):
    """A backend's test databases for one test session (what `BackendForTests.open_session`
    yields)."""

    @property
    def server_url(self) -> str | None:
        """The URL of the server the test databases live on, for tests that use the server
        itself (Postgres: its maintenance database); None when there is no server."""
        ...

    def fresh_database(self, scratch: Path) -> AbstractContextManager[str]:
        """Enter to get the system database URL of a fresh database for one test; exiting
        removes it. `scratch` is an empty folder of the test's own, for a backend that keeps
        databases in files (it is the test runner's to clean up)."""
        ...


def _always_available() -> str | None:
    """The default `BackendForTests.unavailable`: nothing stops this backend."""
    return None


def _never_required() -> bool:
    """The default `BackendForTests.required_by_environment`: unavailable means skipped."""
    return False


@dataclass(frozen=True)
class BackendForTests:
    """A backend's test database, as the ``dbos_test_backends`` hook returns it.

    Attributes:
        name: what ``--dbos-backend`` and ``DBOS_TEST_BACKENDS`` call it (``"sqlite"``).
        open_session: entered once per test session, on the first test that needs this
            backend, and exited at the session's end: starts or reaches a server, prepares a
            template. May raise when `unavailable` would have said why.
        unavailable: why this machine cannot run the backend's tests (driver missing, no
            server), or None if it can; asked once per session, before `open_session`.
        required_by_environment: whether the environment insists on this backend (Postgres:
            ``DBOS_TEST_PG_VERSION`` is set), so that its being unavailable is an error rather
            than a skip, as when it is chosen by name.
        order: where this backend's runs come among the others' (lower first; SQLite is 0,
            Postgres 10), so test ids and output keep a stable order.
    """

    name: str
    open_session: Callable[[], AbstractContextManager[DatabasesForTests]]
    unavailable: Callable[[], str | None] = _always_available
    required_by_environment: Callable[[], bool] = _never_required
    order: int = 100
