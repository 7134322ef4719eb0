"""What the storage's mixins (versions, messages, time operations, queues, schedules) use of
`PostgresStorage`: declared once here, defined by `PostgresStorage`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from ._lean import LeanStatement


class StorageHost:
    """The statements and connections `PostgresStorage` provides to its mixins."""

    #: Every named query of queries.sql, bound to this storage's schema.
    _queries: dict[str, bytes]
    #: The hottest of them, run on libpq directly (see `_lean`).
    _lean: dict[str, LeanStatement]
    #: The system schema's name.
    _schema: str

    def _connection(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A pooled connection (autocommit unless a transaction is opened on it)."""
        raise NotImplementedError  # PostgresStorage's
