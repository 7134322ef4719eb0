"""Finding a storage backend for a URL the way `DBOS.launch()` does."""

from __future__ import annotations

from dbos import DBOSConfigError, SystemStorage
from dbos.plugins import Hooks, plugin_manager
from dbos.storage import StorageOptions, mask_password


def storage_for_url(url: str, options: StorageOptions | None = None) -> SystemStorage:
    """A (not yet set up) storage backend for `url`, through the installed plugins."""
    storage = Hooks(plugin_manager()).storage_for_url(url, options or StorageOptions())
    if storage is None:
        raise DBOSConfigError(f"no installed storage backend handles {mask_password(url)!r}")
    return storage
