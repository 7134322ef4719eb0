"""The backend's SQL, loaded from its .sql files and bound to one schema identifier."""

from __future__ import annotations

from functools import lru_cache

from psycopg import sql

from dbos.storage import Migration, load_migrations, load_queries, validate_schema_name

from ._columns import inserted_row_sql, workflow_row_sql

__all__ = ["queries", "validate_schema_name"]

_PACKAGE = "dbos_postgres"


def _bind(text: str, schema: str) -> sql.Composed:
    return sql.SQL(text).format(
        schema=sql.Identifier(schema),
        workflow_row=sql.SQL(workflow_row_sql()),
        inserted_row=sql.SQL(inserted_row_sql()),
    )


@lru_cache(maxsize=8)
def queries(schema: str) -> dict[str, bytes]:
    """Every named query of sql/queries.sql, with `schema` and the workflow row's select list
    bound, rendered once: psycopg
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
