"""pluggy registration: ``sqlite://`` URLs are served by `SQLiteStorage`."""

from __future__ import annotations

from dbos._hookspecs import hookimpl
from dbos._records import StorageOptions
from dbos._urls import url_scheme

from ._storage import SQLiteStorage


@hookimpl
def dbos_storage_for_url(url: str, options: StorageOptions) -> SQLiteStorage | None:
    if url_scheme(url) != "sqlite":
        return None
    return SQLiteStorage(url, options)
