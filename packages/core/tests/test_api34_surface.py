"""DBOS Transact 3.4's remaining public names: `shard_key` on the messaging calls and
`SetShardKey` (accepted only as None: no sharding), `DBOS.shard_key`, `DBOS.executor_id`,
`get_result(polling_interval_sec=...)`, `DBOS.migrate`, `DBOS.reset_system_database`,
`set_latest_application_version(application_name=...)`, `dbos.StepInfo`, and
`DBOSClient.check_connection`."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSConnectionError,
    DBOSException,
    DBOSSerializationError,
    Queue,
    SendMessage,
    SetShardKey,
    SetWorkflowID,
    StepInfo,
    SystemStorage,
    WorkflowSerializationFormat,
    WorkflowStatusString,
)
from dbos_client import DBOSClient
from dbos_testing import storage_for_url

Launch = Callable[..., None]
PORTABLE = WorkflowSerializationFormat.PORTABLE


@DBOS.workflow()
def echo(value: str) -> str:
    DBOS.set_event("k", value)
    DBOS.write_stream("s", value)
    DBOS.close_stream("s")
    return value


@DBOS.workflow()
def shard_of_self() -> str | None:
    return DBOS.shard_key


def _refused_calls(side: Any) -> list[tuple[str, Callable[[], object]]]:
    def send() -> None:
        side.send("e1", "m", shard_key="x")

    def send_async() -> None:
        asyncio.run(side.send_async("e1", "m", shard_key="x"))

    def get_event() -> None:
        side.get_event("e1", "k", 0, shard_key="x")

    def read_stream() -> None:
        list(side.read_stream("e1", "s", shard_key="x"))

    def read_stream_offset() -> None:
        side.read_stream_offset("e1", "s", 0, shard_key="x")

    return [
        ("send", send),
        ("send", send_async),
        ("get_event", get_event),
        ("read_stream", read_stream),
        ("read_stream_offset", read_stream_offset),
    ]


def test_shard_keys_are_refused_by_name_and_nothing_is_written(
    launch: Launch, dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    launch()
    with SetWorkflowID("e1"):
        assert echo("v") == "v"
    with DBOSClient(dbos_system_database_url) as client:
        sides: list[tuple[str, Any]] = [("DBOS", DBOS), ("DBOSClient", client)]
        for label, side in sides:
            for call, run in _refused_calls(side):
                with pytest.raises(DBOSException, match=rf"{label}\.{call}: shard_key is not"):
                    run()
            with pytest.raises(DBOSException, match="SendMessage's shard_key is not supported"):
                side.send_bulk([SendMessage("e1", "m", None, None, "x")])
            # None is accepted, as 3.4's default.
            assert side.get_event("e1", "k", 0, shard_key=None) == "v"
            assert list(side.read_stream("e1", "s", shard_key=None)) == ["v"]
    with pytest.raises(DBOSException, match=r"DBOS\.get_all_events: shard_key is not"):
        DBOS.get_all_events("e1", shard_key="x")
    with pytest.raises(DBOSException, match=r"DBOS\.get_all_events_async: shard_key is not"):
        asyncio.run(DBOS.get_all_events_async("e1", shard_key="x"))
    assert DBOS.get_all_events("e1", shard_key=None) == {"k": "v"}


def test_set_shard_key_refuses_a_start_and_shard_key_is_none(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("sharded_q")
    launch()
    with pytest.raises(DBOSException, match="SetShardKey needs a non-empty string"):
        SetShardKey("")
    with SetShardKey("tenant-1"):
        with SetWorkflowID("refused-3"), pytest.raises(DBOSException, match="SetShardKey"):
            queue.enqueue(echo, "v")
        with SetWorkflowID("refused-1"), pytest.raises(DBOSException, match="'tenant-1'"):
            DBOS.start_workflow(echo, "v")
        with SetWorkflowID("refused-2"), pytest.raises(DBOSException, match="SetShardKey"):
            echo("v")
    assert dbos_storage.get_workflow("refused-1") is None
    assert dbos_storage.get_workflow("refused-2") is None
    assert dbos_storage.get_workflow("refused-3") is None
    assert DBOS.shard_key is None
    assert DBOS.start_workflow(shard_of_self).get_result() is None


def test_executor_id_is_the_configured_one(launch: Launch) -> None:
    DBOS.destroy()
    assert DBOS.executor_id == "local"
    launch(executor_id="exec-7")
    assert DBOS.executor_id == "exec-7"
    handle = DBOS.start_workflow(echo, "v")
    handle.get_result()
    assert handle.get_status().executor_id == "exec-7"


def test_get_result_takes_a_polling_interval(launch: Launch, dbos_system_database_url: str) -> None:
    gate = threading.Event()

    @DBOS.workflow()
    def gated() -> str:
        gate.wait(5)
        return "done"

    launch()
    handle = DBOS.start_workflow(gated)
    for bad in (0, -1, True, "1", float("inf")):
        with pytest.raises(DBOSException, match="polling_interval_sec must be a number > 0"):
            handle.get_result(polling_interval_sec=bad)  # type: ignore[arg-type]
    with DBOSClient(dbos_system_database_url) as client:
        remote = client.retrieve_workflow(handle.workflow_id)
        with pytest.raises(DBOSException, match="polling_interval_sec"):
            remote.get_result(polling_interval_sec=0)
        gate.set()
        assert remote.get_result(polling_interval_sec=0.05) == "done"
        remote_async = asyncio.run(client.retrieve_workflow_async(handle.workflow_id))
        assert asyncio.run(remote_async.get_result(polling_interval_sec=0.05)) == "done"
    assert handle.get_result(polling_interval_sec=2) == "done"


def test_the_polling_interval_spaces_the_reads() -> None:
    """No database: `wait_until_terminal` under a chosen interval reads that often."""
    from dbos.storage._waiting import RESULT_POLL_S, FinishSignal, wait_until_terminal

    reads: list[float] = []

    def read(workflow_id: str) -> None:
        reads.append(time.monotonic())

    token = RESULT_POLL_S.set(0.1)
    try:
        assert wait_until_terminal(read, FinishSignal(), "w", 0.45) is None
    finally:
        RESULT_POLL_S.reset(token)
    assert 4 <= len(reads) <= 6
    # Every gap is the interval, but the last (cut short by the timeout).
    gaps = [b - a for a, b in itertools.pairwise(reads)][:-1]
    assert gaps and all(gap >= 0.09 for gap in gaps)


def test_migrate_and_reset_system_database(
    dbos_system_database_url: str, dbos_backend: str, launch: Launch
) -> None:
    url = dbos_system_database_url
    with pytest.raises(DBOSException, match="sharding is not supported"):
        DBOS.migrate(url, sharding=True)
    if dbos_backend == "sqlite":
        with pytest.raises(DBOSException, match="application_role is only supported for Postgres"):
            DBOS.migrate(url, application_role="app")
    launch()
    handle = DBOS.start_workflow(echo, "v")
    handle.get_result()
    with pytest.raises(DBOSException, match="cannot be reset while DBOS is launched"):
        DBOS.reset_system_database()
    DBOS.destroy()
    # With truncate: emptied, still migrated.
    DBOS.reset_system_database(system_database_url=url, truncate=True)
    storage = storage_for_url(url)
    try:
        assert storage.verify_schema() == []
        storage.setup()
        assert storage.get_workflow(handle.workflow_id) is None
    finally:
        storage.close()
    # Without: the tables are dropped; DBOS.migrate creates them again.
    DBOS.reset_system_database(system_database_url=url)
    storage = storage_for_url(url)
    try:
        assert storage.verify_schema() != []
    finally:
        storage.close()
    DBOS.migrate(url)
    DBOS.migrate(url)  # idempotent
    storage = storage_for_url(url)
    try:
        assert storage.verify_schema() == []
    finally:
        storage.close()


def test_reset_without_a_url_or_instance_only_warns(caplog: pytest.LogCaptureFixture) -> None:
    DBOS.destroy()
    DBOS.reset_system_database()
    assert "reset_system_database has no effect" in caplog.text


def test_migrate_grants_an_application_role_on_postgres(
    dbos_system_database_url: str, dbos_backend: str
) -> None:
    if dbos_backend != "postgres":
        pytest.skip("roles are a Postgres matter")
    import psycopg

    role = f"dbos_app_{uuid.uuid4().hex[:10]}"
    url = dbos_system_database_url
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{role}"')
        try:
            DBOS.migrate(url, application_role=role)
            granted = connection.execute(
                "SELECT has_schema_privilege(%s, 'dbos', 'USAGE'), "
                "has_table_privilege(%s, 'dbos.workflow_status', 'INSERT')",
                (role, role),
            ).fetchone()
            assert granted == (True, True)
        finally:
            connection.execute(f'DROP OWNED BY "{role}"')
            connection.execute(f'DROP ROLE "{role}"')


def test_set_latest_application_version_takes_an_application_name(
    dbos_system_database_url: str, launch: Launch
) -> None:
    launch(name="shop", application_version="v1")
    launch(name="shop", application_version="v2")
    with pytest.raises(DBOSException, match="registered by application 'shop', not 'other'"):
        DBOS.set_latest_application_version("v1", application_name="other")
    assert DBOS.get_latest_application_version()["version_name"] == "v2"
    with pytest.raises(DBOSException, match="application_name must be a non-empty string"):
        DBOS.set_latest_application_version("v1", application_name="")
    DBOS.set_latest_application_version("v1", application_name="shop")
    assert DBOS.get_latest_application_version()["version_name"] == "v1"
    with DBOSClient(dbos_system_database_url) as client:
        with pytest.raises(DBOSException, match="not 'other'"):
            asyncio.run(client.set_latest_application_version_async("v2", application_name="other"))
        client.set_latest_application_version("v2", application_name="shop")
        assert client.get_latest_application_version()["version_name"] == "v2"


def test_step_info_is_exported_with_3_4_keys(launch: Launch) -> None:
    launch()
    with SetWorkflowID("e2"):
        echo("v")
    steps: list[StepInfo] = DBOS.list_workflow_steps("e2")
    assert set(steps[0]) == set(StepInfo.__annotations__)
    assert steps[0]["child_shard_key"] is None


def test_check_connection(dbos_system_database_url: str, launch: Launch) -> None:
    launch()
    client = DBOSClient(dbos_system_database_url)
    client.check_connection()  # returns when the database answers
    asyncio.run(client.check_connection_async())
    client.destroy()
    with pytest.raises(DBOSException):
        client.check_connection()


@pytest.mark.postgres_only
@pytest.mark.timeout(120)
def test_check_connection_makes_one_attempt(dbos_system_database_url: str) -> None:
    """A database gone away fails the check at its first attempt (the pool's 10 s connect
    timeout), not after the retry budget: set to 600 s here, past this test's timeout."""
    import psycopg
    from psycopg import sql

    from dbos_testing.postgres import drop_database, unique_name, with_database

    def run_admin(statement: str) -> None:
        with psycopg.connect(dbos_system_database_url, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(name)))

    name = unique_name("dbos_check")
    run_admin("CREATE DATABASE {}")
    try:
        url = with_database(dbos_system_database_url, name)
        DBOS.migrate(url)
        client = DBOSClient(url, sys_db_retry_timeout_sec=600)
        try:
            client.check_connection()
            run_admin("DROP DATABASE {} WITH (FORCE)")
            with pytest.raises(DBOSConnectionError, match="connect"):
                client.check_connection()
        finally:
            client.destroy()
    finally:
        drop_database(dbos_system_database_url, name)


