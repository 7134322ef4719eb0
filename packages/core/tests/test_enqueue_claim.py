"""Enqueue-and-claim (issue 17, item 2): a task enqueued in a process that has a free slot
on a queue without global limits is stored already claimed by that process and runs there,
with no claim of the queue worker; where the queue needs a global decision, the worker
claims it as before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dbos import DBOS, DBOSConnectionError, Queue, SetEnqueueOptions, hookimpl
from dbos.plugins import plugin_manager

Launch = Callable[..., None]


class NoClaims:
    """Fails every claim of the queue worker as if the database were unreachable."""

    @hookimpl
    def dbos_storage_call(self, operation: str, attempt: int) -> None:
        if operation == "claim_queued":
            raise DBOSConnectionError("claims are down for this test")


@pytest.fixture
def no_claims() -> Iterator[None]:
    plugin = NoClaims()
    plugin_manager().register(plugin)
    try:
        yield
    finally:
        plugin_manager().unregister(plugin)


def test_a_task_enqueued_with_a_free_local_slot_runs_without_a_claim(
    launch: Launch, no_claims: None
) -> None:
    queue = Queue("claimed-on-insert", worker_concurrency=2)
    release = threading.Event()

    @DBOS.workflow()
    def held(x: int) -> int:
        release.wait(30)
        return x * 2

    launch()
    first, second = queue.enqueue(held, 1), queue.enqueue(held, 2)
    for handle in (first, second):
        # Stored running here at once: PENDING, this process's, started when created.
        status = handle.get_status()
        assert (status.status, status.executor_id) == ("PENDING", "local")
        assert status.dequeued_at == status.created_at
    third = queue.enqueue(held, 3)  # both slots taken: it waits for a claim
    assert third.get_status().status == "ENQUEUED"
    release.set()
    assert (first.get_result(), second.get_result()) == (2, 4)
    # The finishing tasks hand their slots on (finish_and_claim), not the worker's claim.
    assert third.get_result(timeout_seconds=30) == 6


@pytest.mark.parametrize(
    "settings",
    [{"concurrency": 1}, {"limiter": {"limit": 5, "period": 1.0}}, {"priority_enabled": True}],
    ids=["global-concurrency", "rate-limit", "priority"],
)
def test_queues_that_need_a_global_decision_leave_the_claim_to_the_worker(
    launch: Launch, no_claims: None, settings: dict[str, object]
) -> None:
    queue = Queue(f"worker-decides-{next(iter(settings))}", **settings)  # type: ignore[arg-type]

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    launch()
    handle = queue.enqueue(task, 1)
    time.sleep(0.5)  # the worker tries (and fails) to claim it meanwhile
    assert handle.get_status().status == "ENQUEUED"


def test_delayed_and_foreign_version_tasks_wait_for_a_claim(
    launch: Launch, no_claims: None
) -> None:
    queue = Queue("not-claimed-on-insert")

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    launch()
    with SetEnqueueOptions(delay_seconds=0.1):
        delayed = queue.enqueue(task, 1)
    with SetEnqueueOptions(app_version="another-version"):
        foreign = queue.enqueue(task, 2)
    time.sleep(0.5)
    assert delayed.get_status().status == "ENQUEUED"
    assert foreign.get_status().status == "ENQUEUED"


def test_a_child_claimed_on_insert_replays_as_a_child(launch: Launch) -> None:
    queue = Queue("children-claimed-on-insert")
    runs: list[int] = []

    @DBOS.workflow()
    def child(x: int) -> int:
        runs.append(x)
        return x + 1

    @DBOS.workflow()
    def parent() -> list[int]:
        handles = [queue.enqueue(child, i) for i in range(3)]
        return [h.get_result() for h in handles]

    launch()
    handle = DBOS.start_workflow(parent)
    assert handle.get_result(timeout_seconds=30) == [1, 2, 3]
    assert sorted(runs) == [0, 1, 2]
    steps = DBOS.list_workflow_steps(handle.workflow_id)
    children = [s["child_workflow_id"] for s in steps if s["child_workflow_id"]]
    assert children[:3] == [f"{handle.workflow_id}-{n}" for n in (1, 2, 3)]
