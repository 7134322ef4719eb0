"""The backend's SQL, loaded from its .sql files and bound to one schema identifier."""

from __future__ import annotations

import re
from functools import lru_cache

from psycopg import sql

from dbos.storage import DBOSConfigError, Migration, load_migrations, load_queries

_PACKAGE = "dbos_postgres"
# Postgres identifiers: we refuse anything that would need quoting tricks to be safe to show.
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def validate_schema_name(schema: str) -> str:
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise DBOSConfigError(
            f"system schema name {schema!r} is not a plain Postgres identifier "
            "(letters, digits, _ and $, at most 63 characters, not starting with a digit)"
        )
    return schema


def _bind(text: str, schema: str) -> sql.Composed:
    return sql.SQL(text).format(schema=sql.Identifier(schema))


@lru_cache(maxsize=8)
def queries(schema: str) -> dict[str, bytes]:
    """Every named query of sql/queries.sql, with `schema` bound, rendered once: psycopg
    would otherwise compose the statement again on every execution (a hot-path cost)."""
    return {
        name: _bind(text, schema).as_bytes(None)
        for name, text in load_queries(_PACKAGE, "sql/queries.sql").items()
    }


@lru_cache(maxsize=1)
def migrations() -> list[Migration]:
    return load_migrations(_PACKAGE)


def migration_sql(migration: Migration, schema: str) -> sql.Composed:
    return _bind(migration.sql, schema)
