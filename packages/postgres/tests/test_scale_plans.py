"""Scale (issue 17): on a table with many finished workflows and a queued backlog, the hot
statements find their rows through indexes, so they cost what they cost on an empty table.

The planner's choices are read from EXPLAIN (FORMAT JSON), both as a one-off statement plans
them (a custom plan, for these parameter values) and as a prepared statement may after a few
executions (a generic plan: the hot paths run with prepare=True). No timing is asserted here;
bench/run.py's scale workload measures latency against table size."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dbos.storage import ClaimRequest, QueueSpec, WorkflowQuery
from dbos_postgres import PostgresStorage
from dbos_postgres._claims import claim_params
from dbos_postgres._listing import list_workflows_sql
from dbos_postgres._sql import queries
from dbos_testing.postgres import drop_database, unique_name, with_database

pytestmark = pytest.mark.postgres_only

FINISHED = 200_000
QUEUED = 20_000
PARTITIONED = 5_000
PENDING = 200
NOW_MS = 10_000_000

# Finished rows are the newest and queued ones the oldest (a backlog behind a busy table), so
# a plan that walks the created_at index past finished rows to reach queued ones would read
# most of the table. ERROR is rare (1 in 1,000), as in a healthy application.
FILL = [
    f"""INSERT INTO dbos.workflow_status (workflow_id, status, name, executor_id,
        application_version, created_at, updated_at, queue_name, started_at, output)
    SELECT 'done-' || i,
           CASE WHEN i % 1000 = 0 THEN 'ERROR' WHEN i % 997 = 0 THEN 'CANCELLED'
                ELSE 'SUCCESS' END,
           'wf', 'local', 'v1', 5000000 + i, 5000000 + i, CASE WHEN i % 2 = 0 THEN 'q' END,
           CASE WHEN i % 2 = 0 THEN 5000000 + i END, '1'
    FROM generate_series(1, {FINISHED}) AS i""",
    f"""INSERT INTO dbos.operation_outputs (workflow_id, function_id, function_name, output)
    SELECT 'done-' || i, 1, 'step', '1' FROM generate_series(1, {FINISHED}) AS i""",
    f"""INSERT INTO dbos.workflow_status (workflow_id, status, name, application_version,
        created_at, updated_at, queue_name)
    SELECT 'queued-' || i, 'ENQUEUED', 'wf', 'v1', 1000000 + i, 1000000 + i, 'q'
    FROM generate_series(1, {QUEUED}) AS i""",
    f"""INSERT INTO dbos.workflow_status (workflow_id, status, name, application_version,
        created_at, updated_at, queue_name, queue_partition_key)
    SELECT 'part-' || i, 'ENQUEUED', 'wf', 'v1', 1000000 + i, 1000000 + i, 'pq', 'k' || i % 50
    FROM generate_series(1, {PARTITIONED}) AS i""",
    f"""INSERT INTO dbos.workflow_status (workflow_id, status, name, executor_id,
        application_version, created_at, updated_at, queue_name, started_at, owner_instance)
    SELECT 'pending-' || i, 'PENDING', 'wf', 'local', 'v1', 9000000 + i, 9000000 + i, 'q',
           9000000 + i, 'gone'
    FROM generate_series(1, {PENDING}) AS i""",
    "ANALYZE",
]


@pytest.fixture(scope="module")
def filled(dbos_postgres_admin_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a migrated database holding the rows above (built once per module)."""
    name = unique_name("dbos_scale")
    url = with_database(dbos_postgres_admin_url, name)
    storage = PostgresStorage(url)
    storage.setup()
    storage.close()
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in FILL:
            connection.execute(statement.encode())
        yield connection
    drop_database(dbos_postgres_admin_url, name)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _generic(statement: bytes, params: dict[str, Any]) -> tuple[bytes, list[Any]]:
    """`statement` with its %(name)s placeholders numbered ($1...), and the values in order."""
    names: list[str] = []

    def number(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode()
        if name not in names:
            names.append(name)
        return b"$%d" % (names.index(name) + 1)

    numbered = re.sub(rb"%\((\w+)\)s", number, statement)
    return numbered, [params[name] for name in names]


def plans(
    connection: psycopg.Connection[Any], statement: bytes | sql.Composable, params: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The plan nodes of `statement`, custom (planned for `params`) and generic (as a
    prepared statement planned once for any values)."""
    text = statement if isinstance(statement, bytes) else statement.as_bytes(connection)
    found: dict[str, list[dict[str, Any]]] = {}
    row = connection.execute(b"EXPLAIN (FORMAT JSON) " + text, params).fetchone()
    assert row is not None
    found["custom"] = list(_nodes(row[0][0]["Plan"]))
    numbered, values = _generic(text, params)
    cursor = psycopg.ClientCursor(connection)
    cursor.execute("DEALLOCATE ALL")
    cursor.execute(b"PREPARE scale_plan AS " + numbered)
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    try:
        marks = ", ".join(["%s"] * len(values))
        execute = (
            f"EXPLAIN (FORMAT JSON) EXECUTE scale_plan({marks})"
            if values
            else ("EXPLAIN (FORMAT JSON) EXECUTE scale_plan")
        )
        row = cursor.execute(execute, values).fetchone()
        assert row is not None
        found["generic"] = list(_nodes(row[0][0]["Plan"]))
    finally:
        cursor.execute("RESET plan_cache_mode")
        cursor.execute("DEALLOCATE scale_plan")
    return found


#: The tables that grow with the number of workflows (the others hold a row per process, queue,
#: version or schedule).
LARGE = {"workflow_status", "operation_outputs"}


def assert_indexed(
    found: dict[str, list[dict[str, Any]]], *indexes: str, no_sort: bool = False
) -> None:
    """No plan reads a whole workflow_status table, each uses one of `indexes`, and with
    `no_sort` none sorts (a full Sort node; an incremental sort of ties is fine)."""
    for kind, nodes in found.items():
        scans = [n.get("Relation Name") for n in nodes if n["Node Type"] == "Seq Scan"]
        assert not set(scans) & LARGE, (kind, scans)
        used = {n.get("Index Name") for n in nodes} - {None}
        assert used & set(indexes), (kind, used)
        if no_sort:
            assert not [n for n in nodes if n["Node Type"] == "Sort"], (kind, nodes)


Q = queries("dbos")
#: Partial indexes that hold only PENDING rows.
PENDING_INDEXES = (
    "workflow_status_pending",
    "workflow_status_pending_owner",
    "workflow_status_queue_running",
)


def _claim_params(queue: QueueSpec) -> dict[str, Any]:
    request = ClaimRequest(queue, "local", "v1", 10, ("wf",), NOW_MS, "me")
    return claim_params("dbos", request)


def test_claiming_reads_the_queue_index(filled: psycopg.Connection[Any]) -> None:
    found = plans(filled, Q["claim_queued"], _claim_params(QueueSpec("q")))
    assert_indexed(found, "workflow_status_enqueued")


def test_a_queue_with_limits_counts_by_index(filled: psycopg.Connection[Any]) -> None:
    params = _claim_params(QueueSpec("q", concurrency=5, limit=10, period_s=1.0))
    found = plans(filled, Q["queue_counts"], params)
    # Running tasks: one of the partial indexes of PENDING rows (few, whatever the table size).
    assert_indexed(found, "workflow_status_queue_running", *PENDING_INDEXES)
    assert_indexed(found, "workflow_status_queue_started")


def test_a_partitioned_queue_claims_by_index(filled: psycopg.Connection[Any]) -> None:
    params = _claim_params(QueueSpec("pq", concurrency=2, partitioned=True))
    assert_indexed(
        plans(filled, Q["partition_loads"], params), "workflow_status_partition_enqueued"
    )
    params.update(partition_keys=["k1", "k2"], partition_counts=[2, 2])
    found = plans(filled, Q["claim_partitions"], params)
    assert_indexed(found, "workflow_status_partition_enqueued")


@pytest.mark.parametrize("status", ["SUCCESS", "ERROR", "ENQUEUED", "PENDING"])
@pytest.mark.parametrize("newest_first", [True, False])
def test_listing_by_status_reads_only_the_rows_it_returns(
    filled: psycopg.Connection[Any], status: str, newest_first: bool
) -> None:
    query = WorkflowQuery(statuses=(status,), limit=100, sort_desc=newest_first)
    statement, params = list_workflows_sql("dbos", query)
    found = plans(filled, statement, params)
    by_status = "workflow_status_status_created"
    if status == "PENDING":  # few rows, in partial indexes of their own; sorting them is cheap
        assert_indexed(found, by_status, *PENDING_INDEXES)
        return
    assert_indexed(
        {"custom": found["custom"]}, by_status, "workflow_status_created_at", no_sort=True
    )
    # A generic plan knows no status: the status index is the only one that bounds the read.
    assert_indexed({"generic": found["generic"]}, by_status, no_sort=True)


def test_recovery_reads_only_unfinished_rows(filled: psycopg.Connection[Any]) -> None:
    params = {
        "executor_id": "local",
        "application_version": "v1",
        "instance_id": "me",
        "now_ms": NOW_MS,
        "limit": 100,
    }
    assert_indexed(plans(filled, Q["recover_pending"], params), *PENDING_INDEXES)
    assert_indexed(plans(filled, Q["take_over_workflows"], params), *PENDING_INDEXES)
    assert_indexed(
        plans(filled, Q["count_stranded_workflows"], {}), "workflow_status_status_created"
    )


def test_queue_depths_read_only_queued_and_running_rows(filled: psycopg.Connection[Any]) -> None:
    assert_indexed(plans(filled, Q["queue_depths"], {}), "workflow_status_status_created")


def test_retention_finds_its_batch_by_age_and_deletes_by_key(
    filled: psycopg.Connection[Any],
) -> None:
    params = {"cutoff_ms": 5_100_000, "batch": 1000, "after_ms": 5_050_000}
    found = plans(filled, Q["delete_older_than"], params)
    assert_indexed(found, "workflow_status_created_at")
    assert_indexed(found, "workflow_status_pkey")


def test_deadlines_are_found_by_index(filled: psycopg.Connection[Any]) -> None:
    assert_indexed(
        plans(filled, Q["cancel_expired"], {"now_ms": NOW_MS}), "workflow_status_deadline"
    )
