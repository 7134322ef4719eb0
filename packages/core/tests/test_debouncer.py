"""Debouncing (issue 13, item 4): `Debouncer` inside the app, on every backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSException,
    Debouncer,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
)

Launch = Callable[..., None]


def test_calls_within_the_window_start_one_workflow_with_the_last_inputs(
    launch: Launch,
) -> None:
    seen: list[str] = []

    @DBOS.workflow()
    def process(value: str) -> str:
        seen.append(value)
        return value.upper()

    launch()
    debouncer = Debouncer.create(process)
    handles = [debouncer.debounce("user-1", 2.0, value) for value in ("a", "b", "c")]
    assert len({handle.workflow_id for handle in handles}) == 1
    assert handles[0].get_result(timeout_seconds=60) == "C"
    assert seen == ["c"]
    # Another key is another window; after a window closed, the same key opens a new one.
    other = debouncer.debounce("user-2", 0.2, "x")
    again = debouncer.debounce("user-1", 0.2, "d")
    assert again.workflow_id != handles[0].workflow_id
    assert (other.get_result(timeout_seconds=60), again.get_result(timeout_seconds=60)) == (
        "X",
        "D",
    )
    assert sorted(seen) == ["c", "d", "x"]


def test_the_timeout_caps_the_window(launch: Launch) -> None:
    seen: list[int] = []
    stop = threading.Event()

    @DBOS.workflow()
    def process(value: int) -> int:
        seen.append(value)
        return value

    launch()
    debouncer = Debouncer.create(process, debounce_timeout_sec=1.0)
    first = debouncer.debounce("k", 5.0, 0)
    count = 0
    # Calls every 0.1 s would hold a 5 s window open for ever; the timeout starts it.
    while not stop.is_set() and count < 600:
        count += 1
        handle = debouncer.debounce("k", 5.0, count)
        if handle.workflow_id != first.workflow_id:
            break
        stop.wait(0.1)
    assert first.get_result(timeout_seconds=60) == seen[0]
    assert count < 600


def test_queue_set_workflow_id_and_refused_options(launch: Launch) -> None:
    queue = Queue("debounced")

    @DBOS.workflow()
    async def process(value: int) -> int:
        return value * 2

    launch()
    debouncer = Debouncer.create_async(process, queue=queue)
    with SetWorkflowID("chosen"):
        handle = debouncer.debounce("k", 0.2, 21)
    assert handle.workflow_id == "chosen"
    assert handle.get_result(timeout_seconds=60) == 42
    status = DBOS.get_workflow_status("chosen")
    assert status is not None and status.queue_name == "debounced"

    async def debounce_async() -> int:
        async_handle = await debouncer.debounce_async("k2", 0.2, 5)
        result: int = await async_handle.get_result(timeout_seconds=60)
        return result

    assert asyncio.run(debounce_async()) == 10
    for options in ({"deduplication_id": "d"}, {"delay_seconds": 1.0}, {"priority": 1}):
        with SetEnqueueOptions(**options), pytest.raises(DBOSException, match="Cannot debounce"):
            debouncer.debounce("k", 0.2, 1)
    with pytest.raises(DBOSException, match="debounce_period_sec"):
        debouncer.debounce("k", -1, 1)
    with pytest.raises(TypeError):
        Debouncer.create(DBOS.get_workflow_status)
    with pytest.raises(DBOSException, match="application_name"):
        Debouncer("x", application_name="other")


def test_debounce_inside_a_workflow_is_one_step(launch: Launch) -> None:
    seen: list[int] = []

    @DBOS.workflow()
    def process(value: int) -> int:
        seen.append(value)
        return value

    launch()
    debouncer = Debouncer.create(process)

    @DBOS.workflow()
    def caller() -> str:
        handle = debouncer.debounce("inner", 0.2, 7)
        return handle.workflow_id

    with SetWorkflowID("caller"):
        target = caller()
    assert (
        DBOS.retrieve_workflow(target, existing_workflow=False).get_result(timeout_seconds=60) == 7
    )
    steps = DBOS.list_workflow_steps("caller")
    assert [s["function_name"] for s in steps] == ["DBOS.debounce"]
    assert steps[0]["output"] == target