def test_client_send_takes_the_idempotency_key_fourth(
    launch: Launch, dbos_system_database_url: str
) -> None:
    """`DBOSClient.send(destination, message, topic, idempotency_key)`, positionally, as in
    DBOS Transact 3.4: the repeat is not delivered."""

    @DBOS.workflow()
    def receive_two() -> list[Any]:
        return [DBOS.recv("t", timeout_seconds=10), DBOS.recv("t", timeout_seconds=1)]

    launch()
    with SetWorkflowID("keyed-rx"):
        rx = DBOS.start_workflow(receive_two)
    with DBOSClient(dbos_system_database_url) as client:
        client.send("keyed-rx", "once", "t", "key-1")
        client.send("keyed-rx", "once", "t", "key-1")
    assert rx.get_result() == ["once", None]


def test_set_workflow_id_takes_dbos_name_and_ours(launch: Launch) -> None:
    launch()
    with SetWorkflowID(wfid="by-wfid"):
        assert echo("a") == "a"
    with SetWorkflowID(workflow_id="by-workflow-id"):  # the keyword of an earlier release
        assert echo("b") == "b"
    assert DBOS.get_workflow_status("by-wfid") is not None
    assert DBOS.get_workflow_status("by-workflow-id") is not None
    with pytest.raises(DBOSException, match="both wfid and workflow_id"):
        SetWorkflowID("x", workflow_id="y")
    with pytest.raises(DBOSException, match="needs wfid"):
        SetWorkflowID()


