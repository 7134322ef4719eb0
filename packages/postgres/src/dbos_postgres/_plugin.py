"""pluggy registration: ``postgresql://`` and ``postgres://`` URLs are served by
`PostgresStorage`."""

from __future__ import annotations

from dbos.plugins import hookimpl
from dbos.storage import StorageOptions, url_scheme

from ._storage import PostgresStorage


@hookimpl
def dbos_storage_for_url(url: str, options: StorageOptions) -> PostgresStorage | None:
    if url_scheme(url) not in ("postgresql", "postgres"):
        return None
    return PostgresStorage(url, options)
