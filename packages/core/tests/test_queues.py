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
)

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
    assert [(s.function_id, s.child_workflow_id) for s in steps] == [(0, "parent-0")]
    status = DBOS.get_workflow_status("parent-0")
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
    starts.sort()
    # Any 3 consecutive starts span at least one period.
    assert all(starts[i + 2] - starts[i] >= 0.45 for i in range(len(starts) - 2))


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
    with pytest.raises(DBOSConfigError, match="already declared"):
        Queue("declared-once", concurrency=2)
