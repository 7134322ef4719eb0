"""Workflows and steps end to end, on every backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSMaxStepRetriesExceeded,
    DBOSNonExistentWorkflowError,
    SetWorkflowID,
    SystemStorage,
    WorkflowHandle,
)

Launch = Callable[..., None]


def test_seed_example_runs_and_checkpoints_each_step(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    calls: list[str] = []

    @DBOS.step()
    def step_one() -> None:
        calls.append("one")

    @DBOS.step()
    def step_two() -> None:
        calls.append("two")

    @DBOS.workflow()
    def workflow() -> None:
        step_one()
        step_two()

    launch()
    with SetWorkflowID("seed"):
        workflow()
    assert calls == ["one", "two"]
    steps = dbos_storage.load_steps("seed")
    assert [(s.function_id, s.function_name) for s in steps] == [
        (1, step_one.__qualname__),
        (2, step_two.__qualname__),
    ]
    status = DBOS.get_workflow_status("seed")
    assert status is not None and status.status == "SUCCESS"


def test_start_workflow_handle_status_and_ids(launch: Launch) -> None:
    seen: dict[str, Any] = {}

    @DBOS.step()
    def record_ids(x: int) -> int:
        seen["step"] = (DBOS.workflow_id, DBOS.step_id)
        return x * 2

    @DBOS.workflow()
    def doubled(x: int) -> int:
        seen["workflow"] = DBOS.workflow_id
        return record_ids(x) + 1

    launch()
    handle: WorkflowHandle[int] = DBOS.start_workflow(doubled, 20)
    assert handle.get_result() == 41
    assert seen == {"workflow": handle.workflow_id, "step": (handle.workflow_id, 1)}
    status = handle.get_status()
    assert (status.status, status.name, status.output) == ("SUCCESS", doubled.__qualname__, 41)
    assert status.input == {"args": (20,), "kwargs": {}}
    assert DBOS.retrieve_workflow(handle.workflow_id).get_result() == 41
    assert DBOS.workflow_id is None and DBOS.step_id is None


def test_unknown_workflow_id(launch: Launch) -> None:
    launch()
    assert DBOS.get_workflow_status("nope") is None
    with pytest.raises(DBOSNonExistentWorkflowError, match="'nope' does not exist"):
        DBOS.retrieve_workflow("nope")


def test_same_id_runs_once_and_replays_errors(launch: Launch) -> None:
    runs: list[int] = []

    @DBOS.workflow()
    def fails_once_started(x: int) -> int:
        runs.append(x)
        raise ValueError(f"bad {x}")

    launch()
    for _ in range(3):
        with SetWorkflowID("err"), pytest.raises(ValueError, match="bad 1"):
            DBOS.start_workflow(fails_once_started, 1).get_result()
    assert runs == [1]
    assert DBOS.retrieve_workflow("err").get_status().status == "ERROR"
    launch()  # a restarted process reads the recorded error back from the database
    with pytest.raises(ValueError, match="bad 1"):
        DBOS.retrieve_workflow("err").get_result()


def test_concurrent_starts_of_one_id_from_many_threads_run_once(launch: Launch) -> None:
    runs: list[int] = []
    lock = threading.Lock()

    @DBOS.step()
    def slow() -> str:
        with lock:
            runs.append(1)
        threading.Event().wait(0.2)
        return "done"

    @DBOS.workflow()
    def guarded() -> str:
        return slow() + "!"

    launch()
    results: list[str] = []
    barrier = threading.Barrier(16)

    def start() -> None:
        barrier.wait()
        with SetWorkflowID("one-id"):
            results.append(DBOS.start_workflow(guarded).get_result())

    threads = [threading.Thread(target=start) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runs == [1]
    assert results == ["done!"] * 16


def test_async_workflows_and_steps(launch: Launch) -> None:
    @DBOS.step()
    async def fetch(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    @DBOS.workflow()
    async def pipeline(x: int) -> int:
        y = await fetch(x)
        await DBOS.sleep_async(0.01)
        return y * 10

    launch()

    async def main() -> tuple[int, int, int]:
        direct = await pipeline(1)
        handle = await DBOS.start_workflow_async(pipeline, 2)
        started = await handle.get_result()
        status = await handle.get_status()
        assert status.status == "SUCCESS"
        return direct, started, len(asyncio.all_tasks())

    direct, started, _ = asyncio.run(main())
    assert (direct, started) == (20, 30)
    # An async workflow started from sync code runs on the engine's own event loop.
    assert DBOS.start_workflow(pipeline, 3).get_result() == 40


def test_child_workflows_get_deterministic_ids(launch: Launch, dbos_storage: SystemStorage) -> None:
    @DBOS.workflow()
    def child(x: int) -> int:
        return x * 3

    @DBOS.workflow()
    def parent() -> list[int]:
        first = child(1)
        second = DBOS.start_workflow(child, 2).get_result()
        return [first, second]

    launch()
    with SetWorkflowID("parent"):
        assert parent() == [3, 6]
    steps = dbos_storage.load_steps("parent")
    # Each child's start, then the wait for its result (recorded as in DBOS Transact).
    assert [(s.function_id, s.child_workflow_id) for s in steps] == [
        (1, "parent-1"),
        (2, "parent-1"),
        (3, "parent-3"),
        (4, "parent-3"),
    ]
    child_status = DBOS.get_workflow_status("parent-1")
    assert child_status is not None
    assert (child_status.output, child_status.parent_workflow_id) == (3, "parent")


def test_step_retries_with_backoff_then_succeeds(launch: Launch) -> None:
    attempts: list[int] = []

    @DBOS.step(retries_allowed=True, interval_seconds=0.01, max_attempts=3, backoff_rate=1.0)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return "ok"

    @DBOS.workflow()
    def uses_flaky() -> str:
        return flaky()

    launch()
    assert uses_flaky() == "ok"
    assert len(attempts) == 3


def test_step_gives_up_after_max_attempts(launch: Launch) -> None:
    @DBOS.step(retries_allowed=True, interval_seconds=0.0, max_attempts=2)
    def always_fails() -> None:
        raise ConnectionError("down")

    @DBOS.workflow()
    def doomed() -> None:
        always_fails()

    launch()
    with pytest.raises(DBOSMaxStepRetriesExceeded, match="failed 2 times: ConnectionError: down"):
        doomed()


def test_steps_outside_workflows_are_plain_calls(launch: Launch) -> None:
    @DBOS.step()
    def plain(x: int) -> int:
        return x + 1

    launch()
    assert plain(1) == 2
