"""DBOS Transact 3.4's status details (`completed_at`, `forked_from`, `schedule_name`) and the
listing filters on parents, forks, schedules and prefix lists; `list_workflow_steps`'
`load_output`, `limit` and `offset`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest

from dbos import DBOS, DBOSException, SetWorkflowID
from dbos._engine.registry import clear_scheduled

Launch = Callable[..., None]


@pytest.fixture(autouse=True)
def no_leftover_schedules() -> Iterator[None]:
    clear_scheduled()
    yield
    DBOS.destroy()
    clear_scheduled()


def _family(launch: Launch) -> None:
    @DBOS.workflow()
    def child(x: int) -> int:
        return x + 1

    @DBOS.workflow()
    def parent(n: int) -> int:
        return sum(child(i) for i in range(n))

    launch()
    with SetWorkflowID("order-1"):
        parent(2)
    with SetWorkflowID("refund-1"):
        parent(1)
    with SetWorkflowID("other"):
        child(5)


def test_completed_at_is_set_when_the_workflow_finishes(launch: Launch) -> None:
    release = threading.Event()

    @DBOS.workflow()
    def waits() -> str:
        release.wait(10)
        return "done"

    launch()
    before = int(time.time() * 1000)
    with SetWorkflowID("waits"):
        handle = DBOS.start_workflow(waits)
    assert handle.get_status().completed_at is None
    release.set()
    handle.get_result()
    status = handle.get_status()
    assert status.completed_at is not None
    assert before <= status.created_at <= status.completed_at <= int(time.time() * 1000)
    assert (status.forked_from, status.schedule_name) == (None, None)


def test_completed_at_is_cleared_by_a_resume(launch: Launch) -> None:
    gates = [threading.Event(), threading.Event()]
    calls: list[int] = []

    @DBOS.step()
    def blocked() -> None:
        call = len(calls)
        calls.append(call)
        gates[min(call, 1)].wait(10)

    @DBOS.workflow()
    def cancellable() -> str:
        blocked()
        blocked()
        return "resumed"

    launch()
    with SetWorkflowID("c"):
        handle = DBOS.start_workflow(cancellable)
    _wait_until(lambda: len(calls) == 1)
    DBOS.cancel_workflow("c")
    gates[0].set()
    with pytest.raises(DBOSException):
        handle.get_result(timeout_seconds=10)
    cancelled_at = handle.get_status().completed_at
    assert cancelled_at is not None
    resumed = DBOS.resume_workflow("c")
    _wait_until(lambda: len(calls) == 2)
    assert resumed.get_status().completed_at is None  # running again: not completed
    gates[1].set()
    assert resumed.get_result(timeout_seconds=20) == "resumed"
    finished_at = resumed.get_status().completed_at
    assert finished_at is not None and finished_at >= cancelled_at


def _wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_forked_from_is_the_original(launch: Launch) -> None:
    @DBOS.workflow()
    def original() -> int:
        return 7

    launch()
    with SetWorkflowID("original"):
        original()
    fork = DBOS.fork_workflow("original", 0)
    assert fork.get_result(timeout_seconds=20) == 7
    assert fork.get_status().forked_from == "original"
    assert DBOS.retrieve_workflow("original").get_status().forked_from is None
    assert [s.workflow_id for s in DBOS.list_workflows(forked_from="original")] == [
        fork.workflow_id
    ]
    assert [s.workflow_id for s in DBOS.list_workflows(is_fork=False)] == ["original"]


def test_schedule_name_of_a_scheduled_workflow(launch: Launch) -> None:
    ran = threading.Event()

    @DBOS.workflow()
    def started_inside() -> None:
        pass

    @DBOS.scheduled("* * * * * *")
    @DBOS.workflow()
    def every_second(scheduled_time: datetime, actual_time: datetime) -> None:
        started_inside()
        ran.set()

    launch()
    assert ran.wait(10)
    DBOS.destroy()
    launch()
    name = every_second.__qualname__
    ticks = DBOS.list_workflows(schedule_name=name)
    assert ticks and all(s.name == name and s.schedule_name == name for s in ticks)
    # The workflows a tick starts are not the schedule's.
    children = DBOS.list_workflows(name=started_inside.__qualname__)
    assert children and all(s.schedule_name is None for s in children)


def test_list_by_parent_and_prefixes(launch: Launch) -> None:
    _family(launch)

    def ids(**filters: object) -> list[str]:
        return [s.workflow_id for s in DBOS.list_workflows(**filters)]  # type: ignore[arg-type]

    children = ids(parent_workflow_id="order-1")
    assert len(children) == 2 and all(i.startswith("order-1-") for i in children)
    assert len(ids(parent_workflow_id=["order-1", "refund-1"])) == 3
    assert ids(has_parent=False) == ["order-1", "refund-1", "other"]
    assert set(ids(has_parent=True)) == set(children) | set(ids(parent_workflow_id="refund-1"))
    # A list of prefixes: any of them (before, a list matched nothing).
    assert ids(workflow_id_prefix=["order-", "refund-"], has_parent=False) == [
        "order-1",
        "refund-1",
    ]
    assert ids(workflow_id_prefix="oth") == ["other"]
    assert ids(workflow_id_prefix=[]) == []

    async def listed() -> list[str]:
        found = await DBOS.list_workflows_async(has_parent=False, sort_desc=True)
        return [s.workflow_id for s in found]

    assert asyncio.run(listed()) == ["other", "refund-1", "order-1"]


def test_list_by_completion_time(launch: Launch) -> None:
    _family(launch)
    everything = DBOS.list_workflows()
    last = max(s.completed_at or 0 for s in everything)
    assert all(s.completed_at is not None for s in everything)
    after = datetime.fromtimestamp(last / 1000, tz=timezone.utc)
    assert {s.workflow_id for s in DBOS.list_workflows(completed_after=after)} == {
        s.workflow_id for s in everything if s.completed_at == last
    }
    assert len(DBOS.list_workflows(completed_before=after)) == len(everything)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"workflow_id_prefix": 5}, "workflow_id_prefix must be a string or a list of strings"),
        ({"parent_workflow_id": ["a", 1]}, "parent_workflow_id must be a string or a list"),
        ({"has_parent": "yes"}, "has_parent must be True, False or None"),
        ({"is_fork": 1}, "is_fork must be True, False or None"),
        ({"completed_after": "yesterday"}, "completed_after 'yesterday' is not an ISO 8601"),
    ],
)
def test_bad_filters_are_named(launch: Launch, filters: dict[str, object], message: str) -> None:
    launch()
    with pytest.raises(DBOSException, match=message):
        DBOS.list_workflows(**filters)  # type: ignore[arg-type]


def test_list_workflow_steps_limit_offset_and_without_outputs(launch: Launch) -> None:
    @DBOS.step()
    def numbered(i: int) -> int:
        if i == 2:
            raise ValueError("two")
        return i * 10

    @DBOS.workflow()
    def steps() -> None:
        for i in range(4):
            with contextlib.suppress(ValueError):
                numbered(i)

    launch()
    with SetWorkflowID("steps"):
        steps()
    full = DBOS.list_workflow_steps("steps")
    assert [s["output"] for s in full] == [0, 10, None, 30]
    assert isinstance(full[2]["error"], ValueError)
    page = DBOS.list_workflow_steps("steps", limit=2, offset=1)
    assert [s["function_id"] for s in page] == [2, 3]
    assert [s["output"] for s in page] == [10, None]
    assert [s["function_id"] for s in DBOS.list_workflow_steps("steps", offset=3)] == [4]
    assert DBOS.list_workflow_steps("steps", limit=0) == []
    bare = DBOS.list_workflow_steps("steps", load_output=False)
    assert [(s["function_id"], s["output"], s["error"]) for s in bare] == [
        (i, None, None) for i in range(1, 5)
    ]
    assert [s["function_name"] for s in bare] == [s["function_name"] for s in full]

    async def listed() -> list[int]:
        found = await DBOS.list_workflow_steps_async("steps", limit=1, load_output=False)
        return [s["function_id"] for s in found]

    assert asyncio.run(listed()) == [1]
    with pytest.raises(DBOSException, match="limit must be a non-negative integer"):
        DBOS.list_workflow_steps("steps", limit=-1)
    with pytest.raises(DBOSException, match="offset must be a non-negative integer"):
        DBOS.list_workflow_steps("steps", offset=1.5)  # type: ignore[arg-type]
