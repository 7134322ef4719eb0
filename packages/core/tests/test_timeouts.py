"""SetWorkflowTimeout: past its deadline a workflow is cancelled, queued or running."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSWorkflowCancelledError,
    Queue,
    SetWorkflowID,
    SetWorkflowTimeout,
)

Launch = Callable[..., None]


def test_running_workflow_stops_at_the_step_after_its_deadline(launch: Launch) -> None:
    ran: list[int] = []

    @DBOS.step()
    def slow(index: int) -> None:
        ran.append(index)
        time.sleep(0.2)

    @DBOS.workflow()
    def many() -> None:
        for index in range(20):
            slow(index)

    launch()
    with SetWorkflowID("timed"), SetWorkflowTimeout(0.5):
        handle = DBOS.start_workflow(many)
    with pytest.raises(DBOSWorkflowCancelledError):
        handle.get_result()
    status = handle.get_status()
    assert status.status == "CANCELLED"
    assert status.workflow_deadline_epoch_ms is not None
    assert 2 <= len(ran) <= 4  # stopped at the first boundary past 0.5 s


def test_queued_task_that_waits_too_long_is_cancelled_without_running(launch: Launch) -> None:
    queue = Queue("slow-lane", concurrency=1, polling_interval_sec=0.05)
    gate = threading.Event()
    ran: list[str] = []

    @DBOS.workflow()
    def hold() -> None:
        gate.wait(10)

    @DBOS.workflow()
    def impatient() -> None:
        ran.append("impatient")

    launch()
    blocker = queue.enqueue(hold)
    with SetWorkflowTimeout(0.3):
        waiting = queue.enqueue(impatient)
    with pytest.raises(DBOSWorkflowCancelledError):
        waiting.get_result(timeout_seconds=10)
    gate.set()
    blocker.get_result()
    assert ran == []
    assert waiting.get_status().status == "CANCELLED"


def test_children_inherit_the_deadline_and_sleep_is_cut_short(launch: Launch) -> None:
    @DBOS.workflow()
    def child() -> None:
        DBOS.sleep(30)

    @DBOS.workflow()
    def parent() -> None:
        child()

    launch()
    started = time.monotonic()
    with SetWorkflowID("sleepy-parent"), SetWorkflowTimeout(0.5):
        handle = DBOS.start_workflow(parent)
    with pytest.raises(DBOSWorkflowCancelledError):
        handle.get_result()
    assert time.monotonic() - started < 10  # not the child's 30 s sleep
    parent_status = DBOS.get_workflow_status("sleepy-parent")
    child_status = DBOS.get_workflow_status("sleepy-parent-1")
    assert parent_status is not None and child_status is not None
    assert child_status.workflow_deadline_epoch_ms == parent_status.workflow_deadline_epoch_ms
    assert child_status.status == "CANCELLED"


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), "10"])
def test_bad_timeouts_are_refused(seconds: object) -> None:
    with pytest.raises(DBOSException, match="SetWorkflowTimeout"):
        SetWorkflowTimeout(seconds)  # type: ignore[arg-type]
