"""SQLite specifics: URLs, WAL, migrations, several processes on one file, reopening."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dbos import DBOSConfigError, DBOSConnectionError, DBOSMigrationError
from dbos.storage import ForkRequest, NewWorkflow, StoredQueue, WorkflowOutcome, WorkflowQuery
from dbos_sqlite import SQLiteStorage, parse_sqlite_url
from dbos_sqlite._storage import _MIGRATIONS


def test_relative_absolute_and_options() -> None:
    assert parse_sqlite_url("sqlite:///app.sqlite").path == Path("app.sqlite")
    assert parse_sqlite_url("sqlite:////data/app.sqlite").path == Path("/data/app.sqlite")
    settings = parse_sqlite_url("sqlite:///a.sqlite?synchronous=normal&timeout=5")
    assert (settings.synchronous, settings.timeout_s) == ("normal", 5.0)
    assert parse_sqlite_url("sqlite:///a.sqlite").synchronous == "full"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite://", "names no file"),
        ("sqlite://host/app.sqlite", "host part"),
        ("sqlite:///a.sqlite?journal=off", "unknown option"),
        ("sqlite:///a.sqlite?synchronous=off", "synchronous must be"),
        ("sqlite:///a.sqlite?timeout=soon", "timeout must be"),
    ],
)
def test_bad_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        SQLiteStorage(url)


def test_the_displayed_url_names_the_file_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What logs and pasted commands show must name the same file from any directory."""
    monkeypatch.chdir(tmp_path)
    relative = SQLiteStorage("sqlite:///sub%20dir/app.sqlite?timeout=5")
    assert relative.url_for_display == f"sqlite:///{tmp_path}/sub%20dir/app.sqlite?timeout=5"
    assert parse_sqlite_url(relative.url_for_display).path == tmp_path / "sub dir" / "app.sqlite"
    absolute = f"sqlite:///{tmp_path}/app.sqlite"
    assert SQLiteStorage(absolute).url_for_display == absolute


def test_missing_directory_is_a_connection_error(tmp_path: Path) -> None:
    storage = SQLiteStorage(f"sqlite:///{tmp_path}/nope/app.sqlite")
    with pytest.raises(DBOSConnectionError, match="does not exist"):
        storage.setup()


