"""Scale (issue 17) on SQLite: with many finished workflows and a queued backlog, the hot
statements search indexes (EXPLAIN QUERY PLAN), and retention deletes in bounded batches,
each its own transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbos.storage import NewWorkflow, WorkflowOutcome, WorkflowQuery
from dbos_sqlite import SQLiteStorage, _storage
from dbos_sqlite._attributes import register_functions
from dbos_sqlite._listing import list_workflows_sql
from dbos_sqlite._storage import _QUERIES

# Finished rows are the newest, queued ones the oldest (a backlog behind a busy table).
FILL = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO workflow_status (workflow_id, status, name, executor_id, application_version,
    created_at, updated_at, queue_name, started_at, output)
SELECT 'done-' || i, CASE WHEN i % 1000 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, 'wf', 'local',
       'v1', 5000000 + i, 5000000 + i, CASE WHEN i % 2 = 0 THEN 'q' END,
       CASE WHEN i % 2 = 0 THEN 5000000 + i END, '1'
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO workflow_status (workflow_id, status, name, application_version, created_at,
    updated_at, queue_name, queue_partition_key)
SELECT 'queued-' || i, 'ENQUEUED', 'wf', 'v1', 1000000 + i, 1000000 + i,
       CASE WHEN i % 2 = 0 THEN 'q' ELSE 'pq' END, CASE WHEN i % 2 = 1 THEN 'k' || i % 50 END
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
INSERT INTO workflow_status (workflow_id, status, name, executor_id, application_version,
    created_at, updated_at, queue_name, started_at, owner_instance)
SELECT 'pending-' || i, 'PENDING', 'wf', 'local', 'v1', 9000000 + i, 9000000 + i, 'q',
       9000000 + i, 'gone'
FROM n;
ANALYZE;
"""

PARAMS: dict[str, Any] = {
    "queue_name": "q",
    "executor_id": "local",
    "instance_id": "me",
    "application_version": "v1",
    "takes_unversioned": True,
    "now_ms": 10_000_000,
    "stranded_now_ms": 10_000_000,
    "workflow_names": '["wf"]',
    "since_ms": 9_999_000,
    "partition_since_ms": 9_999_000,
    "limit": 10,
    "partition_key": "k1",
    "cutoff_ms": 5_100_000,
    "after_ms": 5_050_000,
    "batch": 1000,
}


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("scale") / "scale.sqlite"
    storage = SQLiteStorage(f"sqlite:///{path}")
    storage.setup()
    storage.close()
    connection = sqlite3.connect(path, isolation_level=None)
    register_functions(connection)
    connection.executescript(FILL)
    yield connection
    connection.close()


def plan(connection: sqlite3.Connection, statement: str, params: dict[str, Any]) -> list[str]:
    return [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + statement, params)]


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("queue_candidates", "workflow_status_enqueued"),
        ("queue_running", "workflow_status_queue_running"),
        ("queue_started_since", "workflow_status_queue_started"),
        ("partition_loads", "workflow_status_partition_enqueued"),
        ("partition_candidates", "workflow_status_partition_enqueued"),
        ("select_recoverable", "workflow_status_"),
        ("select_abandoned", "workflow_status_"),
        ("queue_depths", "workflow_status_"),
        ("count_stranded_workflows", "workflow_status_"),
        ("select_older_than", "workflow_status_created_at"),
        ("select_expired", "workflow_status_deadline"),
    ],
)
def test_hot_statements_search_an_index(filled: sqlite3.Connection, name: str, index: str) -> None:
    steps = plan(filled, _QUERIES[name], PARAMS)
    # "SCAN workflow_status" (or one of its aliases here) without an index reads the whole
    # table; the small tables (leases, versions) and subquery results may be scanned.
    scans = [s.split()[1] for s in steps if s.startswith("SCAN") and "INDEX" not in s]
    assert not set(scans) & {"workflow_status", "w", "r", "operation_outputs"}, steps
    assert [s for s in steps if s.startswith("SEARCH") and f"INDEX {index}" in s], steps


@pytest.mark.parametrize("status", ["SUCCESS", "ERROR", "ENQUEUED", "PENDING"])
def test_listing_by_status_searches_the_status_index(
    filled: sqlite3.Connection, status: str
) -> None:
    statement, params = list_workflows_sql(WorkflowQuery(statuses=(status,), limit=100))
    steps = plan(filled, statement, params)
    assert steps[0].startswith("SEARCH workflow_status USING INDEX workflow_status_status_created")
    # Only ties on created_at are sorted (by workflow ID), not every matching row.
    assert "USE TEMP B-TREE FOR ORDER BY" not in steps, steps


def test_retention_deletes_in_batches_each_its_own_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = SQLiteStorage(f"sqlite:///{tmp_path / 'gc.sqlite'}")
    storage.setup()
    for n in range(25):  # two finished in one millisecond across a batch boundary (n = 9, 10)
        created = 100 + n - (n == 10)
        storage.create_workflow(NewWorkflow(f"done-{n:02}", "wf", "[]", "local", "v1", created))
        storage.finish_workflow(WorkflowOutcome(f"done-{n:02}", "SUCCESS", "1", None, created))
        storage.create_workflow(NewWorkflow(f"open-{n:02}", "wf", "[]", "local", "v1", 100 + n))
    monkeypatch.setattr(_storage, "DELETE_BATCH", 10)
    statements: list[str] = []
    storage._connect().set_trace_callback(statements.append)
    assert storage.delete_older_than(1000) == 25
    storage._connect().set_trace_callback(None)
    transactions = [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")]
    assert transactions == ["BEGIN IMMEDIATE", "COMMIT"] * 3
    left = [row.workflow_id for row in storage.list_workflows(WorkflowQuery())]
    assert sorted(left) == [f"open-{n:02}" for n in range(25)]
    storage.close()
