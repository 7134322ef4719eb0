"""`DBOSClient.fork_workflow` (+ async) with DBOS Transact 3.4's keywords, against a running
app on every backend: the fork's queue and partition key (checked against the stored queue,
which the client's process does not declare), its timeout, replacement children and the
refused `shard_key`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import DBOS, DBOSException, SetWorkflowID
from dbos_client import DBOSClient

Launch = Callable[..., None]


def test_client_fork_with_queue_partition_timeout_and_children(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.step()
    def triple(x: int) -> int:
        return x * 3

    @DBOS.workflow()
    def child(x: int) -> int:
        return triple(x)

    @DBOS.workflow()
    def parent(x: int) -> int:
        return DBOS.start_workflow(child, x).get_result() + 1

    launch()
    with SetWorkflowID("parent"):
        assert parent(2) == 7
    with DBOSClient(dbos_system_database_url) as client:
        # Stored by the client only: this process declares neither queue.
        client.register_queue("stored-parts", partition_concurrency=2)
        client.register_queue("stored-plain")
        old_child = client.list_workflow_steps("parent")[0]["child_workflow_id"]
        assert old_child is not None
        new_child = client.fork_workflow(old_child, 1, forked_workflow_id="child-2")
        # Finished first, as the management guide shows (the race of a replayed child start
        # with this process's claim of the child is covered by test_replayed_child_claim.py).
        assert new_child.get_result(timeout_seconds=30) == 6
        fork = client.fork_workflow(
            "parent",
            2,
            queue_name="stored-parts",
            queue_partition_key="p-1",
            timeout_seconds=120,
            replacement_children={old_child: "child-2"},
        )
        assert fork.get_result(timeout_seconds=30) == 7
        status = client.get_workflow_status(fork.workflow_id)
        assert status is not None
        assert (status.queue_name, status.queue_partition_key) == ("stored-parts", "p-1")
        assert status.workflow_timeout_ms == 120_000
        assert status.workflow_deadline_epoch_ms == status.created_at + 120_000
        steps = client.list_workflow_steps(fork.workflow_id)
        assert steps[0]["child_workflow_id"] == "child-2"

        with pytest.raises(DBOSException, match=r"queue 'stored-parts' is partitioned"):
            client.fork_workflow("parent", 1, queue_name="stored-parts")
        with pytest.raises(DBOSException, match=r"'stored-plain' was not declared with partition"):
            client.fork_workflow("parent", 1, queue_name="stored-plain", queue_partition_key="x")
        with pytest.raises(DBOSException, match=r"shard_key is not supported"):
            client.fork_workflow("parent", 1, shard_key="s")
        with pytest.raises(DBOSException, match=r"fork timeout_seconds must be a number"):
            client.fork_workflow("parent", 1, timeout_seconds=0)

        async def fork_async() -> tuple[int, str | None, int | None]:
            handle = await client.fork_workflow_async(
                "parent", 1, queue_name="stored-plain", timeout_seconds=60
            )
            result = await handle.get_result(timeout_seconds=30)
            row = await client.get_workflow_status_async(handle.workflow_id)
            assert row is not None
            return result, row.queue_name, row.workflow_timeout_ms

        assert asyncio.run(fork_async()) == (7, "stored-plain", 60_000)