def test_wal_mode_and_ledger(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    storage = SQLiteStorage(f"sqlite:///{path}")
    storage.setup()
    storage.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        ledger = connection.execute("SELECT version, name, checksum FROM schema_migrations")
        assert ledger.fetchall() == [(m.version, m.name, m.checksum) for m in _MIGRATIONS]


def test_changed_and_future_migrations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    SQLiteStorage(f"sqlite:///{path}").setup()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_migrations SET checksum = 'abc'")
    with pytest.raises(DBOSMigrationError, match="checksum"):
        SQLiteStorage(f"sqlite:///{path}").setup()
    with sqlite3.connect(path) as connection:
        connection.execute("DELETE FROM schema_migrations")
        connection.execute(
            "INSERT INTO schema_migrations VALUES (1, 'initial', ?, 0)", (_MIGRATIONS[0].checksum,)
        )
        connection.execute("INSERT INTO schema_migrations VALUES (42, 'future', 'x', 0)")
    with pytest.raises(DBOSMigrationError, match="migration 42"):
        SQLiteStorage(f"sqlite:///{path}").setup()


def test_verify_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    storage = SQLiteStorage(f"sqlite:///{path}")
    # A missing file is reported (like a missing Postgres database), not created.
    with pytest.raises(DBOSConfigError, match="does not exist"):
        storage.verify_schema()
    assert not path.exists()
    path.touch()
    assert storage.verify_schema() == [f"{m.version:04d}_{m.name}" for m in _MIGRATIONS]
    with sqlite3.connect(path) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        assert tables.fetchall() == []
    storage.migrate()
    assert storage.verify_schema() == []


def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/app.sqlite"
    first = SQLiteStorage(url)
    first.setup()
    first.create_workflow(NewWorkflow("kept", "wf", "[]", "local", "v1", 1))
    first.finish_workflow(WorkflowOutcome("kept", "SUCCESS", '"ok"', None, 2))
    first.close()
    second = SQLiteStorage(url)
    second.setup()
    row = second.get_workflow("kept")
    assert row is not None and (row.status, row.output) == ("SUCCESS", '"ok"')


_RACER = """
import sys, time
from pathlib import Path
from dbos.storage import NewWorkflow
from dbos_sqlite import SQLiteStorage
storage = SQLiteStorage(sys.argv[1])
storage.setup()
while not Path(sys.argv[2]).exists():
    time.sleep(0.002)
print(storage.create_workflow(NewWorkflow("raced", "wf", "[]", sys.argv[3], "v1", 1)).created)
"""


def test_processes_racing_on_one_file_create_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/app.sqlite"
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, url, str(go), f"p{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    go.touch()
    outputs = [racer.communicate(timeout=60)[0].strip() for racer in racers]
    assert sorted(outputs) == ["False", "False", "False", "True"]


def test_the_workflow_classes_migration_keeps_existing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0009 on a file with workflows: the rows stay, as functions (no class or instance),
    and can still be read and forked."""
    from dbos_sqlite import _storage

    path = tmp_path / "app.sqlite"
    before = [m for m in _MIGRATIONS if m.version < 9]
    monkeypatch.setattr(_storage, "_MIGRATIONS", before)
    SQLiteStorage(f"sqlite:///{path}").setup()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert storage.migrate()[:3] == [
            "0009_workflow_classes",
            "0010_status_details",
            "0011_workflow_attributes",
        ]
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0011 on a file with workflows: they stay readable, without attributes, and take
    attributes afterwards, stored as JSON text that SQL can read."""
    import dbos_sqlite._storage as storage_module

    before = [m for m in _MIGRATIONS if m.version < 11]
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # a row as the code before 0011 wrote it
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert storage.migrate()[:1] == ["0011_workflow_attributes"]
        row = storage.get_workflow("old")
        assert row is not None and row.attributes is None
        assert storage.update_workflow_attributes("old", '{"k": [1]}', True, 2)
    finally:
        storage.close()
    with sqlite3.connect(path) as connection:
        found = connection.execute("SELECT attributes ->> '$.k[0]' FROM workflow_status")
        assert found.fetchall() == [(1,)]


def test_the_serialization_migration_keeps_existing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0012 on a file with workflows: they stay readable with no serialization marker (this
    library's own format), and new rows carry theirs."""
    import dbos_sqlite._storage as storage_module

    before = [m for m in _MIGRATIONS if m.version < 12]
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # a row as the code before 0012 wrote it
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, inputs, output,"
            " created_at, updated_at) VALUES ('old', 'SUCCESS', 'module.workflow',"
            " '{\"args\":[1],\"kwargs\":{}}', '2', 1, 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert storage.migrate()[:1] == ["0012_serialization_formats"]
        row = storage.get_workflow("old")
        assert row is not None and row.serialization is None and row.output == "2"
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
    finally:
        storage.close()


def test_the_message_keys_migration_keeps_waiting_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0013 on a file with a waiting message: it stays and is received; keyed sends work
    afterwards, once per destination and key."""
    import dbos_sqlite._storage as storage_module
    from dbos.storage import Message, RecvRequest

    before = [m for m in _MIGRATIONS if m.version < 13]
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('rx', 'PENDING', 'module.workflow', 1, 1)"
        )
        connection.execute(
            "INSERT INTO notifications (message_id, destination_id, topic, message, created_at)"
            " VALUES ('old', 'rx', 't', '\"old\"', 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert "0013_message_keys" in storage.migrate()
        storage.send(Message("new-1", "rx", "t", '"new"', 2, "key"))
        storage.send(Message("new-2", "rx", "t", '"new"', 3, "key"))
        got = [storage.recv(RecvRequest("rx", i, "DBOS.recv", "t", 5)) for i in range(3)]
        assert [None if r is None else r.output for r in got] == ['"old"', '"new"', None]
    finally:
        storage.close()


def test_the_roles_migration_keeps_existing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """workflow_roles on a file with workflows: they stay readable, with no authentication
    information, and new workflows store their identity next to them."""
    import dbos_sqlite._storage as storage_module

    before = [m for m in _MIGRATIONS if m.name != "workflow_roles"]
    assert len(before) == len(_MIGRATIONS) - 1
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # a row as the code before the roles wrote it
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        applied = storage.migrate()
        assert len(applied) == 1 and applied[0].endswith("_workflow_roles")
        row = storage.get_workflow("old")
        assert row is not None
        assert (row.authenticated_user, row.authenticated_roles, row.assumed_role) == (
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
        new = storage.get_workflow("new")
        assert new is not None and new.authenticated_roles == '["admin"]'
    finally:
        storage.close()
    with sqlite3.connect(path) as connection:
        found = connection.execute(
            "SELECT workflow_id, authenticated_user, assumed_role FROM workflow_status"
            " ORDER BY workflow_id"
        )
        assert found.fetchall() == [("new", "alice", "admin"), ("old", None, None)]


def test_a_workflow_in_flight_under_the_old_numbering_recovers_after_the_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """operation_numbering on a file where a workflow stopped mid-way under the earlier
    numbering (operations from 0): it recovers and replays against its own records, its new
    operations continue its numbering (step IDs, child IDs), a fork of it stays coherent, and
    new workflows count from 1 (DBOS Transact 3.4's numbering)."""
    import dbos_sqlite._storage as storage_module
    from dbos import DBOS

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

    before = [m for m in _MIGRATIONS if m.name != "operation_numbering"]
    assert len(before) == len(_MIGRATIONS) - 1
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # as the code before the upgrade left them
        names = (old_numbered.__qualname__, numbered.__qualname__, child.__qualname__)
        for statement, params in _old_numbered_rows(*names):
            connection.execute(statement.replace("%s", "?"), params)
    monkeypatch.undo()
    DBOS.destroy()
    DBOS(
        config={
            "name": "upgrade",
            "system_database_url": f"sqlite:///{path}",
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
    finally:
        DBOS.destroy()


def _old_numbered_rows(
    name: str, step_name: str, child_name: str
) -> list[tuple[str, tuple[object, ...]]]:
    """The rows the code before operation_numbering left for workflow "old-wf" (PENDING,
    stopped after its operations 0 and 1) and its finished child "old-wf-1"."""
    status = (
        "INSERT INTO workflow_status (workflow_id, status, name, inputs, output, executor_id,"
        " application_version, created_at, updated_at, parent_workflow_id)"
        " VALUES (%s, %s, %s, %s, %s, 'local', 'before-upgrade', 1, 1, %s)"
    )
    step = (
        "INSERT INTO operation_outputs (workflow_id, function_id, function_name, output,"
        " child_workflow_id, started_at, completed_at) VALUES ('old-wf', %s, %s, %s, %s, 1, 1)"
    )
    inputs = '{"args":[],"kwargs":{}}'
    return [
        (status, ("old-wf", "PENDING", name, inputs, None, None)),
        (status, ("old-wf-1", "SUCCESS", child_name, inputs, '"child"', "old-wf")),
        (step, (0, step_name, '"a-0"', None)),
        (step, (1, child_name, None, "old-wf-1")),
    ]


def test_the_queues_migration_keeps_existing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """queues_as_data on a file with leases: an existing lease reads back as listening to
    every queue, and queues are stored next to it."""
    import dbos_sqlite._storage as storage_module

    before = [m for m in _MIGRATIONS if m.name != "queues_as_data"]
    assert len(before) == len(_MIGRATIONS) - 1
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # a lease as the code before wrote it
        connection.execute(
            "INSERT INTO process_leases (instance_id, executor_id, application_version, host,"
            " pid, renewed_at, expires_at) VALUES ('old', 'e', 'v', 'h', 1, 1, 2)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        applied = storage.migrate()
        assert len(applied) == 1 and applied[0].endswith("_queues_as_data")
        [lease] = storage.list_leases()
        assert (lease.instance_id, lease.queues) == ("old", None)
        assert storage.store_queue(StoredQueue("q", concurrency=2), False, 5)
        found = storage.get_queue("q")
        assert found is not None and found.concurrency == 2
    finally:
        storage.close()


def test_the_schedules_migration_keeps_existing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """workflow_schedules on a file with workflows: they stay readable, and schedules can be
    stored next to them."""
    import dbos_sqlite._storage as storage_module
    from dbos.storage import ScheduleQuery, ScheduleRecord

    before = [m for m in _MIGRATIONS if m.name != "workflow_schedules"]
    assert len(before) == len(_MIGRATIONS) - 1
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        applied = storage.migrate()
        assert any(name.endswith("_workflow_schedules") for name in applied)
        row = storage.get_workflow("old")
        assert row is not None and row.status == "SUCCESS"
        schedule = ScheduleRecord("id", "s", "module.workflow", None, "@daily", "ACTIVE", "null")
        assert storage.create_schedule(schedule)
        assert storage.list_schedules(ScheduleQuery()) == [schedule]
    finally:
        storage.close()


def test_the_message_trace_migration_keeps_waiting_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """message_trace_context on a file with a waiting message: it stays and is received
    without a carrier; a message sent afterwards keeps its carrier until its recv."""
    import dbos_sqlite._storage as storage_module
    from dbos.storage import Message, RecvRequest

    before = [m for m in _MIGRATIONS if m.name != "message_trace_context"]
    assert len(before) == len(_MIGRATIONS) - 1
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at)"
            " VALUES ('rx', 'PENDING', 'module.workflow', 1, 1)"
        )
        connection.execute(
            "INSERT INTO notifications (message_id, destination_id, topic, message, created_at)"
            " VALUES ('old', 'rx', 't', '\"old\"', 1)"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0020 on a file with workflows: they read no timeout or application name, the
    original of a fork stored before reads as forked from, and new rows carry all three."""
    import dbos_sqlite._storage as storage_module

    before = [m for m in _MIGRATIONS if m.version < 20]
    monkeypatch.setattr(storage_module, "_MIGRATIONS", before)
    path = tmp_path / "old.sqlite"
    old = SQLiteStorage(f"sqlite:///{path}")
    old.setup()
    old.close()
    with sqlite3.connect(path) as connection:  # rows as the code before 0020 wrote them
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at,"
            " deadline_at) VALUES ('old', 'SUCCESS', 'module.workflow', 1, 1, 5000),"
            " ('plain', 'SUCCESS', 'module.workflow', 2, 2, NULL)"
        )
        connection.execute(
            "INSERT INTO workflow_status (workflow_id, status, name, created_at, updated_at,"
            " forked_from) VALUES ('old-fork', 'ENQUEUED', 'module.workflow', 3, 3, 'old')"
        )
    monkeypatch.undo()
    storage = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert storage.migrate() == ["0020_status_origins"]
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
