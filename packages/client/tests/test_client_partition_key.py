"""`queue_partition_key` in enqueue options (DBOS Transact 3.4's `EnqueueOptions`): a client,
or `DBOS.enqueue_workflow_with_options`, puts a task in a partition of a partitioned queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dbos import DBOS, DBOSException, Queue
from dbos_client import DBOSClient

Launch = Callable[..., None]


def test_enqueue_options_place_a_task_in_a_partition(
    launch: Launch, dbos_system_database_url: str
) -> None:
    Queue("partition-key-tenants", partition_queue=True, concurrency=1)

    @DBOS.workflow(name="tenant_job")
    def tenant_job(x: int) -> int:
        return x * 3

    launch()
    client = DBOSClient(system_database_url=dbos_system_database_url)
    try:
        handle = client.enqueue(
            {
                "workflow_name": "tenant_job",
                "queue_name": "partition-key-tenants",
                "queue_partition_key": "a",
            },
            2,
        )
        assert handle.get_result(timeout_seconds=30) == 6
        status = client.get_workflow_status(handle.workflow_id)
        assert status is not None and status.queue_partition_key == "a"
        with pytest.raises(DBOSException, match="queue_partition_key"):
            client.enqueue(
                {
                    "workflow_name": "tenant_job",
                    "queue_name": "partition-key-tenants",
                    "queue_partition_key": "",
                }
            )
    finally:
        client.destroy()
    own = DBOS.enqueue_workflow_with_options(
        {
            "workflow_name": "tenant_job",
            "queue_name": "partition-key-tenants",
            "queue_partition_key": "b",
        },
        5,
    )
    assert own.get_result(timeout_seconds=30) == 15
    assert own.get_status().queue_partition_key == "b"
    # In this process the queue is declared partitioned: a task without a key is refused.
    with pytest.raises(DBOSException, match="is partitioned"):
        DBOS.enqueue_workflow_with_options(
            {"workflow_name": "tenant_job", "queue_name": "partition-key-tenants"}
        )
