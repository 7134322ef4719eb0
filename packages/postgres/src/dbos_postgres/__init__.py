"""dbos_postgres: the PostgreSQL storage backend of dbos (psycopg 3)."""

from __future__ import annotations

from ._storage import PostgresStorage

__all__ = ["PostgresStorage"]
