"""pluggy registration: ``postgresql://`` and ``postgres://`` URLs are served by
`PostgresStorage`; test suites get Postgres test databases from `dbos_test_backends`."""

from __future__ import annotations

from dbos.plugins import hookimpl
from dbos.storage import StorageOptions, url_scheme

from ._storage import PostgresStorage
from ._testdb import dbos_test_backends

__all__ = ["dbos_storage_for_url", "dbos_test_backends"]


@hookimpl
def dbos_storage_for_url(url: str, options: StorageOptions) -> PostgresStorage | None:
    if url_scheme(url) not in ("postgresql", "postgres"):
        return None
    return PostgresStorage(url, options)