def test_migrate_creates_a_new_sqlite_file(launch: Launch, tmp_path: Path) -> None:
    """`DBOS.migrate` on a brand-new SQLite file creates it."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    DBOS.migrate(url)
    storage = storage_for_url(url)
    try:
        assert storage.verify_schema() == []
    finally:
        storage.close()
    launch(system_database_url=url)
    handle = DBOS.start_workflow(echo, "x")
    assert handle.get_status().status in (
        WorkflowStatusString.PENDING.value,
        WorkflowStatusString.SUCCESS.value,
    )


def test_send_bulk_takes_a_serialization_type(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.workflow()
    def receive_four() -> list[Any]:
        return [DBOS.recv("t", timeout_seconds=10) for _ in range(4)]

    @DBOS.workflow()
    def bulk_sender() -> None:
        DBOS.send_bulk(
            [SendMessage("rx", {"at": dt.date(2031, 2, 5)}, "t")], serialization_type=PORTABLE
        )

    launch()
    with SetWorkflowID("rx"):
        rx = DBOS.start_workflow(receive_four)
    day = dt.date(2031, 2, 4)
    DBOS.send_bulk([SendMessage("rx", {"at": day}, "t")], serialization_type=PORTABLE)
    DBOS.send_bulk([SendMessage("rx", {"at": day}, "t")])  # the configured format
    with DBOSClient(dbos_system_database_url) as client:
        client.send_bulk([SendMessage("rx", {"at": day}, "t")], serialization_type=PORTABLE)
        with pytest.raises(DBOSSerializationError):
            client.send_bulk([SendMessage("rx", 1, "t")], serialization_type="yaml")  # type: ignore[arg-type]
    DBOS.start_workflow(bulk_sender).get_result()
    assert rx.get_result() == [
        {"at": "2031-02-04"},
        {"at": day},
        {"at": "2031-02-04"},
        {"at": "2031-02-05"},
    ]
