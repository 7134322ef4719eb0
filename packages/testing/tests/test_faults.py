"""Fault injection: storage calls fail as if the database were unreachable (before the call,
or after it took effect and its reply was lost), connections are dropped; workflows still
complete with every step run once and nothing lost."""

from __future__ import annotations

import threading

import pytest

from dbos import DBOS, DBOSConnectionError, Queue, SetWorkflowID, SystemStorage
from dbos_testing import CrashPlan, FaultInjector

fault_queue = Queue("fault-queue", worker_concurrency=4, polling_interval_sec=0.05)


@DBOS.step()
def fault_step(x: int) -> int:
    return x * 2


@DBOS.workflow()
def fault_workflow(x: int) -> int:
    return fault_step(x) + fault_step(x + 1) + fault_step(x + 2)


#: Held until every task is enqueued, so the tasks past the first four wait on the queue and
#: are claimed (by the worker or a finishing task) instead of starting at their enqueue.
tasks_released = threading.Event()
tasks_released.set()


@DBOS.step()
def held_step() -> None:
    tasks_released.wait(timeout=30)


@DBOS.workflow()
def fault_task(x: int) -> int:
    held_step()
    return fault_step(x)


@DBOS.workflow()
def fault_receiver() -> str | None:
    message: str | None = DBOS.recv("greetings", timeout_seconds=10)
    return message


@DBOS.workflow()
def fault_sender(destination: str) -> None:
    DBOS.send(destination, "hello", "greetings")


def test_a_failed_checkpoint_is_retried_and_runs_the_step_once(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan
) -> None:
    dbos_faults.fail("record_step", nth=2)
    with SetWorkflowID("retried"):
        assert fault_workflow(1) == 2 + 4 + 6
    assert dbos_faults.injected["record_step"] == 1
    assert dbos_crash.ran("fault_step", "retried") == 3


@pytest.mark.parametrize("operation", ["create_workflow", "record_step", "finish_workflow"])
def test_a_reply_lost_after_the_commit_is_safe_to_retry(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan, operation: str
) -> None:
    dbos_faults.fail(operation, nth=1, after_commit=True)
    with SetWorkflowID(f"lost-{operation}"):
        assert fault_workflow(1) == 12
    assert dbos_faults.injected[operation] == 1
    assert dbos_crash.ran("fault_step", f"lost-{operation}") == 3
    status = DBOS.get_workflow_status(f"lost-{operation}")
    assert status is not None and status.status == "SUCCESS"


def test_queued_tasks_survive_lost_claims(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan
) -> None:
    # The first claim of each kind loses its reply for sure (the 8 tasks past the 4 that
    # start at their enqueue are claimed by the worker or by a finishing task, so at least
    # one of them happens), then about half of the next ones.
    dbos_faults.fail("claim_queued", nth=1, after_commit=True)
    dbos_faults.fail("finish_and_claim", nth=1, after_commit=True)
    dbos_faults.fail("claim_queued", fraction=0.5, times=3, after_commit=True, seed=3)
    dbos_faults.fail("finish_and_claim", fraction=0.5, times=3, after_commit=True, seed=4)
    tasks_released.clear()
    try:
        handles = [fault_queue.enqueue(fault_task, index) for index in range(12)]
        assert [h.get_status().status for h in handles[4:]] == ["ENQUEUED"] * 8
    finally:
        tasks_released.set()
    assert [handle.get_result() for handle in handles] == [2 * i for i in range(12)]
    assert sum(dbos_faults.injected.values()) >= 1
    assert dbos_crash.ran("fault_step") == 12  # every task ran once, none twice


def test_messages_survive_lost_replies(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan
) -> None:
    dbos_faults.fail("send", nth=1, after_commit=True)
    dbos_faults.fail("recv", nth=1, after_commit=True)
    receiver = DBOS.start_workflow(fault_receiver)
    with SetWorkflowID("sender"):
        fault_sender(receiver.workflow_id)
    assert receiver.get_result() == "hello"
    assert dbos_faults.injected["send"] == 1
    assert dbos_faults.injected["recv"] == 1


def test_random_faults_everywhere(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan
) -> None:
    dbos_faults.fail(fraction=0.2, times=15, seed=7)
    dbos_faults.fail(fraction=0.1, times=10, seed=8, after_commit=True)
    results: dict[int, int] = {}

    def run(index: int) -> None:
        with SetWorkflowID(f"random-{index}"):
            results[index] = fault_workflow(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: 6 * i + 6 for i in range(8)}
    assert sum(dbos_faults.injected.values()) >= 5
    for index in range(8):
        assert dbos_crash.ran("fault_step", f"random-{index}") == 3


@pytest.mark.postgres_only
def test_dropped_connections_are_replaced(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_storage: SystemStorage
) -> None:
    gate = threading.Event()

    @DBOS.workflow()
    def waits_between_steps() -> int:
        first = fault_step(1)
        gate.wait(10)
        return first + fault_step(2)

    handle = DBOS.start_workflow(waits_between_steps)
    assert dbos_faults.drop_connections() >= 1  # the pool's and the listener's
    gate.set()
    assert handle.get_result() == 2 + 4


def _failing_calls(injector: FaultInjector, operations: list[str], watched: str) -> list[int]:
    """Positions among the `watched` operation's calls of the calls that the injector failed."""
    failed: list[int] = []
    position = 0
    for operation in operations:
        try:
            injector.dbos_storage_call(operation=operation, attempt=1)
        except DBOSConnectionError:
            if operation == watched:
                failed.append(position)
        position += operation == watched
    return failed


def test_seeded_faults_hit_the_same_calls_whatever_runs_in_between() -> None:
    # A workflow's own calls must fail the same way on every run with one seed, even though
    # background calls (a queue worker's polls, timed by the clock) interleave differently.
    own = ["create_workflow"] + ["record_step"] * 60 + ["finish_workflow"]
    busy = [op for call in own for op in (call, "claim_queued", "claim_queued")]
    quiet_run = FaultInjector().fail(fraction=0.1, seed=7)
    busy_run = FaultInjector().fail(fraction=0.1, seed=7)
    expected = _failing_calls(quiet_run, own, "record_step")
    assert expected  # 10% of 60 calls: some fail
    assert _failing_calls(busy_run, busy, "record_step") == expected
    other_seed = FaultInjector().fail(fraction=0.1, seed=8)
    assert _failing_calls(other_seed, own, "record_step") != expected


def test_bad_fault_rules_are_refused(dbos_faults: FaultInjector) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        dbos_faults.fail("record_step")
    with pytest.raises(ValueError, match="counts from 1"):
        dbos_faults.fail("record_step", nth=0)
    with pytest.raises(ValueError, match="fraction"):
        dbos_faults.fail(fraction=1.5)


@pytest.mark.postgres_only
def test_a_server_restart_mid_workflow(
    dbos: type[DBOS], dbos_faults: FaultInjector, dbos_crash: CrashPlan
) -> None:
    import os

    if os.environ.get("DBOS_TEST_DATABASE_URL"):
        pytest.skip("restarts only a server this session started")
    gate = threading.Event()

    @DBOS.workflow()
    def across_a_restart() -> int:
        first = fault_step(1)
        gate.wait(30)
        return first + fault_step(2) + fault_step(3)

    handle = DBOS.start_workflow(across_a_restart)
    dbos_faults.restart_server()
    gate.set()
    assert handle.get_result() == 2 + 4 + 6
    assert dbos_crash.ran("fault_step", handle.workflow_id) == 3
    # And the database is usable again for new work.
    with SetWorkflowID("after-restart"):
        assert fault_workflow(1) == 12
