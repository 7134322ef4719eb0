"""pluggy registration: ``sqlite://`` URLs are served by `SQLiteStorage`; test suites get
SQLite test databases from `dbos_test_backends`."""

from __future__ import annotations

from dbos.plugins import hookimpl
from dbos.storage import StorageOptions, url_scheme

from ._storage import SQLiteStorage
from ._testdb import dbos_test_backends

__all__ = ["dbos_storage_for_url", "dbos_test_backends"]


@hookimpl
def dbos_storage_for_url(url: str, options: StorageOptions) -> SQLiteStorage | None:
    if url_scheme(url) != "sqlite":
        return None
    return SQLiteStorage(url, options)
