"""Management calls of `DBOS` inside the app: step listing, fork, bulk cancel and resume,
delete and retention, on every backend."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSWorkflowCancelledError,
    Queue,
    SetWorkflowID,
)

Launch = Callable[..., None]


class Outage(Exception):
    pass


def test_step_ids_count_from_one_in_execution_order(launch: Launch) -> None:
    @DBOS.step()
    def fetch(x: int) -> int:
        return x + 1

    @DBOS.step()
    def fail() -> None:
        raise Outage("down")

    @DBOS.workflow()
    def child(x: int) -> int:
        return x * 10

    @DBOS.workflow()
    def parent() -> int:
        a = fetch(1)  # step 1
        DBOS.sleep(0)  # step 2
        b = child(a)  # step 3 starts the child, step 4 awaits its result (as in DBOS)
        with contextlib.suppress(Outage):
            fail()  # step 5
        return fetch(b)  # step 6

    launch()
    with SetWorkflowID("parent"):
        assert parent() == 21
    steps = DBOS.list_workflow_steps("parent")
    assert [s["function_id"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert steps[0]["function_name"].endswith("fetch")
    assert steps[1]["function_name"] == "DBOS.sleep"
    assert steps[2]["child_workflow_id"] == "parent-3"
    assert steps[3]["function_name"] == "DBOS.getResult" and steps[3]["output"] == 20
    assert steps[0]["output"] == 2
    assert isinstance(steps[4]["error"], Outage) and steps[4]["output"] is None
    assert steps[5]["output"] == 21
    for step in steps:
        started, completed = step["started_at_epoch_ms"], step["completed_at_epoch_ms"]
        assert started is not None and completed is not None and started <= completed
    status = DBOS.get_workflow_status("parent")
    assert status is not None
    by_status = DBOS.list_workflow_steps(status)  # a status object works too
    assert [s["function_id"] for s in by_status] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.list_workflow_steps("ghost")


def test_fork_reuses_steps_before_start_step(launch: Launch) -> None:
    runs: Counter[str] = Counter()
    outage = {"on": True}

    @DBOS.step()
    def one(x: int) -> int:
        runs["one"] += 1
        return x + 1

    @DBOS.step()
    def two(x: int) -> int:
        runs["two"] += 1
        return x * 2

    @DBOS.step()
    def three(x: int) -> int:
        runs["three"] += 1
        if outage["on"]:
            raise Outage(f"no service for {x}")
        return x - 1

    @DBOS.workflow()
    def pipeline(x: int) -> int:
        return three(two(one(x)))

    launch()
    with SetWorkflowID("original"), pytest.raises(Outage):
        pipeline(5)
    outage["on"] = False
    with SetWorkflowID("forked"):
        handle = DBOS.fork_workflow("original", 3)
    assert handle.workflow_id == "forked"
    assert handle.get_result(timeout_seconds=20) == 11
    assert runs == Counter(one=1, two=1, three=2)  # steps 1 and 2 were not run again
    forked_steps = DBOS.list_workflow_steps("forked")
    assert [(s["function_id"], s["output"]) for s in forked_steps] == [(1, 6), (2, 12), (3, 11)]
    original = DBOS.get_workflow_status("original")
    assert original is not None and original.status == "ERROR"  # untouched
    assert isinstance(DBOS.list_workflow_steps("original")[2]["error"], Outage)

    # From step 1 everything runs again; a new ID is chosen when none is set.
    again = DBOS.fork_workflow("original", 1)
    assert again.workflow_id not in ("original", "forked")
    assert again.get_result(timeout_seconds=20) == 11
    assert runs == Counter(one=2, two=2, three=3)


def test_fork_keeps_the_events_and_stream_entries_of_the_copied_steps(launch: Launch) -> None:
    """A user's case: a fork from a step after set_event/write_stream (from the workflow body
    and from inside a step) reads the events and streams the original had at that point."""
    gate = threading.Event()
    gate.set()

    @DBOS.step()
    def price(order: int) -> float:
        DBOS.write_stream("progress", "pricing")  # from inside a step: with its checkpoint
        DBOS.set_event("priced_at", order)
        return 9.5 * order

    @DBOS.step()
    def ship(order: int) -> str:
        assert gate.wait(20)
        DBOS.set_event("status", "shipping")
        return f"shipped {order}"

    @DBOS.workflow()
    def checkout(order: int) -> str:
        price(order)  # step 1
        DBOS.set_event("status", "priced")  # step 2
        DBOS.write_stream("progress", "priced")  # step 3
        result = ship(order)  # step 4
        DBOS.write_stream("progress", result)  # step 5
        DBOS.close_stream("progress")  # step 6
        return result

    def events(workflow_id: str) -> tuple[object, object]:
        return (
            DBOS.get_event(workflow_id, "status", timeout_seconds=0),
            DBOS.get_event(workflow_id, "priced_at", timeout_seconds=0),
        )

    launch()
    with SetWorkflowID("checkout"):
        assert checkout(2) == "shipped 2"
    final = ("shipping", 2)
    assert events("checkout") == final
    assert list(DBOS.read_stream("checkout", "progress")) == ["pricing", "priced", "shipped 2"]

    # While the fork waits in step 4, it has exactly what the original had before step 4.
    gate.clear()
    fork = DBOS.fork_workflow("checkout", 4)
    stream = DBOS.read_stream(fork.workflow_id, "progress")
    assert [next(stream), next(stream)] == ["pricing", "priced"]
    assert events(fork.workflow_id) == ("priced", 2)
    gate.set()
    assert fork.get_result(timeout_seconds=20) == "shipped 2"
    assert list(stream) == ["shipped 2"]
    assert events(fork.workflow_id) == final
    # The original is untouched.
    assert events("checkout") == final
    assert list(DBOS.read_stream("checkout", "progress")) == ["pricing", "priced", "shipped 2"]


def test_fork_errors(launch: Launch) -> None:
    @DBOS.step()
    def only() -> int:
        return 1

    @DBOS.workflow()
    def short() -> int:
        return only()

    launch()
    with SetWorkflowID("short"):
        short()
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.fork_workflow("ghost", 1)
    with pytest.raises(DBOSException, match=r"start_step must be .*counted from 1 \(0 only"):
        DBOS.fork_workflow("short", -1)
    assert [s.workflow_id for s in DBOS.list_workflows()] == ["short"]


def test_fork_past_the_last_step_replays_every_recorded_step(launch: Launch) -> None:
    # DBOS Transact accepts a start step past the last recorded one: the fork replays all.
    runs: list[int] = []

    @DBOS.step()
    def only() -> int:
        runs.append(1)
        return len(runs)

    @DBOS.workflow()
    def short() -> int:
        return only() * 10

    launch()
    with SetWorkflowID("short"):
        assert short() == 10
    fork = DBOS.fork_workflow("short", 5)
    assert fork.get_result(timeout_seconds=20) == 10
    assert runs == [1]
    assert [s["function_id"] for s in DBOS.list_workflow_steps(fork.workflow_id)] == [1]


def test_bulk_cancel_and_resume(launch: Launch) -> None:
    gate = threading.Event()
    entered: list[str] = []
    runs: Counter[str] = Counter()

    @DBOS.step()
    def first(tag: str) -> str:
        runs[f"first-{tag}"] += 1
        return tag

    @DBOS.step()
    def wait_for_gate(tag: str) -> str:
        entered.append(tag)
        gate.wait(10)
        return tag

    @DBOS.step()
    def last(tag: str) -> str:
        runs[f"last-{tag}"] += 1
        return tag.upper()

    @DBOS.workflow()
    def job(tag: str) -> str:
        first(tag)
        wait_for_gate(tag)
        return last(tag)

    launch()
    handles = []
    for tag in ("a", "b"):
        with SetWorkflowID(tag):
            handles.append(DBOS.start_workflow(job, tag))
    deadline = time.monotonic() + 10
    while len(entered) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    DBOS.cancel_workflows(["a", "b"])
    gate.set()
    for handle in handles:
        with pytest.raises(DBOSWorkflowCancelledError):
            handle.get_result()
    resumed = DBOS.resume_workflows(["a", "b"])
    assert [h.get_result(timeout_seconds=20) for h in resumed] == ["A", "B"]
    assert runs == Counter({"first-a": 1, "first-b": 1, "last-a": 1, "last-b": 1})
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.cancel_workflows(["a", "ghost"])


def test_delete_with_children_and_garbage_collect(launch: Launch) -> None:
    @DBOS.workflow()
    def leaf(x: int) -> int:
        return x

    @DBOS.workflow()
    def tree(x: int) -> int:
        return leaf(x) + leaf(x + 1)

    launch()
    for name in ("tree-1", "tree-2"):
        with SetWorkflowID(name):
            tree(1)
    assert len(DBOS.list_workflows()) == 6
    DBOS.delete_workflow("tree-1")
    remaining = sorted(s.workflow_id for s in DBOS.list_workflows())
    # Each leaf call is a start and a recorded wait: the children are at steps 1 and 3.
    assert remaining == ["tree-1-1", "tree-1-3", "tree-2", "tree-2-1", "tree-2-3"]
    DBOS.delete_workflow("tree-2", delete_children=True)
    assert sorted(s.workflow_id for s in DBOS.list_workflows()) == ["tree-1-1", "tree-1-3"]
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.delete_workflow("tree-2")

    queue = Queue("held", polling_interval_sec=0.05)
    gate = threading.Event()

    @DBOS.workflow()
    def held() -> None:
        gate.wait(10)

    running = queue.enqueue(held)
    deadline = time.monotonic() + 10
    while (status := running.get_status()).status != "PENDING":
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    # Everything is older than "now + 1 s"; only the finished ones go.
    assert DBOS.garbage_collect(int(time.time() * 1000) + 1000) == 2
    assert [s.workflow_id for s in DBOS.list_workflows()] == [running.workflow_id]
    gate.set()
    running.get_result()


def test_async_management_calls(launch: Launch) -> None:
    runs: Counter[str] = Counter()

    @DBOS.step()
    async def count(tag: str) -> str:
        runs[tag] += 1
        return tag

    @DBOS.workflow()
    async def flow() -> str:
        return await count("x") + await count("y")

    launch()

    async def main() -> None:
        with SetWorkflowID("async-flow"):
            assert await flow() == "xy"
        steps = await DBOS.list_workflow_steps_async("async-flow")
        assert [s["output"] for s in steps] == ["x", "y"]
        handle = await DBOS.fork_workflow_async("async-flow", 2)
        assert await handle.get_result(timeout_seconds=20) == "xy"
        status = await DBOS.get_workflow_status_async(handle.workflow_id)
        assert status is not None and status.status == "SUCCESS"
        await DBOS.delete_workflow_async(handle.workflow_id)
        assert await DBOS.get_workflow_status_async(handle.workflow_id) is None
        assert await DBOS.garbage_collect_async("2000-01-01T00:00:00Z") == 0

    asyncio.run(main())
    assert runs == Counter(x=1, y=2)
