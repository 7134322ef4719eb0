"""Conformance suite for the queue operations of the storage protocol.

Run it from a test module with ``from dbos_testing.conformance.queues import *``.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from dbos import DBOSNonExistentWorkflowError, DBOSQueueDeduplicatedError, SystemStorage
from dbos.storage import (
    ClaimRequest,
    NewWorkflow,
    QueueSpec,
    StepRecord,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowStatusString,
)

ENQUEUED = WorkflowStatusString.ENQUEUED.value
PENDING = WorkflowStatusString.PENDING.value

__all__ = [
    "test_enqueued_rows_wait_for_a_claim",
    "test_claim_takes_priority_then_age_and_marks_rows",
    "test_claim_skips_delayed_foreign_version_and_unknown_names",
    "test_claim_respects_global_concurrency",
    "test_claim_respects_the_rate_limit",
    "test_concurrent_claimers_never_exceed_global_concurrency",
    "test_concurrent_claimers_of_an_unlimited_queue_take_each_task_once",
    "test_deduplication_while_queued_or_running_only",
    "test_list_queued_only",
    "test_cancel_queued_and_running_but_not_finished",
    "test_resume_runs_cancelled_work_again_once",
    "test_resume_starts_an_enqueued_task_now",
    "test_cancel_expired_cancels_only_overdue_unfinished_work",
    "test_tasks_of_one_millisecond_start_in_enqueue_order",
    "test_finish_and_claim_hands_the_slot_to_the_next_task",
    "test_finish_and_claim_counts_the_freed_slot_of_a_limited_queue",
    "test_finish_and_claim_of_a_missing_workflow_claims_nothing",
    "test_concurrent_finish_and_claims_take_each_task_once",
    "test_partitioned_concurrency_applies_per_partition",
    "test_partitioned_rate_limit_applies_per_partition",
    "test_partitions_are_served_round_robin",
    "test_concurrent_claimers_never_exceed_a_partition_limit",
    "test_claims_say_whether_a_task_ran_before",
    "test_whole_queue_concurrency_bounds_a_partitioned_queue",
    "test_whole_queue_rate_limit_bounds_a_partitioned_queue",
    "test_partition_worker_concurrency_bounds_each_process",
    "test_concurrent_claimers_never_exceed_whole_and_partition_limits",
]


def task(workflow_id: str, queue: str = "q", **overrides: object) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name="module.task",
        inputs='{"args":[],"kwargs":{}}',
        executor_id=None,
        application_version="v1",
        created_at_ms=1_000,
        status=ENQUEUED,
        queue_name=queue,
    )
    return replace(workflow, **overrides)  # type: ignore[arg-type]


def claim(
    storage: SystemStorage,
    queue: QueueSpec,
    capacity: int = 100,
    *,
    now_ms: int = 10_000,
    executor: str = "worker-1",
    names: tuple[str, ...] = ("module.task",),
    instance: str | None = None,
) -> list[str]:
    request = ClaimRequest(queue, executor, "v1", capacity, names, now_ms, instance)
    return [row.workflow_id for row in storage.claim_queued(request)]


def claim_concurrently(
    storage: SystemStorage, spec: QueueSpec, claimers: int, rounds: int = 5
) -> list[str]:
    """`claimers` threads (executors w0, w1, ...) released together, each claiming up to 3
    tasks `rounds` times; every ID claimed, in no particular order."""
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(claimers)

    def claimer(index: int) -> None:
        barrier.wait()
        for _ in range(rounds):
            ids = claim(storage, spec, capacity=3, executor=f"w{index}")
            with lock:
                claimed.extend(ids)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claimed


def test_enqueued_rows_wait_for_a_claim(dbos_storage: SystemStorage) -> None:
    init = dbos_storage.create_workflow(task("t1"))
    assert (init.row.status, init.row.executor_id, init.row.queue_name) == (ENQUEUED, None, "q")
    # Recovery of an executor never touches queued rows.
    assert dbos_storage.recover_pending("worker-1", "v1") == []


def test_claim_takes_priority_then_age_and_marks_rows(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("old-low", created_at_ms=1, priority=5))
    dbos_storage.create_workflow(task("new-high", created_at_ms=3, priority=1))
    dbos_storage.create_workflow(task("old-high", created_at_ms=2, priority=1))
    dbos_storage.create_workflow(task("other-queue", queue="other"))
    spec = QueueSpec("q", priority_enabled=True)
    assert claim(dbos_storage, spec, capacity=2) == ["old-high", "new-high"]
    row = dbos_storage.get_workflow("old-high")
    assert row is not None
    assert (row.status, row.executor_id, row.application_version, row.started_at_ms) == (
        PENDING,
        "worker-1",
        "v1",
        10_000,
    )
    assert claim(dbos_storage, spec) == ["old-low"]
    assert claim(dbos_storage, spec) == []


def test_claim_skips_delayed_foreign_version_and_unknown_names(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(task("delayed", delay_until_ms=20_000))
    dbos_storage.create_workflow(task("other-version", application_version="v2"))
    dbos_storage.create_workflow(task("unknown", name="module.other"))
    dbos_storage.create_workflow(task("ready"))
    spec = QueueSpec("q")
    assert claim(dbos_storage, spec) == ["ready"]
    assert claim(dbos_storage, spec, now_ms=20_000) == ["delayed"]
    assert claim(dbos_storage, spec, names=("module.other",), now_ms=20_000) == ["unknown"]


def test_claim_respects_global_concurrency(dbos_storage: SystemStorage) -> None:
    for index in range(5):
        dbos_storage.create_workflow(task(f"t{index}", created_at_ms=index))
    spec = QueueSpec("q", concurrency=2)
    assert claim(dbos_storage, spec, executor="a") == ["t0", "t1"]
    assert claim(dbos_storage, spec, executor="b") == []
    dbos_storage.finish_workflow(WorkflowOutcome("t0", "SUCCESS", "null", None, 11_000))
    assert claim(dbos_storage, spec, executor="b") == ["t2"]


def test_claim_respects_the_rate_limit(dbos_storage: SystemStorage) -> None:
    for index in range(5):
        dbos_storage.create_workflow(task(f"t{index}", created_at_ms=index))
    spec = QueueSpec("q", limit=2, period_s=1.0)
    assert claim(dbos_storage, spec, now_ms=10_000) == ["t0", "t1"]
    dbos_storage.finish_workflow(WorkflowOutcome("t0", "SUCCESS", "null", None, 10_100))
    assert claim(dbos_storage, spec, now_ms=10_500) == []  # finished or not, they started
    assert claim(dbos_storage, spec, now_ms=11_001) == ["t2", "t3"]


def test_concurrent_claimers_never_exceed_global_concurrency(dbos_storage: SystemStorage) -> None:
    for index in range(30):
        dbos_storage.create_workflow(task(f"t{index:02d}", created_at_ms=index))
    spec = QueueSpec("q", concurrency=7)
    claimed = claim_concurrently(dbos_storage, spec, claimers=6)
    assert len(claimed) == len(set(claimed)) <= 7
    claimed += claim(dbos_storage, spec, capacity=30, executor="w-last")  # what timing left
    assert len(claimed) == len(set(claimed)) == 7


def test_concurrent_claimers_of_an_unlimited_queue_take_each_task_once(
    dbos_storage: SystemStorage,
) -> None:
    for index in range(60):
        dbos_storage.create_workflow(task(f"t{index:02d}", created_at_ms=index))
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(index: int) -> None:
        while True:
            ids = claim(dbos_storage, QueueSpec("q"), capacity=4, executor=f"w{index}")
            if not ids:
                return
            with lock:
                claimed.extend(ids)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == [f"t{index:02d}" for index in range(60)]


def test_deduplication_while_queued_or_running_only(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("first", deduplication_id="order-7"))
    with pytest.raises(DBOSQueueDeduplicatedError, match="order-7"):
        dbos_storage.create_workflow(task("second", deduplication_id="order-7"))
    assert dbos_storage.get_workflow("second") is None
    # Another queue may use the same ID.
    dbos_storage.create_workflow(task("elsewhere", queue="other", deduplication_id="order-7"))
    assert claim(dbos_storage, QueueSpec("q")) == ["first"]
    with pytest.raises(DBOSQueueDeduplicatedError):
        dbos_storage.create_workflow(task("third", deduplication_id="order-7"))
    dbos_storage.finish_workflow(WorkflowOutcome("first", "SUCCESS", "null", None, 11_000))
    assert dbos_storage.create_workflow(task("fourth", deduplication_id="order-7")).created


def test_list_queued_only(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("queued"))
    dbos_storage.create_workflow(NewWorkflow("plain", "module.task", "[]", "worker-1", "v1", 1))
    rows = dbos_storage.list_workflows(WorkflowQuery(queued_only=True))
    assert [row.workflow_id for row in rows] == ["queued"]


def test_cancel_queued_and_running_but_not_finished(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("running", created_at_ms=1))
    dbos_storage.create_workflow(task("queued", created_at_ms=2))
    assert claim(dbos_storage, QueueSpec("q"), capacity=1) == ["running"]
    assert dbos_storage.cancel_workflow("queued", 20_000) == "CANCELLED"
    assert claim(dbos_storage, QueueSpec("q")) == []  # a cancelled task never starts
    assert dbos_storage.cancel_workflow("running", 20_000) == "CANCELLED"
    ack = dbos_storage.record_step(StepRecord("running", 0, "s", "null", None, 1, 2))
    assert ack.workflow_status == "CANCELLED"  # the running execution learns at its next step
    dbos_storage.create_workflow(task("done", created_at_ms=3))
    assert claim(dbos_storage, QueueSpec("q")) == ["done"]
    dbos_storage.finish_workflow(WorkflowOutcome("done", "SUCCESS", "null", None, 5))
    assert dbos_storage.cancel_workflow("done", 20_000) == "SUCCESS"
    assert dbos_storage.cancel_workflow("ghost", 20_000) is None


def test_resume_runs_cancelled_work_again_once(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("t"))
    assert claim(dbos_storage, QueueSpec("q")) == ["t"]
    dbos_storage.cancel_workflow("t", 20_000)
    first = dbos_storage.resume_workflow("t", "worker-2", "v1", 30_000)
    assert first is not None and first.resumed
    assert (first.row.status, first.row.executor_id, first.row.recovery_attempts) == (
        PENDING,
        "worker-2",
        1,
    )
    again = dbos_storage.resume_workflow("t", "worker-3", "v1", 30_001)
    assert again is not None and not again.resumed and again.row.executor_id == "worker-2"
    assert dbos_storage.resume_workflow("ghost", "w", "v1", 1) is None


def test_resume_starts_an_enqueued_task_now(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("waiting", delay_until_ms=99_999_999))
    result = dbos_storage.resume_workflow("waiting", "worker-1", "v1", 10)
    assert result is not None and result.resumed and result.row.status == PENDING
    assert claim(dbos_storage, QueueSpec("q")) == []


def test_cancel_expired_cancels_only_overdue_unfinished_work(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("overdue-queued", deadline_ms=5_000))
    dbos_storage.create_workflow(task("overdue-running", created_at_ms=2, deadline_ms=5_000))
    dbos_storage.create_workflow(task("in-time", created_at_ms=3, deadline_ms=50_000))
    dbos_storage.create_workflow(task("no-deadline", created_at_ms=4))
    dbos_storage.create_workflow(
        NewWorkflow("plain-overdue", "wf", "[]", "w", "v1", 5, deadline_ms=5_000)
    )
    row = dbos_storage.get_workflow("in-time")
    assert row is not None and row.deadline_ms == 50_000
    assert claim(dbos_storage, QueueSpec("q"), capacity=1, now_ms=1_000) == ["overdue-running"]
    cancelled = dbos_storage.cancel_expired(10_000)
    assert sorted(cancelled) == ["overdue-queued", "overdue-running", "plain-overdue"]
    statuses = {
        workflow_id: (dbos_storage.get_workflow(workflow_id) or row).status
        for workflow_id in ("overdue-queued", "overdue-running", "in-time", "no-deadline")
    }
    assert statuses == {
        "overdue-queued": "CANCELLED",
        "overdue-running": "CANCELLED",
        "in-time": ENQUEUED,
        "no-deadline": ENQUEUED,
    }
    assert dbos_storage.cancel_expired(10_000) == []


def test_partitioned_concurrency_applies_per_partition(dbos_storage: SystemStorage) -> None:
    for key in "abc":
        for index in range(3):
            dbos_storage.create_workflow(
                task(f"{key}{index}", created_at_ms=index, queue_partition_key=key)
            )
    spec = QueueSpec("q", partitioned=True, partition_concurrency=1)
    assert sorted(claim(dbos_storage, spec, executor="x")) == ["a0", "b0", "c0"]
    assert claim(dbos_storage, spec, executor="y") == []
    dbos_storage.finish_workflow(WorkflowOutcome("b0", "SUCCESS", "null", None, 11_000))
    assert claim(dbos_storage, spec, executor="y") == ["b1"]


def test_partitioned_rate_limit_applies_per_partition(dbos_storage: SystemStorage) -> None:
    for key in "ab":
        for index in range(3):
            dbos_storage.create_workflow(
                task(f"{key}{index}", created_at_ms=index, queue_partition_key=key)
            )
    spec = QueueSpec("q", partitioned=True, partition_limit=2, partition_period_s=1.0)
    assert sorted(claim(dbos_storage, spec, now_ms=10_000)) == ["a0", "a1", "b0", "b1"]
    assert claim(dbos_storage, spec, now_ms=10_500) == []
    assert sorted(claim(dbos_storage, spec, now_ms=11_001)) == ["a2", "b2"]


def test_partitions_are_served_round_robin(dbos_storage: SystemStorage) -> None:
    # One key holds a deep, older backlog; the others arrive later with one task each.
    for index in range(20):
        dbos_storage.create_workflow(task(f"busy{index:02d}", queue_partition_key="busy"))
    for key in ("late1", "late2"):
        dbos_storage.create_workflow(task(key, created_at_ms=5_000, queue_partition_key=key))
    spec = QueueSpec("q", partitioned=True)
    order = [claim(dbos_storage, spec, capacity=1, now_ms=10_000 + step)[0] for step in range(6)]
    # Each partition gets a turn before the busy one gets a second.
    assert set(order[:3]) == {"busy00", "late1", "late2"}
    assert order[3:] == ["busy01", "busy02", "busy03"]


def test_concurrent_claimers_never_exceed_a_partition_limit(dbos_storage: SystemStorage) -> None:
    for key in "abcd":
        for index in range(6):
            dbos_storage.create_workflow(
                task(f"{key}{index}", created_at_ms=index, queue_partition_key=key)
            )
    spec = QueueSpec("q", partitioned=True, partition_concurrency=2)
    claimed = claim_concurrently(dbos_storage, spec, claimers=4)
    # Under load, SKIP LOCKED may leave some capacity to later rounds: the limit must hold
    # whatever the timing, and what is left must be claimable afterwards.
    assert len(claimed) == len(set(claimed)) <= 8
    claimed += claim(dbos_storage, spec, capacity=8, executor="w-last")
    assert len(claimed) == len(set(claimed)) == 8
    for key in "abcd":
        assert sorted(i for i in claimed if i.startswith(key)) == [f"{key}0", f"{key}1"]


def test_tasks_of_one_millisecond_start_in_enqueue_order(dbos_storage: SystemStorage) -> None:
    ids = [f"t{index}" for index in (5, 9, 1, 7, 3, 8, 2)]  # not in ID order
    for workflow_id in ids:
        dbos_storage.create_workflow(task(workflow_id, created_at_ms=1_000))
    assert claim(dbos_storage, QueueSpec("q"), capacity=3) == ids[:3]
    assert claim(dbos_storage, QueueSpec("q")) == ids[3:]


def _request(queue: QueueSpec, capacity: int = 1, now_ms: int = 20_000) -> ClaimRequest:
    return ClaimRequest(queue, "worker-1", "v1", capacity, ("module.task",), now_ms)


def test_finish_and_claim_hands_the_slot_to_the_next_task(dbos_storage: SystemStorage) -> None:
    for index in range(3):
        dbos_storage.create_workflow(task(f"t{index}", created_at_ms=index))
    spec = QueueSpec("q")
    assert claim(dbos_storage, spec, capacity=1) == ["t0"]
    done = dbos_storage.finish_and_claim(
        WorkflowOutcome("t0", "SUCCESS", "1", None, 15_000), _request(spec)
    )
    assert done.status == "SUCCESS"
    assert [row.workflow_id for row in done.claimed] == ["t1"]
    assert (done.claimed[0].status, done.claimed[0].executor_id) == (PENDING, "worker-1")
    finished = dbos_storage.get_workflow("t0")
    assert finished is not None and (finished.status, finished.output) == ("SUCCESS", "1")
    assert [
        r.workflow_id for r in dbos_storage.list_workflows(WorkflowQuery(statuses=(ENQUEUED,)))
    ] == ["t2"]


def test_finish_and_claim_counts_the_freed_slot_of_a_limited_queue(
    dbos_storage: SystemStorage,
) -> None:
    for index in range(4):
        dbos_storage.create_workflow(task(f"t{index}", created_at_ms=index))
    spec = QueueSpec("q", concurrency=2)
    assert claim(dbos_storage, spec) == ["t0", "t1"]
    done = dbos_storage.finish_and_claim(
        WorkflowOutcome("t0", "SUCCESS", "null", None, 15_000), _request(spec, capacity=5)
    )
    assert [row.workflow_id for row in done.claimed] == ["t2"]  # one slot freed, not five


def test_finish_and_claim_of_a_missing_workflow_claims_nothing(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(task("t0"))
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.finish_and_claim(
            WorkflowOutcome("missing", "SUCCESS", "null", None, 15_000), _request(QueueSpec("q"))
        )
    row = dbos_storage.get_workflow("t0")
    assert row is not None and row.status == ENQUEUED


def test_concurrent_finish_and_claims_take_each_task_once(dbos_storage: SystemStorage) -> None:
    for index in range(40):
        dbos_storage.create_workflow(task(f"t{index:02d}", created_at_ms=index))
    spec = QueueSpec("q")
    first = claim(dbos_storage, spec, capacity=8)
    seen: list[str] = list(first)
    lock = threading.Lock()
    barrier = threading.Barrier(len(first))

    def chain(workflow_id: str) -> None:
        # Each thread runs a "slot": finish its task, take the next, until the queue is empty.
        barrier.wait()
        current: str | None = workflow_id
        while current is not None:
            done = dbos_storage.finish_and_claim(
                WorkflowOutcome(current, "SUCCESS", "null", None, 15_000), _request(spec)
            )
            assert done.status == "SUCCESS"
            current = done.claimed[0].workflow_id if done.claimed else None
            if current is not None:
                with lock:
                    seen.append(current)

    threads = [threading.Thread(target=chain, args=(workflow_id,)) for workflow_id in first]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    leftover = claim(dbos_storage, spec)  # what SKIP LOCKED passed over, if anything
    assert sorted(seen + leftover) == [f"t{index:02d}" for index in range(40)]
    assert len(seen) == len(set(seen))


def test_claims_say_whether_a_task_ran_before(dbos_storage: SystemStorage) -> None:
    """A task put back on its queue after it recorded operations (here: failed, then
    requeued, as a resume or rewind onto a queue does) is claimed with `has_operations`, so
    the engine replays its steps instead of running them again."""
    for index in range(3):
        dbos_storage.create_workflow(task(f"t{index}", created_at_ms=index))
    spec = QueueSpec("q")
    first = dbos_storage.claim_queued(_request(spec, capacity=2))
    assert [(row.workflow_id, row.has_operations) for row in first] == [
        ("t0", False),
        ("t1", False),
    ]
    dbos_storage.record_step(StepRecord("t0", 1, "s", "null", None, 1, 2))
    dbos_storage.finish_workflow(WorkflowOutcome("t0", "ERROR", None, "boom", 3))
    assert dbos_storage.requeue_workflows(("t0",), "q", 4) == ["t0"]
    # t0 (created first) comes back through finish_and_claim, t2 through claim_queued.
    done = dbos_storage.finish_and_claim(
        WorkflowOutcome("t1", "SUCCESS", "1", None, 6), _request(spec, capacity=1)
    )
    assert [(row.workflow_id, row.has_operations) for row in done.claimed] == [("t0", True)]
    rest = dbos_storage.claim_queued(_request(spec))
    assert [(row.workflow_id, row.has_operations) for row in rest] == [("t2", False)]
    # A bool, not a number: the engine tells a new task by `has_operations is False`.
    assert all(type(row.has_operations) is bool for row in [*first, *done.claimed, *rest])


def _partitioned_tasks(storage: SystemStorage, keys: str, per_key: int) -> None:
    for key in keys:
        for index in range(per_key):
            storage.create_workflow(
                task(f"{key}{index}", created_at_ms=index, queue_partition_key=key)
            )


def test_whole_queue_concurrency_bounds_a_partitioned_queue(dbos_storage: SystemStorage) -> None:
    # DBOS Transact 3.4: global_concurrency bounds the whole queue, partition_concurrency
    # each partition; both hold at once.
    _partitioned_tasks(dbos_storage, "abcd", 3)
    spec = QueueSpec("q", concurrency=3, partitioned=True, partition_concurrency=2)
    first = claim(dbos_storage, spec, executor="x")
    assert len(first) == 3 and len({i[0] for i in first}) == 3  # round robin, one each
    assert claim(dbos_storage, spec, executor="y") == []
    dbos_storage.finish_workflow(WorkflowOutcome(first[0], "SUCCESS", "null", None, 11_000))
    assert len(claim(dbos_storage, spec, executor="y")) == 1


def test_whole_queue_rate_limit_bounds_a_partitioned_queue(dbos_storage: SystemStorage) -> None:
    # 4 starts a second on the whole queue, 3 per 5 seconds on each partition.
    _partitioned_tasks(dbos_storage, "abc", 4)
    spec = QueueSpec(
        "q", limit=4, period_s=1.0, partitioned=True, partition_limit=3, partition_period_s=5.0
    )
    assert sorted(claim(dbos_storage, spec, now_ms=10_000)) == ["a0", "a1", "b0", "c0"]
    assert claim(dbos_storage, spec, now_ms=10_500) == []
    # The queue's window has room again; partition "a" has one start left in its own.
    assert sorted(claim(dbos_storage, spec, now_ms=11_001)) == ["a2", "b1", "b2", "c1"]
    assert claim(dbos_storage, spec, now_ms=12_002) == ["c2"]


def test_partition_worker_concurrency_bounds_each_process(dbos_storage: SystemStorage) -> None:
    # Only the claimer's own running tasks of a partition count (by instance), not other
    # processes': two processes may each run one task of partition "a".
    _partitioned_tasks(dbos_storage, "ab", 4)
    spec = QueueSpec("q", partitioned=True, partition_worker_concurrency=1)
    assert sorted(claim(dbos_storage, spec, executor="x", instance="p1")) == ["a0", "b0"]
    assert claim(dbos_storage, spec, executor="x", instance="p1") == []
    assert sorted(claim(dbos_storage, spec, executor="x", instance="p2")) == ["a1", "b1"]
    dbos_storage.finish_workflow(WorkflowOutcome("a0", "SUCCESS", "null", None, 11_000))
    assert claim(dbos_storage, spec, executor="x", instance="p1") == ["a2"]
    # A claimer without an instance counts its executor's running tasks.
    assert sorted(claim(dbos_storage, spec, executor="solo")) == ["a3", "b2"]
    assert claim(dbos_storage, spec, executor="solo") == []


def test_concurrent_claimers_never_exceed_whole_and_partition_limits(
    dbos_storage: SystemStorage,
) -> None:
    _partitioned_tasks(dbos_storage, "abcdef", 4)
    spec = QueueSpec("q", concurrency=5, partitioned=True, partition_concurrency=1)
    claimed = claim_concurrently(dbos_storage, spec, claimers=4)
    assert len(claimed) == len(set(claimed)) <= 5
    assert len({i[0] for i in claimed}) == len(claimed)  # one per partition
    claimed += claim(dbos_storage, spec, capacity=8, executor="w-last")
    assert len(claimed) == len(set(claimed)) == 5
    assert len({i[0] for i in claimed}) == 5
