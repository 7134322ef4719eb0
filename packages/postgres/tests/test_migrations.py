"""Postgres specifics: database creation, migrations, schema, connection errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from dbos import DBOS, DBOSConfigError, DBOSConnectionError, DBOSMigrationError, Queue
from dbos.storage import ForkRequest, NewWorkflow, StorageOptions, StoredQueue, StreamEntry
from dbos_client import DBOSClient
from dbos_postgres import PostgresStorage, _migrate
from dbos_postgres._migrate import _lock_key, lock_timeout_s
from dbos_postgres._sql import migrations
from dbos_testing.postgres import drop_database, unique_name, with_database

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


class _LockHolder:
    """Another session holding the migration lock of `schema`, as a stuck process would."""

    def __init__(self, url: str, schema: str) -> None:
        self.connection = psycopg.connect(url, autocommit=True, application_name="lock-holder-test")
        self.pid = self.connection.info.backend_pid
        self.connection.execute("SELECT pg_advisory_lock(%s)", (_lock_key(schema),))

    def release(self) -> None:
        self.connection.close()


def _setup_in_thread(url: str, options: StorageOptions) -> tuple[threading.Thread, list[Any]]:
    """Set up a storage in a thread (so a setup that waits forever cannot hang the test);
    the list receives None on success or the exception raised, and the time it took."""
    outcome: list[Any] = []

    def run() -> None:
        started = time.monotonic()
        storage = PostgresStorage(url, options)
        try:
            storage.setup()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)
        finally:
            outcome.append(time.monotonic() - started)
            storage.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_held_migration_lock_fails_setup_after_the_timeout_naming_the_holder(
    dbos_system_database_url: str,
) -> None:
    # A schema not migrated yet in this database, so setup needs the lock.
    holder = _LockHolder(dbos_system_database_url, "lock_test")
    try:
        options = StorageOptions(system_schema="lock_test", migration_lock_timeout_s=0.5)
        thread, outcome = _setup_in_thread(dbos_system_database_url, options)
        thread.join(20)
        assert not thread.is_alive(), "setup waited for the lock without a timeout"
    finally:
        holder.release()
    thread.join(20)
    error, took = outcome
    assert isinstance(error, DBOSMigrationError)
    message = str(error)
    assert "timed out after 0.5 s waiting for the migration lock of schema 'lock_test'" in message
    assert f"server process {holder.pid}, application_name 'lock-holder-test'" in message
    assert "connected " in message and "s ago" in message
    assert "DBOS_MIGRATION_LOCK_TIMEOUT_S" in message
    assert 0.4 < took < 10
    # Nothing was applied, and with the lock free the same setup goes through.
    assert _query(dbos_system_database_url, "SELECT to_regclass('lock_test.workflow_status')") == [
        (None,)
    ]
    _set_up_schema(dbos_system_database_url, "lock_test")


def _set_up_schema(url: str, schema: str) -> None:
    storage = PostgresStorage(url, StorageOptions(system_schema=schema))
    try:
        storage.setup()
    finally:
        storage.close()


def test_an_up_to_date_schema_is_set_up_without_taking_the_lock(
    dbos_system_database_url: str,
) -> None:
    holder = _LockHolder(dbos_system_database_url, "dbos")  # the migrated default schema
    try:
        options = StorageOptions(migration_lock_timeout_s=5)
        thread, outcome = _setup_in_thread(dbos_system_database_url, options)
        thread.join(20)
        assert not thread.is_alive(), "setup of an up-to-date schema waited for the lock"
        error, took = outcome
        assert error is None
        assert took < 4  # it did not wait for the lock and time out
        # The holder still has it: setup never took it, not even after a wait.
        held = _query(
            dbos_system_database_url,
            "SELECT l.pid FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
        )
        assert held == [(holder.pid,)]
    finally:
        holder.release()
        thread.join(20)


def test_the_lock_timeout_comes_from_options_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBOS_MIGRATION_LOCK_TIMEOUT_S", raising=False)
    assert lock_timeout_s(None) == 60.0
    monkeypatch.setenv("DBOS_MIGRATION_LOCK_TIMEOUT_S", "2.5")
    assert lock_timeout_s(None) == 2.5
    assert lock_timeout_s(7) == 7.0
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv("DBOS_MIGRATION_LOCK_TIMEOUT_S", bad)
        with pytest.raises(DBOSConfigError, match="DBOS_MIGRATION_LOCK_TIMEOUT_S must be a pos"):
            lock_timeout_s(None)
    with pytest.raises(DBOSConfigError, match="migration_lock_timeout_s must be a positive"):
        PostgresStorage("postgresql://u@h/db", StorageOptions(migration_lock_timeout_s=0))


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
        ("application_versions",),
        ("message_keys",),
        ("notifications",),
        ("operation_outputs",),
        ("process_leases",),
        ("queues",),
        ("schema_migrations",),
        ("streams",),
        ("workflow_events",),
        ("workflow_events_history",),
        ("workflow_schedules",),
        ("workflow_status",),
    ]
    assert _query(fresh_url, "SELECT to_regclass('dbos.workflow_status')") == [(None,)]


@pytest.mark.parametrize("schema", ["", "a" * 53, "two\nlines", "nul\x00"])
def test_unusable_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(DBOSConfigError, match="schema name"):
        PostgresStorage("postgresql://localhost/db", StorageOptions(system_schema=schema))


def test_schema_names_that_need_quoting_work(fresh_url: str) -> None:
    # DBOS Transact accepts any schema name; the backend quotes it wherever SQL names it, and
    # the notification channels (built from it) still reach the listener.
    schema = 'My-App "x"; drop table y; --'
    DBOS.destroy()
    DBOS(
        config={
            "name": "quoted-schema",
            "system_database_url": fresh_url,
            "dbos_system_schema": schema,
        }
    )
    queue = Queue("quoted-schema-queue")

    @DBOS.workflow()
    def receiver() -> object:
        return DBOS.recv("topic", timeout_seconds=30)

    @DBOS.step()
    def double(x: int) -> int:
        return 2 * x

    @DBOS.workflow()
    def task(x: int) -> int:
        return double(x)

    try:
        DBOS.launch()
        waiting = DBOS.start_workflow(receiver)
        assert queue.enqueue(task, 21).get_result(timeout_seconds=30) == 42
        client = DBOSClient(fresh_url, dbos_system_schema=schema)
        client.send(waiting.workflow_id, "hello", "topic")
        assert waiting.get_result(timeout_seconds=30) == "hello"
        assert len(client.list_workflows()) == 2
        client.destroy()
    finally:
        DBOS.destroy()
    assert _query(
        fresh_url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
        schema,
    ) == [(12,)]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://user:pw@localhost:5432", "names no database"),
        ("postgresql://user:pw@localhost:5432/db?nonsense_option=1", "invalid Postgres URL"),
        ("mysql://user:pw@localhost/db", "not a Postgres URL"),
        # One slash too many: launch created a database named after the credentials (a
        # user's trial), and the password was printed.
        ("postgresql:///user:pw@localhost/db", "one slash too many"),
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


def test_the_fork_effects_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0007 on a database with streams and events: old rows stay, with no function_id, and
    a fork copies them only when it copies every recorded operation."""
    before = [m for m in migrations() if m.version < 7]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)",
    )
    _query(
        fresh_url,
        "INSERT INTO dbos.operation_outputs (workflow_id, function_id, function_name, output)"
        " VALUES ('old', 0, 'DBOS.setEvent', 'null'), ('old', 1, 'DBOS.writeStream', 'null')",
    )
    _query(fresh_url, "INSERT INTO dbos.workflow_events VALUES ('old', 'k', '\"v\"', 1)")
    _query(fresh_url, "INSERT INTO dbos.streams VALUES ('old', 's', 0, '\"e\"', 1)")
    monkeypatch.undo()  # every migration from 0007 on: the storage calls below need them all
    storage = PostgresStorage(fresh_url)
    try:
        # 0007 applies to these rows (and the later migrations after it).
        later = [f"{m.version:04d}_{m.name}" for m in migrations() if m.version > 7]
        assert storage.migrate() == ["0007_fork_effects", *later]
        assert _query(fresh_url, "SELECT function_id FROM dbos.streams") == [(None,)]
        for forked, start_step in (("whole", 2), ("partial", 1)):
            storage.fork_workflow(ForkRequest("old", forked, start_step, "q", None, 2))
        assert storage.get_event("whole", "k") == '"v"'
        assert storage.read_stream("whole", "s", 0).entries == (StreamEntry(0, '"e"'),)
        assert storage.get_event("partial", "k") is None
        assert storage.read_stream("partial", "s", 0).entries == ()
    finally:
        storage.close()


