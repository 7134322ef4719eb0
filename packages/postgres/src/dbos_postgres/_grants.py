"""Granting an application role the use of the system schema (`DBOS.migrate(...,
application_role=...)`, DBOS Transact 3.4's statements): so that the app may connect as a
less privileged role than the one that migrated the schema."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

_STATEMENTS = (
    "GRANT USAGE ON SCHEMA {schema} TO {role}",
    "GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA {schema} TO {role}",
    "GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role}",
)


def grant_system_schema(connection: psycopg.Connection[Any], schema: str, role: str) -> None:
    """Grant `role` the use of `schema` (its tables, sequences and functions, now and those
    later migrations create), in one transaction. Raises psycopg's error for an unknown
    role (the caller translates it)."""
    with connection.transaction():
        for statement in _STATEMENTS:
            connection.execute(
                sql.SQL(statement).format(schema=sql.Identifier(schema), role=sql.Identifier(role))
            )
