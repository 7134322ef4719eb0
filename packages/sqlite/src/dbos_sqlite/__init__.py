"""dbos_sqlite: the SQLite storage backend of dbos, the embedded default."""

from __future__ import annotations

from ._identity import SQLiteFileChangedError
from ._storage import SQLiteStorage
from ._url import SQLiteSettings, parse_sqlite_url

__all__ = ["SQLiteFileChangedError", "SQLiteSettings", "SQLiteStorage", "parse_sqlite_url"]
