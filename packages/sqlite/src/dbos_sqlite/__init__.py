"""dbos_sqlite: the SQLite storage backend of dbos, the embedded default."""

from __future__ import annotations

from ._storage import SQLiteStorage
from ._url import SQLiteSettings, parse_sqlite_url

__all__ = ["SQLiteSettings", "SQLiteStorage", "parse_sqlite_url"]
