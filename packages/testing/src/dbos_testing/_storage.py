"""Finding a storage backend for a URL the way `DBOS.launch()` does."""

from __future__ import annotations

from dbos import SystemStorage
from dbos.plugins import backend_for_url
from dbos.storage import StorageOptions


def storage_for_url(url: str, options: StorageOptions | None = None) -> SystemStorage:
    """A (not yet set up) storage backend for `url`, through the installed plugins."""
    return backend_for_url(url, options or StorageOptions())
