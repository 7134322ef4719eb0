"""Cancel stops a workflow at its next step boundary (or before a queued task starts); resume
continues it from its last completed step."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSNonExistentWorkflowError,
    DBOSWorkflowCancelledError,
    Queue,
    SetWorkflowID,
)

Launch = Callable[..., None]


def test_cancel_running_then_resume(launch: Launch) -> None:
    runs: Counter[str] = Counter()
    in_second = threading.Event()
    release = threading.Event()

    @DBOS.step()
    def first() -> str:
        runs["first"] += 1
        return "1"

    @DBOS.step()
    def second() -> str:
        runs["second"] += 1
        in_second.set()
        release.wait(10)
        return "2"

    @DBOS.step()
    def third() -> str:
        runs["third"] += 1
        return "3"

    @DBOS.workflow()
    def three() -> str:
        return first() + second() + third()

    launch()
    with SetWorkflowID("cancel-me"):
        handle = DBOS.start_workflow(three)
    assert in_second.wait(10)
    DBOS.cancel_workflow("cancel-me")
    release.set()
    with pytest.raises(DBOSWorkflowCancelledError):
        handle.get_result()
    assert handle.get_status().status == "CANCELLED"
    assert runs == Counter(first=1, second=1)  # stopped at the boundary after `second`

    resumed = DBOS.resume_workflow("cancel-me")
    assert resumed.get_result() == "123"
    assert runs == Counter(first=1, second=1, third=1)  # earlier steps were not run again
    assert DBOS.retrieve_workflow("cancel-me").get_status().status == "SUCCESS"


def test_cancelled_queued_task_never_runs_and_resume_starts_it(launch: Launch) -> None:
    queue = Queue("cancellable", concurrency=1, polling_interval_sec=0.02)
    gate = threading.Event()
    ran: list[str] = []

    @DBOS.workflow()
    def hold() -> None:
        gate.wait(10)

    @DBOS.workflow()
    def victim(tag: str) -> str:
        ran.append(tag)
        return tag

    launch()
    blocker = queue.enqueue(hold)
    waiting = queue.enqueue(victim, "queued")
    DBOS.cancel_workflow(waiting.workflow_id)
    gate.set()
    blocker.get_result()
    with pytest.raises(DBOSWorkflowCancelledError):
        waiting.get_result()
    assert ran == []

    assert DBOS.resume_workflow(waiting.workflow_id).get_result() == "queued"
    assert ran == ["queued"]


def test_cancel_and_resume_unknown_ids(launch: Launch) -> None:
    launch()
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.cancel_workflow("nope")
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.resume_workflow("nope")


def test_cancel_finished_workflow_changes_nothing(launch: Launch) -> None:
    @DBOS.workflow()
    def quick() -> int:
        return 7

    launch()
    with SetWorkflowID("finished"):
        assert quick() == 7
    DBOS.cancel_workflow("finished")
    assert DBOS.retrieve_workflow("finished").get_result() == 7
