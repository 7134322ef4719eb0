"""Postgres specifics: database creation, migrations, schema, connection errors."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from dbos import DBOSConfigError, DBOSConnectionError, DBOSMigrationError
from dbos.storage import StorageOptions
from dbos_postgres import PostgresStorage
from dbos_postgres._sql import migrations
from dbos_testing._postgres_server import drop_database, unique_name, with_database

SNAPSHOT = Path(__file__).parent / "schema_snapshot.txt"
pytestmark = pytest.mark.postgres_only


@pytest.fixture
def fresh_url(dbos_postgres_admin_url: str) -> Any:
    """A URL naming a database that does not exist yet (dropped after the test)."""
    name = unique_name("dbos_fresh")
    yield with_database(dbos_postgres_admin_url, name)
    drop_database(dbos_postgres_admin_url, name)


def _query(url: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(statement.encode(), params)
        return cursor.fetchall() if cursor.description is not None else []


def _set_up(url: str) -> None:
    storage = PostgresStorage(url)
    try:
        storage.setup()
    finally:
        storage.close()


def test_setup_creates_a_missing_database_and_migrates_it_once(fresh_url: str) -> None:
    storage = PostgresStorage(fresh_url)
    storage.setup()
    storage.setup()
    storage.close()
    ledger = _query(fresh_url, "SELECT version, name, checksum FROM dbos.schema_migrations")
    assert ledger == [(m.version, m.name, m.checksum) for m in migrations()]


def test_concurrent_setups_apply_each_migration_once(fresh_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def set_up() -> None:
        storage = PostgresStorage(fresh_url)
        try:
            barrier.wait()
            storage.setup()
        except BaseException as exc:
            errors.append(exc)
        finally:
            storage.close()

    threads = [threading.Thread(target=set_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _query(fresh_url, "SELECT count(*) FROM dbos.schema_migrations") == [
        (len(migrations()),)
    ]


def test_a_changed_migration_is_refused(fresh_url: str) -> None:
    _set_up(fresh_url)
    _query(fresh_url, "UPDATE dbos.schema_migrations SET checksum = 'abc' WHERE version = 1")
    storage = PostgresStorage(fresh_url)
    with pytest.raises(DBOSMigrationError, match=r"migration 1 .* checksum"):
        storage.setup()
    with pytest.raises(DBOSMigrationError, match="checksum"):
        storage.verify_schema()
    storage.close()


def test_a_database_newer_than_the_code_is_refused(fresh_url: str) -> None:
    _set_up(fresh_url)
    _query(fresh_url, "INSERT INTO dbos.schema_migrations VALUES (99, 'future', 'x', now())")
    with pytest.raises(DBOSMigrationError, match=r"migration 99 .*does not know"):
        _set_up(fresh_url)


def test_verify_changes_nothing(fresh_url: str, dbos_postgres_admin_url: str) -> None:
    database = urlsplit(fresh_url).path.lstrip("/")
    _query(dbos_postgres_admin_url, f'CREATE DATABASE "{database}"')
    storage = PostgresStorage(fresh_url)
    expected = [f"{m.version:04d}_{m.name}" for m in migrations()]
    assert storage.verify_schema() == expected
    assert _query(fresh_url, "SELECT to_regclass('dbos.schema_migrations')") == [(None,)]
    storage.migrate()
    assert storage.verify_schema() == []
    storage.close()


def test_custom_schema(fresh_url: str) -> None:
    storage = PostgresStorage(fresh_url, StorageOptions(system_schema="my_app_dbos"))
    storage.setup()
    storage.close()
    tables = _query(
        fresh_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'my_app_dbos' "
        "ORDER BY table_name",
    )
    assert tables == [
        ("notifications",),
        ("operation_outputs",),
        ("schema_migrations",),
        ("streams",),
        ("workflow_events",),
        ("workflow_status",),
    ]
    assert _query(fresh_url, "SELECT to_regclass('dbos.workflow_status')") == [(None,)]


@pytest.mark.parametrize("schema", ['x"; drop table y; --', "1starts_with_digit", "", "a" * 64])
def test_unsafe_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(DBOSConfigError, match="schema name"):
        PostgresStorage("postgresql://localhost/db", StorageOptions(system_schema=schema))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://user:pw@localhost:5432", "names no database"),
        ("postgresql://user:pw@localhost:5432/db?nonsense_option=1", "invalid Postgres URL"),
        ("mysql://user:pw@localhost/db", "not a Postgres URL"),
    ],
)
def test_bad_urls_are_refused_with_masked_passwords(url: str, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message) as info:
        PostgresStorage(url)
    assert ":pw@" not in str(info.value)


def test_driver_suffix_is_accepted(dbos_system_database_url: str) -> None:
    url = dbos_system_database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    storage = PostgresStorage(url)
    storage.setup()
    assert storage.get_workflow("none") is None
    storage.close()


def test_unreachable_server_is_a_connection_error_without_the_password() -> None:
    storage = PostgresStorage(
        "postgresql://someone:hunter2@127.0.0.1:1/db", StorageOptions(connect_timeout_s=2)
    )
    with pytest.raises(DBOSConnectionError, match=r"127\.0\.0\.1") as info:
        storage.setup()
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def _schema_description(url: str) -> str:
    columns = _query(
        url,
        "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') "
        "FROM information_schema.columns WHERE table_schema = 'dbos' "
        "ORDER BY table_name, ordinal_position",
    )
    indexes = _query(
        url,
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'dbos' "
        "ORDER BY tablename, indexname",
    )
    triggers = _query(
        url,
        "SELECT event_object_table, trigger_name, event_manipulation, action_timing "
        "FROM information_schema.triggers WHERE trigger_schema = 'dbos' "
        "ORDER BY event_object_table, trigger_name, event_manipulation",
    )
    lines = ["# columns: table | column | type | nullable | default"]
    lines += [" | ".join(map(str, row)) for row in columns]
    lines += ["# indexes: table | index | definition"]
    lines += [" | ".join(map(str, row)) for row in indexes]
    lines += ["# triggers: table | trigger | event | timing"]
    lines += [" | ".join(map(str, row)) for row in triggers]
    return "\n".join(lines) + "\n"


def test_migrated_schema_matches_the_committed_snapshot(dbos_system_database_url: str) -> None:
    """Fails on any schema change: if the change is intended, regenerate the snapshot with
    DBOS_UPDATE_SNAPSHOT=1 and commit it together with the new migration."""
    import os

    actual = _schema_description(dbos_system_database_url)
    if os.environ.get("DBOS_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(actual)
    assert actual == SNAPSHOT.read_text()
