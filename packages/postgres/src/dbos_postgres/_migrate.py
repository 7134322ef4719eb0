"""Applying and verifying migrations under a session advisory lock."""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from dbos.storage import AppliedMigration, DBOSMigrationError, pending_migrations

from ._sql import migration_sql, migrations, queries


def _lock_key(schema: str) -> int:
    # A stable 63-bit key per schema, so two apps with different schemas do not serialize.
    digest = hashlib.sha256(f"dbos-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _ledger(connection: psycopg.Connection[Any], schema: str) -> list[AppliedMigration]:
    rows = connection.execute(queries(schema)["select_ledger"]).fetchall()
    return [AppliedMigration(int(v), str(n), str(c)) for v, n, c in rows]


def migrate(connection: psycopg.Connection[Any], schema: str) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied.

    Holds a session advisory lock throughout, so processes starting at once apply each
    migration exactly once (the others wait, then find nothing to do).
    """
    q = queries(schema)
    key = _lock_key(schema)
    applied: list[str] = []
    connection.execute(q["lock_migrations"], {"key": key})
    try:
        connection.execute(q["create_schema"])
        connection.execute(q["create_ledger"])
        for migration in pending_migrations(migrations(), _ledger(connection, schema)):
            try:
                with connection.transaction():
                    connection.execute(migration_sql(migration, schema))
                    connection.execute(
                        q["record_migration"],
                        {
                            "version": migration.version,
                            "name": migration.name,
                            "checksum": migration.checksum,
                        },
                    )
            except psycopg.Error as exc:
                raise DBOSMigrationError(
                    f"migration {migration.version} ({migration.name}) failed: {exc}"
                ) from exc
            applied.append(f"{migration.version:04d}_{migration.name}")
    finally:
        connection.execute(q["unlock_migrations"], {"key": key})
    return applied


def verify(connection: psycopg.Connection[Any], schema: str) -> list[str]:
    """Names of migrations not applied yet; raises if the database does not match the code.

    Changes nothing.
    """
    q = queries(schema)
    exists = connection.execute(
        q["ledger_exists"], {"ledger": f'"{schema}".schema_migrations'}
    ).fetchone()
    applied = _ledger(connection, schema) if exists and exists[0] else []
    return [f"{m.version:04d}_{m.name}" for m in pending_migrations(migrations(), applied)]