def test_the_workflow_classes_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0011 on a database with workflows: the rows stay, as functions (no class or instance),
    and can still be read and forked."""
    before = [m for m in migrations() if m.version < 11]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert "0011_workflow_classes" in storage.migrate()
        row = storage.get_workflow("old")
        assert row is not None and (row.class_name, row.config_name) == (None, None)
        forked = storage.fork_workflow(ForkRequest("old", "forked", 0, "q", None, 2))
        assert (forked.name, forked.class_name, forked.config_name) == (
            "module.workflow",
            None,
            None,
        )
    finally:
        storage.close()


def test_the_attributes_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0013 on a database with workflows: they stay readable, with no attributes, and take
    attributes afterwards; the column is jsonb, readable from SQL."""
    before = [m for m in migrations() if m.version < 13]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert storage.migrate()[:1] == ["0013_workflow_attributes"]
        old = storage.get_workflow("old")
        assert old is not None and old.attributes is None
        assert storage.update_workflow_attributes("old", '{"k": [1]}', True, 2)
        assert _query(fresh_url, "SELECT attributes->'k'->>0 FROM dbos.workflow_status") == [("1",)]
    finally:
        storage.close()


def test_the_serialization_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0014 on a database with workflows: they stay readable with no serialization marker
    (this library's own format), and new rows carry theirs, readable from SQL."""
    before = [m for m in migrations() if m.version < 14]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, inputs, output,"
        " created_at, updated_at) VALUES ('old', 'SUCCESS', 'module.workflow',"
        " '{\"args\":[1],\"kwargs\":{}}', '2', 1, 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert storage.migrate()[:1] == ["0014_serialization_formats"]
        old = storage.get_workflow("old")
        assert old is not None and old.serialization is None and old.output == "2"
        new = NewWorkflow(
            "new",
            "module.workflow",
            '{"positionalArgs":[1]}',
            None,
            None,
            1,
            serialization="portable_json",
        )
        assert storage.create_workflow(new).row.serialization == "portable_json"
        assert _query(
            fresh_url, "SELECT serialization FROM dbos.workflow_status ORDER BY workflow_id"
        ) == [("portable_json",), (None,)]
    finally:
        storage.close()


def test_the_message_keys_migration_keeps_existing_messages(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0016 on a database with a waiting message: it stays and is received; keyed sends work
    afterwards, once per destination and key."""
    from dbos.storage import Message, RecvRequest

    before = [m for m in migrations() if m.version < 16]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('rx', 'PENDING', 'module.workflow', 1, 1)",
    )
    _query(
        fresh_url,
        "INSERT INTO dbos.notifications (message_id, destination_id, topic, message, created_at)"
        " VALUES ('old', 'rx', 't', '\"old\"', 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert "0016_message_keys" in storage.migrate()
        storage.send(Message("new-1", "rx", "t", '"new"', 2, "key"))
        storage.send(Message("new-2", "rx", "t", '"new"', 3, "key"))
        got = [storage.recv(RecvRequest("rx", i, "DBOS.recv", "t", 5)) for i in range(3)]
        assert [None if r is None else r.output for r in got] == ['"old"', '"new"', None]
    finally:
        storage.close()


def test_the_roles_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """workflow_roles on a database with workflows: they stay readable, with no
    authentication information, and new workflows store their identity, readable from SQL."""
    before = [m for m in migrations() if m.name != "workflow_roles"]
    assert len(before) == len(migrations()) - 1
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        applied = storage.migrate()
        assert len(applied) == 1 and applied[0].endswith("_workflow_roles")
        old = storage.get_workflow("old")
        assert old is not None
        assert (old.authenticated_user, old.authenticated_roles, old.assumed_role) == (
            None,
            None,
            None,
        )
        storage.create_workflow(
            NewWorkflow(
                workflow_id="new",
                name="module.workflow",
                inputs="{}",
                executor_id="e",
                application_version="v",
                created_at_ms=2,
                authenticated_user="alice",
                authenticated_roles='["admin"]',
                assumed_role="admin",
            )
        )
        assert _query(
            fresh_url,
            "SELECT workflow_id, authenticated_user, assumed_role,"
            " authenticated_roles::jsonb->>0 FROM dbos.workflow_status ORDER BY workflow_id",
        ) == [("new", "alice", "admin", "admin"), ("old", None, None, None)]
    finally:
        storage.close()


def test_a_postgres_workflow_in_flight_under_the_old_numbering_recovers_after_upgrade(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """operation_numbering on a database where a workflow stopped mid-way under the earlier
    numbering (operations from 0): it recovers and replays against its own records, its new
    operations continue its numbering (step IDs, child IDs), a fork of it stays coherent, and
    new workflows count from 1 (DBOS Transact 3.4's numbering), the SQL enqueue function's
    too, while a writer naming no numbering gets the old one."""
    ran: list[str] = []

    @DBOS.step()
    def numbered(tag: str) -> str:
        ran.append(tag)
        return f"{tag}-{DBOS.step_id}"

    @DBOS.workflow()
    def child() -> str:
        return "child"

    @DBOS.workflow()
    def old_numbered() -> list[str]:
        a = numbered("a")  # operation 0, recorded before the upgrade
        handle = DBOS.start_workflow(child)  # operation 1, recorded too
        got = handle.get_result()  # not an operation under the old numbering
        return [a, got, numbered("b"), DBOS.start_workflow(child).workflow_id]

    before = [m for m in migrations() if m.name != "operation_numbering"]
    assert len(before) == len(migrations()) - 1
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    status = (
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, inputs, output,"
        " executor_id, application_version, created_at, updated_at, parent_workflow_id)"
        " VALUES (%s, %s, %s, %s, %s, 'local', 'before-upgrade', 1, 1, %s)"
    )
    step = (
        "INSERT INTO dbos.operation_outputs (workflow_id, function_id, function_name, output,"
        " child_workflow_id, started_at, completed_at) VALUES ('old-wf', %s, %s, %s, %s, 1, 1)"
    )
    inputs = '{"args":[],"kwargs":{}}'
    name, child_name = old_numbered.__qualname__, child.__qualname__
    _query(fresh_url, status, "old-wf", "PENDING", name, inputs, None, None)
    _query(fresh_url, status, "old-wf-1", "SUCCESS", child_name, inputs, '"child"', "old-wf")
    _query(fresh_url, step, 0, numbered.__qualname__, '"a-0"', None)
    _query(fresh_url, step, 1, child_name, None, "old-wf-1")
    monkeypatch.undo()
    DBOS.destroy()
    DBOS(
        config={
            "name": "upgrade",
            "system_database_url": fresh_url,
            "application_version": "before-upgrade",
        }
    )
    try:
        DBOS.launch()  # migrates, then recovers the PENDING workflow
        result = DBOS.retrieve_workflow("old-wf").get_result()
        assert result == ["a-0", "child", "b-2", "old-wf-3"] and ran == ["b"]
        steps = DBOS.list_workflow_steps("old-wf")
        assert [s["function_id"] for s in steps] == [0, 1, 2, 3]
        # A fork keeps the original's numbering: from step 1 it reuses step 0 only.
        forked = DBOS.fork_workflow("old-wf", 1)
        assert forked.get_result() == ["a-0", "child", "b-2", f"{forked.workflow_id}-3"]
        assert ran == ["b", "b"]
        new = DBOS.start_workflow(old_numbered)  # a new workflow numbers from 1
        assert new.get_result() == ["a-1", "child", "b-4", f"{new.workflow_id}-5"]
        # A row the SQL enqueue function writes (it names no numbering) counts from 1.
        _query(
            fresh_url,
            "SELECT dbos.enqueue_workflow('some.workflow', 'undeclared', workflow_id => 'sql-wf')",
        )
        # A row from a writer that names no numbering (a process of the earlier release, in a
        # rolling deploy) gets that release's.
        _query(
            fresh_url,
            "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at,"
            " updated_at) VALUES ('late-old', 'ENQUEUED', 'some.workflow', 2, 2)",
        )
        numbering = _query(
            fresh_url,
            "SELECT workflow_id, first_function_id FROM dbos.workflow_status"
            " WHERE workflow_id IN ('old-wf', 'old-wf-1', %s, 'sql-wf', 'late-old')",
            new.workflow_id,
        )
        assert sorted(numbering) == sorted(
            [
                ("old-wf", 0),
                ("old-wf-1", 0),
                (new.workflow_id, 1),
                ("sql-wf", 1),
                ("late-old", 0),
            ]
        )
    finally:
        DBOS.destroy()


def test_the_queues_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queues_as_data on a database with leases: an existing lease reads back as listening to
    every queue, and queues are stored next to it."""
    [queues] = [m for m in migrations() if m.name == "queues_as_data"]
    # Later migrations may use its table (0023's trigger does): they are applied after it.
    before = [m for m in migrations() if m.version < queues.version]
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.process_leases (instance_id, executor_id, application_version, host,"
        " pid, renewed_at, expires_at) VALUES ('old', 'e', 'v', 'h', 1, 1, 2)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        applied = storage.migrate()
        assert applied[0].endswith("_queues_as_data")
        [lease] = storage.list_leases()
        assert (lease.instance_id, lease.queues) == ("old", None)
        assert storage.store_queue(StoredQueue("q", concurrency=2), False, 5)
        assert _query(fresh_url, "SELECT name, concurrency FROM dbos.queues") == [("q", 2)]
    finally:
        storage.close()


def test_the_schedules_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """workflow_schedules on a database with workflows: they stay readable, and schedules can
    be stored next to them."""
    from dbos.storage import ScheduleQuery, ScheduleRecord

    before = [m for m in migrations() if m.name != "workflow_schedules"]
    assert len(before) == len(migrations()) - 1
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        applied = storage.migrate()
        assert any(name.endswith("_workflow_schedules") for name in applied)
        old = storage.get_workflow("old")
        assert old is not None and old.status == "SUCCESS"
        schedule = ScheduleRecord("id", "s", "module.workflow", None, "@daily", "ACTIVE", "null")
        assert storage.create_schedule(schedule)
        assert storage.list_schedules(ScheduleQuery()) == [schedule]
    finally:
        storage.close()


def test_the_message_trace_migration_keeps_waiting_messages(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """message_trace_context on a database with a waiting message: it stays and is received
    without a carrier; a message sent afterwards keeps its carrier until its recv."""
    from dbos.storage import Message, RecvRequest

    before = [m for m in migrations() if m.name != "message_trace_context"]
    assert len(before) == len(migrations()) - 1
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at)"
        " VALUES ('rx', 'PENDING', 'module.workflow', 1, 1)",
    )
    _query(
        fresh_url,
        "INSERT INTO dbos.notifications (message_id, destination_id, topic, message, created_at)"
        " VALUES ('old', 'rx', 't', '\"old\"', 1)",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert [n for n in storage.migrate() if n.endswith("_message_trace_context")]
        storage.send(Message("new", "rx", "t", '"new"', 2, None, '{"traceparent":"x"}'))
        got = [storage.recv(RecvRequest("rx", i, "DBOS.recv", "t", 5)) for i in range(3)]
        assert [None if r is None else (r.output, r.trace_carrier) for r in got] == [
            ('"old"', None),
            ('"new"', '{"traceparent":"x"}'),
            None,
        ]
    finally:
        storage.close()


def test_the_status_origins_migration_keeps_existing_rows(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status_origins on a database with workflows: they read no timeout or application
    name, and the original of a fork stored before reads as forked from."""
    from dbos.storage import WorkflowQuery

    before = [m for m in migrations() if m.name != "status_origins"]
    assert len(before) == len(migrations()) - 1
    monkeypatch.setattr(_migrate, "migrations", lambda: before)
    _set_up(fresh_url)
    _query(
        fresh_url,
        "INSERT INTO dbos.workflow_status (workflow_id, status, name, created_at, updated_at,"
        " deadline_at, forked_from) VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1, 5000,"
        " NULL), ('plain', 'SUCCESS', 'module.workflow', 2, 2, NULL, NULL),"
        " ('old-fork', 'ENQUEUED', 'module.workflow', 3, 3, NULL, 'old')",
    )
    monkeypatch.undo()
    storage = PostgresStorage(fresh_url)
    try:
        assert [name for name in storage.migrate() if name.endswith("_status_origins")]
        rows = {row.workflow_id: row for row in storage.list_workflows(WorkflowQuery())}
        assert {key: row.was_forked_from for key, row in rows.items()} == {
            "old": True,
            "plain": False,
            "old-fork": False,
        }
        assert (rows["old"].timeout_ms, rows["old"].application_name) == (None, None)
        assert rows["old"].deadline_ms == 5000
    finally:
        storage.close()
