"""Claiming queued workflows inside a transaction: the queue lock, the limits (decided by
core's pure `claimable` / `partition_quotas`) and the claiming statements."""

from __future__ import annotations

from typing import Any

import psycopg

from dbos.storage import ClaimRequest, PartitionLoad, WorkflowRow, claimable, partition_quotas

from ._columns import workflow_rows
from ._params import queue_lock_key


def claim_params(schema: str, request: ClaimRequest) -> dict[str, Any]:
    """The parameters of the claiming statements for `request` (its limit before counts)."""
    queue = request.queue
    return {
        "queue_name": queue.name,
        "executor_id": request.executor_id,
        "instance_id": request.instance_id,
        "application_version": request.application_version,
        "takes_unversioned": request.takes_unversioned,
        "now_ms": request.now_ms,
        "workflow_names": list(request.workflow_names),
        "since_ms": request.now_ms - int((queue.period_s or 0) * 1000),
        "partition_since_ms": request.now_ms - int((queue.partition_period_s or 0) * 1000),
        "lock_key": queue_lock_key(schema, queue.name),
        "limit": claimable(queue, request.capacity, 0, 0),
    }


def claim_in(
    queries: dict[str, bytes],
    schema: str,
    connection: psycopg.Connection[Any],
    request: ClaimRequest,
) -> list[WorkflowRow]:
    """Claim inside the caller's transaction: nothing when another process holds the queue's
    lock (a queue with global limits), else as many as the limits allow."""
    queue = request.queue
    params = claim_params(schema, request)
    if queue.has_global_limits:
        locked = connection.execute(queries["lock_queue"], params, prepare=True).fetchone()
        if not (locked and locked[0]):  # another process is claiming this queue now
            return []
    if queue.has_queue_limits:
        counts = connection.execute(queries["queue_counts"], params, prepare=True).fetchone()
        assert counts is not None
        running, started = counts
        params["limit"] = claimable(queue, request.capacity, running, started)
    if params["limit"] <= 0:
        return []
    if queue.partitioned:
        return _claim_partitions(queries, connection, request, params)
    rows = connection.cursor(row_factory=workflow_rows)
    return rows.execute(queries["claim_queued"], params, prepare=True).fetchall()


def _claim_partitions(
    queries: dict[str, bytes],
    connection: psycopg.Connection[Any],
    request: ClaimRequest,
    params: dict[str, Any],
) -> list[WorkflowRow]:
    """Claim from a partitioned queue: up to ``params["limit"]`` (what the process and the
    whole-queue limits allow), within each partition's limits, partitions round robin. The
    loads are read in their own statement, after the queue lock (see `lock_queue`)."""
    loads = [
        PartitionLoad(*row)
        for row in connection.execute(queries["partition_loads"], params, prepare=True)
    ]
    quotas = partition_quotas(request.queue, params["limit"], loads)
    if not quotas:
        return []
    params["partition_keys"] = list(quotas)
    params["partition_counts"] = list(quotas.values())
    rows = connection.cursor(row_factory=workflow_rows)
    return rows.execute(queries["claim_partitions"], params, prepare=True).fetchall()
