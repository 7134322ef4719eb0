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
    SetEnqueueOptions,
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


def test_a_body_does_not_take_its_callers_options(launch: Launch) -> None:
    """DBOS Transact 3.4 semantics: the Set* options around a call apply to the workflow
    called, not to what its body starts; a child called directly inside the block inherits
    the parent's deadline and has no timeout of its own, and an enqueue in the body takes
    no priority from the caller's SetEnqueueOptions."""
    queue = Queue("body-options", priority_enabled=True)

    @DBOS.workflow()
    def task() -> None:
        pass

    @DBOS.workflow()
    def child() -> str:
        return DBOS.workflow_id or ""

    @DBOS.workflow()
    def parent() -> str:
        queue.enqueue(task).get_result()
        return child()

    launch()
    with SetWorkflowID("options-parent"), SetWorkflowTimeout(30), SetEnqueueOptions(priority=7):
        child_id = parent()
    parent_status = DBOS.get_workflow_status("options-parent")
    child_status = DBOS.get_workflow_status(child_id)
    assert parent_status is not None and child_status is not None
    assert parent_status.workflow_timeout_ms == 30_000
    assert child_status.workflow_timeout_ms is None
    assert child_status.workflow_deadline_epoch_ms == parent_status.workflow_deadline_epoch_ms
    (task_status,) = [s for s in DBOS.list_workflows(name=task.__qualname__)]
    assert task_status.priority == 0
    assert task_status.workflow_deadline_epoch_ms == parent_status.workflow_deadline_epoch_ms


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), "10"])
def test_bad_timeouts_are_refused(seconds: object) -> None:
    with pytest.raises(DBOSException, match="SetWorkflowTimeout"):
        SetWorkflowTimeout(seconds)  # type: ignore[arg-type]


def test_set_workflow_timeout_none_frees_a_child_from_its_parents_deadline(
    launch: Launch,
) -> None:
    """DBOS Transact 3.4: under ``SetWorkflowTimeout(None)`` a child has no timeout and does
    not inherit its parent's deadline; without it, it does."""

    @DBOS.workflow()
    def leaf() -> str:
        return "leaf"

    @DBOS.workflow()
    def parent_of_two() -> tuple[str, str]:
        with SetWorkflowID("inherits"):
            DBOS.start_workflow(leaf).get_result()
        with SetWorkflowID("free"), SetWorkflowTimeout(None):
            DBOS.start_workflow(leaf).get_result()
        with SetWorkflowID("free-queued"), SetWorkflowTimeout(None):
            Queue("free-lane").enqueue(leaf).get_result()
        return ("done", "done")

    launch()
    with SetWorkflowID("timed-parent"), SetWorkflowTimeout(60):
        parent_of_two()
    parent = DBOS.get_workflow_status("timed-parent")
    inherits = DBOS.get_workflow_status("inherits")
    free = DBOS.get_workflow_status("free")
    free_queued = DBOS.get_workflow_status("free-queued")
    assert parent is not None and parent.workflow_deadline_epoch_ms is not None
    assert inherits is not None
    assert inherits.workflow_deadline_epoch_ms == parent.workflow_deadline_epoch_ms
    for status in (free, free_queued):
        assert status is not None and status.status == "SUCCESS"
        assert status.workflow_deadline_epoch_ms is None
        assert status.workflow_timeout_ms is None


def test_set_workflow_timeout_takes_dbos_names_and_ours() -> None:
    assert SetWorkflowTimeout(workflow_timeout_sec=2.5).seconds == 2.5
    assert SetWorkflowTimeout(seconds=3).seconds == 3.0  # the keyword of an earlier release
    assert SetWorkflowTimeout(None).seconds is None
    with pytest.raises(DBOSException, match="both workflow_timeout_sec and seconds"):
        SetWorkflowTimeout(1, seconds=2)
    with pytest.raises(DBOSException, match="needs workflow_timeout_sec"):
        SetWorkflowTimeout()
    with pytest.raises(DBOSException, match="> 0"):
        SetWorkflowTimeout(0)
