"""Stream writes, sends and events from inside a step are part of the step's outcome: only
the attempt that succeeds leaves its writes, committed with the step's checkpoint (ours; DBOS
Transact makes them at once, so every retried or crashed attempt repeats them)."""

from __future__ import annotations

import contextlib

import pytest

from dbos import DBOS, DBOSNonExistentWorkflowError, SetWorkflowID
from dbos_testing import CrashPlan, SimulatedCrash

ATTEMPTS: dict[str, int] = {}


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0.01)
def flaky_writer(key: str) -> str:
    DBOS.write_stream("out", "chunk")
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 3:
        raise RuntimeError(f"attempt {ATTEMPTS[key]} fails")
    DBOS.write_stream("out", "done")
    DBOS.close_stream("out")
    return "ok"


@DBOS.workflow()
def write_from_a_flaky_step(key: str) -> str:
    return flaky_writer(key)


@DBOS.step()
def writer() -> None:
    DBOS.write_stream("out", 1)
    DBOS.write_stream("out", 2)


@DBOS.step()
def failing_writer() -> None:
    DBOS.write_stream("out", "lost")
    raise ValueError("no")


@DBOS.workflow()
def write_then_crash() -> int:
    writer()
    with contextlib.suppress(ValueError):
        failing_writer()
    DBOS.write_stream("out", 3)
    return 3


def test_only_the_successful_attempt_leaves_its_stream_writes(dbos: type[DBOS]) -> None:
    ATTEMPTS.clear()
    with SetWorkflowID("flaky-1"):
        assert write_from_a_flaky_step("flaky-1") == "ok"
    assert ATTEMPTS["flaky-1"] == 3
    assert list(DBOS.read_stream("flaky-1", "out")) == ["chunk", "done"]


def test_a_step_that_crashes_after_writing_writes_once_after_recovery(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    # The body of step 0 ran and wrote, then the process "died" before its checkpoint.
    dbos_crash.before_checkpoint(1, workflow_id="crash-1")
    with SetWorkflowID("crash-1"), pytest.raises(SimulatedCrash):
        write_then_crash()
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == 3
    assert dbos_crash.ran("writer", "crash-1") == 2
    # A failed step's writes are dropped too: its outcome is the exception.
    assert list(DBOS.read_stream("crash-1", "out")) == [1, 2, 3]


@DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0.01)
def flaky_notifier(key: str, peer: str) -> None:
    DBOS.send(peer, f"attempt {ATTEMPTS.get(key, 0) + 1}", "t")
    DBOS.set_event("progress", ATTEMPTS.get(key, 0) + 1)
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 3:
        raise RuntimeError("not yet")


@DBOS.workflow()
def notify_from_a_flaky_step(key: str, peer: str) -> None:
    flaky_notifier(key, peer)


@DBOS.workflow()
def inbox(count: int) -> list[object]:
    return [DBOS.recv("t", timeout_seconds=0.5) for _ in range(count)]


@DBOS.step()
def send_to_nobody() -> str:
    try:
        DBOS.send("nobody", "hello")
    except DBOSNonExistentWorkflowError:
        return "no such workflow"
    return "sent"


@DBOS.workflow()
def send_to_nobody_workflow() -> str:
    return send_to_nobody()


def test_a_retried_step_sends_its_message_and_sets_its_event_once(dbos: type[DBOS]) -> None:
    ATTEMPTS.clear()
    receiver = DBOS.start_workflow(inbox, 2)
    notify_from_a_flaky_step("notify-1", receiver.workflow_id)
    assert ATTEMPTS["notify-1"] == 3
    assert receiver.get_result() == ["attempt 3", None]
    with SetWorkflowID("notify-2"):
        notify_from_a_flaky_step("notify-2", receiver.workflow_id)
    assert DBOS.get_event("notify-2", "progress", timeout_seconds=0) == 3


def test_a_send_from_a_step_to_a_missing_workflow_fails_in_the_step(dbos: type[DBOS]) -> None:
    assert send_to_nobody_workflow() == "no such workflow"
