"""pluggy registration: ``sqlite://`` URLs are served by `SQLiteStorage`."""

from __future__ import annotations

from dbos.plugins import hookimpl
from dbos.storage import StorageOptions, url_scheme

from ._storage import SQLiteStorage


@hookimpl
def dbos_storage_for_url(url: str, options: StorageOptions) -> SQLiteStorage | None:
    if url_scheme(url) != "sqlite":
        return None
    return SQLiteStorage(url, options)
