"""Applying and verifying migrations under a session advisory lock."""

from __future__ import annotations

import hashlib
import math
import os
from typing import Any

import psycopg

from dbos.storage import (
    AppliedMigration,
    DBOSConfigError,
    DBOSMigrationError,
    pending_migrations,
)

from ._sql import migration_sql, migrations, queries


def _lock_key(schema: str) -> int:
    # A stable 63-bit key per schema, so two apps with different schemas do not serialize.
    digest = hashlib.sha256(f"dbos-migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _ledger(connection: psycopg.Connection[Any], schema: str) -> list[AppliedMigration]:
    rows = connection.execute(queries(schema)["select_ledger"]).fetchall()
    return [AppliedMigration(int(v), str(n), str(c)) for v, n, c in rows]


#: How long setup waits for another session's migration lock when nothing configures it.
DEFAULT_LOCK_TIMEOUT_S = 60.0
#: The environment variable that sets that wait (seconds) when `StorageOptions` does not.
LOCK_TIMEOUT_ENV = "DBOS_MIGRATION_LOCK_TIMEOUT_S"


def lock_timeout_s(configured: float | None) -> float:
    """The migration lock's timeout: `configured`, else the environment's, else 60 s.

    Raises:
        DBOSConfigError: the value is not a positive number of seconds.
    """
    source = "StorageOptions.migration_lock_timeout_s"
    value: object = configured
    if value is None:
        text = os.environ.get(LOCK_TIMEOUT_ENV)
        if text is None:
            return DEFAULT_LOCK_TIMEOUT_S
        source = LOCK_TIMEOUT_ENV
        try:
            value = float(text)
        except ValueError:
            value = text
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DBOSConfigError(f"{source} must be a positive number of seconds, not {value!r}")
    return float(value)


def migrate(
    connection: psycopg.Connection[Any],
    schema: str,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied.

    A schema that is up to date is recognized without any lock (the common start of a
    process). Otherwise a session advisory lock is taken, so processes starting at once apply
    each migration exactly once (the others wait, then find nothing to do), and the ledger is
    read again under it.

    Raises:
        DBOSMigrationError: the lock was not granted within `lock_timeout` seconds (the
            message names the sessions holding it), a migration failed, or the database does
            not match this code.
    """
    if _is_up_to_date(connection, schema):
        return []
    q = queries(schema)
    key = _lock_key(schema)
    applied: list[str] = []
    _lock(connection, schema, key, lock_timeout)
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


def _is_up_to_date(connection: psycopg.Connection[Any], schema: str) -> bool:
    """Whether every migration is applied, read without the lock (refusing, as under it, a
    database that does not match this code)."""
    return verify(connection, schema) == []


def _lock(connection: psycopg.Connection[Any], schema: str, key: int, timeout_s: float) -> None:
    q = queries(schema)
    milliseconds = max(1, math.ceil(timeout_s * 1000))
    connection.execute(q["set_lock_timeout"], {"milliseconds": str(milliseconds)})
    try:
        connection.execute(q["lock_migrations"], {"key": key})
    except psycopg.errors.LockNotAvailable as exc:
        holders = _holders(connection, schema, key)
        raise DBOSMigrationError(
            f"timed out after {timeout_s:g} s waiting for the migration lock of schema "
            f"{schema!r} (advisory lock {key}), held by {holders}. Another process is "
            "migrating this database, or holds the lock without finishing: wait and start "
            "again, or end that session; the wait is set by "
            f"StorageOptions.migration_lock_timeout_s or ${LOCK_TIMEOUT_ENV}"
        ) from exc
    finally:
        connection.execute(q["reset_lock_timeout"])


def _holders(connection: psycopg.Connection[Any], schema: str, key: int) -> str:
    """The sessions holding the migration lock, described for an error message."""
    params = {"high": key >> 32, "low": key & 0xFFFFFFFF}
    try:
        rows = connection.execute(queries(schema)["migration_lock_holders"], params).fetchall()
    except psycopg.Error:
        return "a session that could not be identified"
    if not rows:
        return "a session that has released it since (start again)"
    return "; ".join(_describe(*row) for row in rows)


def _describe(
    pid: int,
    application_name: str | None,
    client: str | None,
    state: str | None,
    connected_s: float | None,
    in_state_s: float | None,
) -> str:
    parts = [f"server process {pid}"]
    if application_name:
        parts.append(f"application_name {application_name!r}")
    if client:
        parts.append(f"client {client}")
    if connected_s is not None:
        parts.append(f"connected {connected_s:.0f} s ago")
    if state:
        since = f" for {in_state_s:.0f} s" if in_state_s is not None else ""
        parts.append(f"{state}{since}")
    return ", ".join(parts)


def quote_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (inner quotes doubled), for the places that take a
    name as text rather than through `psycopg.sql.Identifier` (``to_regclass``)."""
    return '"' + name.replace('"', '""') + '"'


def verify(connection: psycopg.Connection[Any], schema: str) -> list[str]:
    """Names of migrations not applied yet; raises if the database does not match the code.

    Changes nothing.
    """
    q = queries(schema)
    exists = connection.execute(
        q["ledger_exists"], {"ledger": f"{quote_identifier(schema)}.schema_migrations"}
    ).fetchone()
    applied = _ledger(connection, schema) if exists and exists[0] else []
    return [f"{m.version:04d}_{m.name}" for m in pending_migrations(migrations(), applied)]
