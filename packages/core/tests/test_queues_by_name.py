"""Queues by name (DBOS Transact 3.4's calls): `DBOS.enqueue_workflow`,
`DBOS.enqueue_workflow_with_options`, `DBOS.register_queue(_async)` and
`DBOS.retrieve_queue(_async)`, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSException,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowIDInUseError,
    EnqueueOptions,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    SetWorkflowTimeout,
    SystemStorage,
)

Launch = Callable[..., None]

module_queue = Queue("module-level-queue")


@DBOS.workflow()
def add(x: int, y: int) -> int:
    return x + y


@DBOS.workflow(name="renamed-mul")
async def mul(x: int, y: int) -> int:
    return x * y


def test_module_level_queues_are_found_by_name_and_unknown_names_are_none(launch: Launch) -> None:
    launch()  # stores the queues declared in this process
    assert DBOS.retrieve_queue("module-level-queue") is module_queue
    assert DBOS.retrieve_queue("no-such-queue") is None
    assert asyncio.run(DBOS.retrieve_queue_async("module-level-queue")) is module_queue
    assert asyncio.run(DBOS.retrieve_queue_async("no-such-queue")) is None


def test_register_queue_and_its_async_form_declare_queues(launch: Launch) -> None:
    sync_queue = DBOS.register_queue("registered", global_concurrency=2, worker_concurrency=1)
    assert (sync_queue.concurrency, sync_queue.worker_concurrency) == (2, 1)
    launch()
    assert DBOS.retrieve_queue("registered") is sync_queue
    async_queue = asyncio.run(
        DBOS.register_queue_async("registered-async", limiter={"limit": 5, "period": 1.0})
    )
    assert isinstance(async_queue, Queue) and async_queue.limiter == {"limit": 5, "period": 1.0}
    assert DBOS.retrieve_queue("registered-async") is async_queue
    with pytest.raises(DBOSConfigError, match="not both"):
        DBOS.register_queue("both", 1, global_concurrency=1)
    differs = (
        "with concurrency=2, worker_concurrency=1; "
        "this declaration says concurrency=3, worker_concurrency=None"
    )
    with pytest.raises(DBOSConfigError, match=differs):
        DBOS.register_queue("registered", global_concurrency=3)


def test_enqueue_workflow_by_queue_name(launch: Launch, dbos_storage: SystemStorage) -> None:
    DBOS.register_queue("by-name")
    launch()
    handle = DBOS.enqueue_workflow("by-name", add, 2, 3)
    assert handle.get_result() == 5
    row = dbos_storage.get_workflow(handle.workflow_id)
    assert row is not None and row.queue_name == "by-name"

    async def run() -> int:
        async_handle = await DBOS.enqueue_workflow_async("by-name", mul, 4, 5)
        return await async_handle.get_result()

    assert asyncio.run(run()) == 20


def test_enqueue_workflow_checks_the_declared_queue_and_the_name(launch: Launch) -> None:
    DBOS.register_queue("plain-queue")
    launch()
    with SetEnqueueOptions(priority=1), pytest.raises(DBOSException, match="priority_enabled"):
        DBOS.enqueue_workflow("plain-queue", add, 1, 1)
    for bad in ("", "dbos.internal"):
        with pytest.raises(DBOSException, match=r"queue name|reserved"):
            DBOS.enqueue_workflow(bad, add, 1, 1)


def test_a_queue_not_declared_here_waits_for_a_process_that_declares_it(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    launch()
    handle = DBOS.enqueue_workflow("declared-elsewhere", add, 1, 2)
    row = dbos_storage.get_workflow(handle.workflow_id)
    assert row is not None and (row.status, row.queue_name) == ("ENQUEUED", "declared-elsewhere")


def test_enqueue_with_options_runs_a_workflow_by_name(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    DBOS.register_queue("options-queue")
    launch()
    options: EnqueueOptions = {
        "workflow_name": add.__qualname__,
        "queue_name": "options-queue",
        "workflow_id": "by-options",
    }
    handle = DBOS.enqueue_workflow_with_options(options, 20, y=22)
    assert handle.workflow_id == "by-options"
    assert handle.get_result() == 42

    async def run() -> int:
        async_handle = await DBOS.enqueue_workflow_with_options_async(
            {"workflow_name": "renamed-mul", "queue_name": "options-queue"}, 6, 7
        )
        result: int = await async_handle.get_result()
        return result

    assert asyncio.run(run()) == 42


def test_enqueue_with_options_leaves_the_version_unset_and_takes_ambient_options(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    launch()
    # A queue no process here declares: the rows stay ENQUEUED for inspection.
    options: EnqueueOptions = {"workflow_name": "remote-wf", "queue_name": "remote-queue"}
    with (
        SetWorkflowID("ambient-id"),
        SetEnqueueOptions(deduplication_id="dedup-1", priority=3),
        SetWorkflowTimeout(60),
    ):
        DBOS.enqueue_workflow_with_options(options, 1)
    row = dbos_storage.get_workflow("ambient-id")
    assert row is not None
    assert row.application_version is None  # any version's process may run it
    assert (row.deduplication_id, row.priority) == ("dedup-1", 3)
    assert row.deadline_ms is not None

    # The options win over the ambient settings.
    with SetWorkflowID("ambient-loses"), SetEnqueueOptions(priority=3):
        DBOS.enqueue_workflow_with_options(
            {**options, "workflow_id": "options-win", "priority": 7, "app_version": "v9"}, 2
        )
    assert dbos_storage.get_workflow("ambient-loses") is None
    won = dbos_storage.get_workflow("options-win")
    assert won is not None and (won.priority, won.application_version) == (7, "v9")

    with SetEnqueueOptions(deduplication_id="dedup-1"), pytest.raises(DBOSQueueDeduplicatedError):
        DBOS.enqueue_workflow_with_options(options, 3)


def test_enqueue_with_options_in_a_workflow_is_a_recorded_child(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    DBOS.register_queue("child-queue")

    @DBOS.workflow()
    def parent() -> int:
        handle = DBOS.enqueue_workflow_with_options(
            {"workflow_name": add.__qualname__, "queue_name": "child-queue"}, 1, 2
        )
        result: int = handle.get_result()
        return result

    launch()
    with SetWorkflowID("options-parent"):
        assert parent() == 3
    step = dbos_storage.load_steps("options-parent")[0]
    assert (step.function_id, step.function_name, step.child_workflow_id) == (
        1,
        add.__qualname__,
        "options-parent-1",
    )
    child = dbos_storage.get_workflow("options-parent-1")
    assert child is not None and child.parent_workflow_id == "options-parent"
    # A replay (a fork from after the enqueue) returns the recorded child; nothing new runs.
    before = len(DBOS.list_workflows())
    assert DBOS.fork_workflow("options-parent", 2).get_result() == 3
    assert len(DBOS.list_workflows()) == before + 1  # only the fork itself


def test_enqueue_with_options_applies_the_id_reuse_and_duplication_policies(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    launch()
    options: EnqueueOptions = {"workflow_name": "remote-wf", "queue_name": "remote-queue"}
    DBOS.enqueue_workflow_with_options({**options, "workflow_id": "taken"}, 1)
    # Default: an enqueue finding its ID taken returns the existing workflow.
    again = DBOS.enqueue_workflow_with_options({**options, "workflow_id": "taken"}, 2)
    assert again.workflow_id == "taken"
    with pytest.raises(DBOSWorkflowIDInUseError):
        DBOS.enqueue_workflow_with_options(
            {**options, "workflow_id": "taken", "workflow_id_reuse_policy": "reject"}, 3
        )
    with (
        SetWorkflowID("taken", workflow_id_reuse_policy="reject"),
        pytest.raises(DBOSWorkflowIDInUseError),
    ):
        DBOS.enqueue_workflow_with_options(options, 4)

    # A deduplicated enqueue raises by default, or returns the task holding the ID.
    holder = DBOS.enqueue_workflow_with_options({**options, "deduplication_id": "d"}, 5)
    with pytest.raises(DBOSQueueDeduplicatedError):
        DBOS.enqueue_workflow_with_options({**options, "deduplication_id": "d"}, 6)
    returned = DBOS.enqueue_workflow_with_options(
        {**options, "deduplication_id": "d", "duplication_policy": "return-existing"}, 7
    )
    assert returned.workflow_id == holder.workflow_id
    with SetEnqueueOptions(deduplication_id="d", duplication_policy="return-existing"):
        assert DBOS.enqueue_workflow_with_options(options, 8).workflow_id == holder.workflow_id
    assert len(DBOS.list_workflows(queue_name="remote-queue")) == 2  # "taken" and the holder
    with pytest.raises(DBOSException, match="unknown duplication_policy"):
        DBOS.enqueue_workflow_with_options(
            {**options, "duplication_policy": "sometimes"}  # type: ignore[typeddict-item]
        )


def test_enqueue_with_options_refuses_bad_options(launch: Launch) -> None:
    launch()
    with pytest.raises(DBOSException, match="must be a dict"):
        DBOS.enqueue_workflow_with_options("add")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="workflow_name"):
        DBOS.enqueue_workflow_with_options({"queue_name": "q"})  # type: ignore[typeddict-item]
    with pytest.raises(DBOSException, match="reserved"):
        DBOS.enqueue_workflow_with_options({"workflow_name": "w", "queue_name": "dbos.internal"})
    with pytest.raises(DBOSException, match="unknown enqueue option"):
        DBOS.enqueue_workflow_with_options(
            {"workflow_name": "w", "queue_name": "q", "colour": "red"}  # type: ignore[typeddict-unknown-key]
        )
