"""Durable queues end to end, on every backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSException,
    DBOSQueueDeduplicatedError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    SystemStorage,
    WorkflowHandle,
    hookimpl,
)
from dbos.plugins._hooks import plugin_manager

Launch = Callable[..., None]


def test_seed_queue_example(launch: Launch) -> None:
    queue = Queue("example_queue")

    @DBOS.step()
    def process_task(task: int) -> int:
        return task * 10

    @DBOS.workflow()
    def process_tasks(tasks: list[int]) -> list[int]:
        handles = [queue.enqueue(process_task, t) for t in tasks]
        return [h.get_result() for h in handles]

    launch()
    assert process_tasks([1, 2, 3]) == [10, 20, 30]


def test_enqueue_inside_a_workflow_is_checkpointed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("checkpointed")

    @DBOS.workflow()
    def child(x: int) -> int:
        return x + 1

    @DBOS.workflow()
    def parent() -> int:
        return queue.enqueue(child, 1).get_result()

    launch()
    with SetWorkflowID("parent"):
        assert parent() == 2
    steps = dbos_storage.load_steps("parent")
    # The enqueue, then the wait for the child's result (DBOS.getResult, as in DBOS).
    assert [(s.function_id, s.child_workflow_id) for s in steps] == [
        (1, "parent-1"),
        (2, "parent-1"),
    ]
    status = DBOS.get_workflow_status("parent-1")
    assert status is not None and (status.queue_name, status.status) == ("checkpointed", "SUCCESS")
    # Replaying the parent finds the recorded enqueue: no second task.
    with SetWorkflowID("parent"):
        assert parent() == 2
    assert len(DBOS.list_workflows(queue_name="checkpointed")) == 1


def _track_concurrency() -> tuple[Callable[[float], None], Callable[[], int]]:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def work(seconds: float) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(seconds)
        with lock:
            state["now"] -= 1

    return work, lambda: state["max"]


def test_concurrency_limits_hold(launch: Launch) -> None:
    global_queue = Queue("limited", concurrency=2, polling_interval_sec=0.05)
    worker_queue = Queue("per-worker", worker_concurrency=3, polling_interval_sec=0.05)
    work, most = _track_concurrency()

    @DBOS.workflow()
    def busy(seconds: float) -> None:
        work(seconds)

    launch()
    handles = [global_queue.enqueue(busy, 0.05) for _ in range(8)]
    for handle in handles:
        handle.get_result()
    assert most() == 2
    work2, most2 = _track_concurrency()

    @DBOS.workflow()
    def busy2(seconds: float) -> None:
        work2(seconds)

    handles = [worker_queue.enqueue(busy2, 0.05) for _ in range(9)]
    for handle in handles:
        handle.get_result()
    assert most2() == 3


def test_rate_limit_spaces_out_starts(launch: Launch) -> None:
    queue = Queue("rated", limiter={"limit": 2, "period": 0.5}, polling_interval_sec=0.02)
    starts: list[float] = []

    @DBOS.workflow()
    def stamp() -> None:
        starts.append(time.monotonic())

    launch()
    handles = [queue.enqueue(stamp) for _ in range(6)]
    for handle in handles:
        handle.get_result()
    assert len(starts) == 6
    # Any 3 consecutive dequeues span more than one period. The dequeue times (the claims'
    # clock, which the limiter counts), not the bodies' start times: on a loaded machine a
    # body may begin tens of milliseconds after its claim.
    dequeued = sorted(h.get_status().dequeued_at or 0 for h in handles)
    assert all(dequeued[i + 2] - dequeued[i] > 500 for i in range(len(dequeued) - 2)), dequeued


def test_priority_orders_tasks(launch: Launch) -> None:
    queue = Queue("prioritized", concurrency=1, priority_enabled=True, polling_interval_sec=0.02)
    gate = threading.Event()
    order: list[str] = []

    @DBOS.workflow()
    def blocker() -> None:
        gate.wait(10)

    @DBOS.workflow()
    def record(name: str) -> None:
        order.append(name)

    launch()
    first = queue.enqueue(blocker)
    handles = []
    for name, priority in (("low", 9), ("high", 1), ("middle", 5)):
        with SetEnqueueOptions(priority=priority):
            handles.append(queue.enqueue(record, name))
    gate.set()
    first.get_result()
    for handle in handles:
        handle.get_result()
    assert order == ["high", "middle", "low"]


def test_priority_needs_an_enabled_queue(launch: Launch) -> None:
    queue = Queue("plain-order")

    @DBOS.workflow()
    def noop() -> None:
        pass

    launch()
    with SetEnqueueOptions(priority=1), pytest.raises(DBOSException, match="priority_enabled"):
        queue.enqueue(noop)


def test_delay_and_deduplication(launch: Launch) -> None:
    queue = Queue("delayed", polling_interval_sec=0.02)
    gate = threading.Event()

    @DBOS.workflow()
    def waits() -> float:
        gate.wait(10)
        return time.monotonic()

    launch()
    before = time.monotonic()
    with SetEnqueueOptions(delay_seconds=0.5):
        delayed = queue.enqueue(waits)
    assert delayed.get_status().status == "ENQUEUED"
    gate.set()
    assert delayed.get_result() - before >= 0.5

    gate.clear()
    with SetEnqueueOptions(deduplication_id="job-1"):
        first = queue.enqueue(waits)
    with (
        SetEnqueueOptions(deduplication_id="job-1"),
        pytest.raises(DBOSQueueDeduplicatedError, match="job-1"),
    ):
        queue.enqueue(waits)
    gate.set()
    first.get_result()
    with SetEnqueueOptions(deduplication_id="job-1"):  # finished: the ID is free again
        queue.enqueue(waits).get_result()


def test_a_cancelled_task_keeps_its_queue_and_frees_its_deduplication_id(
    launch: Launch,
) -> None:
    """Ours (docs/compatibility.md): a cancelled task stays findable by its queue (DBOS
    Transact 3.4 clears queue_name on cancel); as in 3.4, its deduplication ID is free at
    once for a new task."""
    queue = Queue("cancelled_tasks", concurrency=1, polling_interval_sec=0.02)
    gate = threading.Event()

    @DBOS.workflow()
    def held(tag: str) -> str:
        gate.wait(10)
        return tag

    launch()
    running = queue.enqueue(held, "running")  # takes the one slot: the next stays ENQUEUED
    with SetEnqueueOptions(deduplication_id="job-9"):
        waiting = queue.enqueue(held, "waiting")
    assert waiting.get_status().status == "ENQUEUED"
    DBOS.cancel_workflow(waiting.workflow_id)
    status = waiting.get_status()
    assert (status.status, status.queue_name) == ("CANCELLED", "cancelled_tasks")
    listed = DBOS.list_workflows(queue_name="cancelled_tasks", status="CANCELLED")
    assert [w.workflow_id for w in listed] == [waiting.workflow_id]
    with SetEnqueueOptions(deduplication_id="job-9"):
        again = queue.enqueue(held, "again")
    gate.set()
    assert (running.get_result(), again.get_result()) == ("running", "again")


def test_list_queued_workflows(launch: Launch) -> None:
    queue = Queue("listed", concurrency=1, polling_interval_sec=0.02)
    gate = threading.Event()

    @DBOS.workflow()
    def held(tag: str) -> str:
        gate.wait(10)
        return tag

    launch()
    handles = [queue.enqueue(held, tag) for tag in ("a", "b", "c")]
    deadline = time.monotonic() + 10
    while not DBOS.list_queued_workflows(queue_name="listed", status="PENDING"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queued = DBOS.list_queued_workflows(queue_name="listed")
    assert sorted(w.status for w in queued) == ["ENQUEUED", "ENQUEUED", "PENDING"]
    assert len(DBOS.list_queued_workflows(queue_name="listed", status="ENQUEUED")) == 2
    gate.set()
    assert [h.get_result() for h in handles] == ["a", "b", "c"]
    assert DBOS.list_queued_workflows(queue_name="listed") == []


def test_async_enqueue(launch: Launch) -> None:
    import asyncio

    queue = Queue("async-queue", polling_interval_sec=0.02)

    @DBOS.step()
    async def double(x: int) -> int:
        return x * 2

    launch()

    async def main() -> list[int]:
        handles = [await queue.enqueue_async(double, x) for x in range(4)]
        return [await handle.get_result() for handle in handles]

    assert asyncio.run(main()) == [0, 2, 4, 6]
    assert DBOS.retrieve_queue("async-queue") is queue


def test_partitioned_queue_limits_apply_per_partition(launch: Launch) -> None:
    queue = Queue("tenants", concurrency=1, partition_queue=True, polling_interval_sec=0.02)
    lock = threading.Lock()
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    most_overall = [0]

    @DBOS.workflow()
    def tenant_job(tenant: str) -> None:
        with lock:
            running[tenant] = running.get(tenant, 0) + 1
            most[tenant] = max(most.get(tenant, 0), running[tenant])
            most_overall[0] = max(most_overall[0], sum(running.values()))
        time.sleep(0.03)
        with lock:
            running[tenant] -= 1

    launch()
    handles = []
    for index in range(12):
        tenant = "abc"[index % 3]
        with SetEnqueueOptions(queue_partition_key=tenant):
            handles.append(queue.enqueue(tenant_job, tenant))
    for handle in handles:
        handle.get_result()
    assert most == {"a": 1, "b": 1, "c": 1}
    assert most_overall[0] >= 2  # partitions do not wait for each other


def test_partitioned_queue_may_run_more_per_process_than_per_partition(launch: Launch) -> None:
    # `concurrency` bounds each partition, `worker_concurrency` the process: 1 and 3 together
    # mean three tenants side by side, one job each (docs/guides/queues.md's example).
    queue = Queue(
        "wide-tenants",
        concurrency=1,
        partition_queue=True,
        worker_concurrency=3,
        polling_interval_sec=0.02,
    )
    lock = threading.Lock()
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    most_overall = [0]
    all_three_running = threading.Barrier(3, timeout=30)

    @DBOS.workflow()
    def tenant_job(tenant: str) -> None:
        with lock:
            running[tenant] = running.get(tenant, 0) + 1
            most[tenant] = max(most.get(tenant, 0), running[tenant])
            most_overall[0] = max(most_overall[0], sum(running.values()))
        all_three_running.wait()  # passes only when a, b and c run at once
        with lock:
            running[tenant] -= 1

    launch()
    handles = []
    for tenant in ("a", "a", "b", "b", "c", "c"):
        with SetEnqueueOptions(queue_partition_key=tenant):
            handles.append(queue.enqueue(tenant_job, tenant))
    for handle in handles:
        handle.get_result()
    assert most == {"a": 1, "b": 1, "c": 1}
    assert most_overall[0] == 3


def test_worker_concurrency_above_concurrency_is_refused_only_when_not_partitioned() -> None:
    Queue("per-partition-limit", concurrency=1, partition_queue=True, worker_concurrency=8)
    with pytest.raises(DBOSConfigError, match="cannot exceed"):
        Queue("whole-queue-limit", concurrency=1, worker_concurrency=8)


def test_a_busy_partition_does_not_starve_the_others(launch: Launch) -> None:
    queue = Queue("fair", worker_concurrency=1, partition_queue=True, polling_interval_sec=0.02)
    gate = threading.Event()
    order: list[str] = []

    @DBOS.workflow()
    def job(name: str) -> None:
        gate.wait(10)
        order.append(name)

    launch()
    handles: list[WorkflowHandle[None]] = []
    with SetEnqueueOptions(queue_partition_key="busy"):
        handles.extend(queue.enqueue(job, f"busy-{index}") for index in range(10))
    for key in ("quiet-1", "quiet-2"):
        with SetEnqueueOptions(queue_partition_key=key):
            handles.append(queue.enqueue(job, key))
    gate.set()
    for handle in handles:
        handle.get_result()
    # The busy key's older backlog is served in turn with the others, not first.
    assert {"quiet-1", "quiet-2"} <= set(order[:3])
    assert [name for name in order if name.startswith("busy")] == [
        f"busy-{index}" for index in range(10)
    ]


def test_partition_keys_are_checked(launch: Launch) -> None:
    partitioned = Queue("needs-keys", partition_queue=True)
    plain = Queue("no-keys")

    @DBOS.workflow()
    def noop() -> None:
        pass

    launch()
    with pytest.raises(DBOSException, match="is partitioned"):
        partitioned.enqueue(noop)
    with (
        SetEnqueueOptions(queue_partition_key="k"),
        pytest.raises(DBOSException, match="partition_queue=True"),
    ):
        plain.enqueue(noop)
    with pytest.raises(DBOSException, match="queue_partition_key must be"):
        SetEnqueueOptions(queue_partition_key="")
    assert DBOS.list_workflows() == []  # nothing was stored


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"concurrency": 0}, "concurrency must be a positive integer"),
        ({"limiter": {"limit": 1}}, "limiter must be"),
        ({"limiter": {"limit": 1, "period": 0}}, "period"),
        ({"concurrency": 1, "worker_concurrency": 2}, "cannot exceed"),
        ({"polling_interval_sec": -1}, "polling_interval_sec"),
    ],
)
def test_bad_queue_settings_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DBOSConfigError, match=message):
        Queue("bad-settings", **kwargs)  # type: ignore[arg-type]


def test_redeclaring_a_queue_differently_is_refused() -> None:
    Queue("declared-once", concurrency=1)
    Queue("declared-once", concurrency=1)  # the same declaration again (a re-import) is fine
    with pytest.raises(DBOSConfigError) as caught:
        Queue("declared-once", concurrency=2)
    # The message names the setting that differs and both values, nothing internal.
    assert str(caught.value).startswith(
        "queue 'declared-once' is already declared with concurrency=1; this declaration says "
        "concurrency=2 ("
    )
    assert "StoredQueue" not in str(caught.value) and "created_at_ms" not in str(caught.value)
    Queue("declared-twice", limiter={"limit": 5, "period": 60})
    with pytest.raises(DBOSConfigError) as caught:
        Queue("declared-twice", limiter={"limit": 5, "period": 30}, priority_enabled=True)
    assert (
        "already declared with limiter={'limit': 5, 'period': 60.0}, priority_enabled=False; "
        "this declaration says limiter={'limit': 5, 'period': 30.0}, priority_enabled=True"
    ) in str(caught.value)


def test_a_task_claimed_the_moment_it_is_enqueued_still_runs(launch: Launch) -> None:
    # A worker may claim a task right after its insert commits, before enqueue() returns
    # (a finishing sibling's successor claim does so within microseconds). The enqueuer must
    # not hold the task as "starting" meanwhile, or the claim finds it busy and drops it:
    # claimed but never run. A plugin widens that moment to 200 ms.
    queue = Queue("claimed-at-once", polling_interval_sec=0.05)

    class SlowEnqueueReply:
        @hookimpl
        def dbos_storage_call_done(self, operation: str, attempt: int) -> None:
            if operation == "create_workflow":
                time.sleep(0.2)

    @DBOS.workflow()
    def quick(task: int) -> int:
        return task

    launch()
    slow = SlowEnqueueReply()
    plugin_manager().register(slow)
    try:
        handle = queue.enqueue(quick, 7)
        done: list[int] = []
        waiter = threading.Thread(target=lambda: done.append(handle.get_result()), daemon=True)
        waiter.start()
        waiter.join(10)
    finally:
        plugin_manager().unregister(slow)
    assert done == [7]
