"""What the storage's mixins (versions, messages, time operations, queues, schedules) use of
`SQLiteStorage`: declared once here, defined by `SQLiteStorage`."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any


class StorageHost:
    """The connection helpers `SQLiteStorage` provides to its mixins."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE) on this storage's connection."""
        raise NotImplementedError  # SQLiteStorage's

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection for reads."""
        raise NotImplementedError  # SQLiteStorage's

    def _run(self, connection: sqlite3.Connection, query: str, params: dict[str, Any]) -> Any:
        """Run the named query of queries.sql on `connection`; its cursor."""
        raise NotImplementedError  # SQLiteStorage's
