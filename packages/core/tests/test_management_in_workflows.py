"""Management calls made from a workflow body are recorded operations of that workflow, with
DBOS Transact 3.4's step names (``DBOS.getStatus``, ``DBOS.forkWorkflow``, ...): a replay
(recovery, fork of the caller) gets the recorded result, or the recorded error, and does not
act again. Outside a workflow, from a step and from a `DBOSClient`, nothing is recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSNonExistentWorkflowError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
    WorkflowSerializationFormat,
)
from dbos_client import DBOSClient
from dbos_testing import CrashPlan, SimulatedCrash

Launch = Callable[..., None]

RUNS: dict[str, int] = {}
queue = Queue("mgmt_test_queue")


@DBOS.step(name="mgmt_test.mark")
def mark() -> None:
    pass


@DBOS.workflow(name="mgmt_test.target")
def target(key: str) -> str:
    RUNS[key] = RUNS.get(key, 0) + 1
    mark()
    return key


@DBOS.step(name="mgmt_test.explode")
def explode() -> None:
    raise ValueError("boom")


@DBOS.workflow(name="mgmt_test.failing")
def failing() -> None:
    explode()


@DBOS.workflow(name="mgmt_test.every_call")
def every_call(done: str, other: str, gone: str) -> list[Any]:
    status = DBOS.get_workflow_status(done)
    listed = DBOS.list_workflows(workflow_ids=[done, other])
    queued = DBOS.list_queued_workflows(queue_name=queue.name)
    steps = DBOS.list_workflow_steps(done)
    DBOS.cancel_workflow(other)
    DBOS.cancel_workflows([other])
    DBOS.resume_workflow(other).get_result()
    DBOS.resume_workflows([other])
    delayed = DBOS.set_workflow_delay(done, delay_seconds=5)
    DBOS.retrieve_workflow(done)
    fork = DBOS.fork_workflow(done, 1)
    fork.get_result()  # finished before it is deleted
    DBOS.delete_workflow(gone)
    DBOS.delete_workflows([fork.workflow_id])
    DBOS.rewind_workflow(other).get_result()
    assert status is not None
    return [status.status, len(listed), len(queued), len(steps), delayed]


EVERY_CALL_STEPS = [
    "DBOS.getStatus",
    "DBOS.listWorkflows",
    "DBOS.listQueuedWorkflows",
    "DBOS.listWorkflowSteps",
    "DBOS.cancelWorkflow",
    "DBOS.cancelWorkflow",
    "DBOS.resumeWorkflow",
    "DBOS.getResult",
    "DBOS.resumeWorkflow",
    "DBOS.setWorkflowDelay",
    "DBOS.getStatus",
    "DBOS.forkWorkflow",
    "DBOS.getStatus",
    "DBOS.getResult",
    "DBOS.deleteWorkflow",
    "DBOS.deleteWorkflow",
    "DBOS.rewindWorkflow",
    "DBOS.getResult",
]


def step_names(workflow_id: str) -> list[str]:
    return [step["function_name"] for step in DBOS.list_workflow_steps(workflow_id)]


def forks_of(workflow_id: str) -> list[str]:
    return [status.workflow_id for status in DBOS.list_workflows(forked_from=workflow_id)]


def run_target(workflow_id: str) -> None:
    with SetWorkflowID(workflow_id):
        target(workflow_id)


def test_each_call_is_a_recorded_step_with_its_3_4_name(launch: Launch) -> None:
    launch()
    for workflow_id in ("done", "other", "gone"):
        run_target(workflow_id)
    with SetWorkflowID("every"):
        assert every_call("done", "other", "gone") == ["SUCCESS", 2, 0, 1, False]
    assert step_names("every") == EVERY_CALL_STEPS
    assert DBOS.get_workflow_status("gone") is None
    assert forks_of("done") == []  # the fork was made, then deleted by the same workflow
    # A replay (a fork of the caller past every call) acts again on nothing: "gone" exists
    # again, and stays; "other" is not rewound again.
    run_target("gone")
    runs = RUNS["other"]
    replay = DBOS.fork_workflow("every", len(EVERY_CALL_STEPS) + 1)
    assert replay.get_result() == ["SUCCESS", 2, 0, 1, False]
    assert DBOS.get_workflow_status("gone") is not None
    assert RUNS["other"] == runs
    assert forks_of("done") == []


@DBOS.step(name="mgmt_test.list_in_a_step")
def list_in_a_step(workflow_id: str) -> int:
    return len(DBOS.list_workflows(workflow_ids=[workflow_id]))


@DBOS.workflow(name="mgmt_test.in_a_step")
def in_a_step(workflow_id: str) -> int:
    return list_in_a_step(workflow_id)


CLIENT_URL: list[str] = []


@DBOS.workflow(name="mgmt_test.with_a_client")
def with_a_client(workflow_id: str) -> int:
    with DBOSClient(CLIENT_URL[0]) as client:
        client.cancel_workflow(workflow_id)
        return len(client.list_workflows(workflow_ids=[workflow_id]))


def test_nothing_is_recorded_outside_a_workflow_body(
    launch: Launch, dbos_system_database_url: str
) -> None:
    launch()
    run_target("plain")
    # Outside a workflow each call acts each time: two forks.
    first, second = DBOS.fork_workflow("plain", 1), DBOS.fork_workflow("plain", 1)
    assert first.workflow_id != second.workflow_id
    assert sorted(forks_of("plain")) == sorted([first.workflow_id, second.workflow_id])
    # From a step: only the step is recorded.
    with SetWorkflowID("stepped"):
        assert in_a_step("plain") == 1
    assert step_names("stepped") == ["mgmt_test.list_in_a_step"]
    # A client records nothing, even when user code calls it from a workflow body.
    CLIENT_URL[:] = [dbos_system_database_url]
    with SetWorkflowID("client-caller"):
        assert with_a_client("plain") == 1
    assert step_names("client-caller") == []


@DBOS.workflow(name="mgmt_test.forker")
def forker(workflow_id: str) -> str:
    fork = DBOS.fork_workflow(workflow_id, 1)
    mark()
    return fork.workflow_id


def test_a_fork_is_made_once_however_the_caller_replays(
    launch: Launch, dbos_crash: CrashPlan
) -> None:
    launch()
    run_target("original")
    with SetWorkflowID("forker-1"):
        made = forker("original")
    assert forks_of("original") == [made]
    assert step_names("forker-1") == ["DBOS.forkWorkflow", "DBOS.getStatus", "mgmt_test.mark"]
    # Forking the caller past the fork: the same fork ID, no new fork.
    assert DBOS.fork_workflow("forker-1", 3).get_result() == made
    assert forks_of("original") == [made]
    # Recovering a caller that died right after recording its fork: no second fork.
    dbos_crash.after_checkpoint(1, workflow_id="forker-2")
    with SetWorkflowID("forker-2"), pytest.raises(SimulatedCrash):
        forker("original")
    (second,) = [fork for fork in forks_of("original") if fork != made]
    assert recover("forker-2") == second
    assert sorted(forks_of("original")) == sorted([made, second])


@DBOS.workflow(name="mgmt_test.deleter")
def deleter(workflow_id: str) -> None:
    DBOS.delete_workflow(workflow_id)
    mark()


def recover(workflow_id: str) -> Any:
    (handle,) = [h for h in DBOS.recover_pending_workflows() if h.workflow_id == workflow_id]
    return handle.get_result()


def test_a_recovered_delete_does_not_delete_again(launch: Launch, dbos_crash: CrashPlan) -> None:
    launch()
    run_target("victim")
    dbos_crash.after_checkpoint(1, workflow_id="deleter-1")
    with SetWorkflowID("deleter-1"), pytest.raises(SimulatedCrash):
        deleter("victim")
    assert DBOS.get_workflow_status("victim") is None
    run_target("victim")  # started again under its ID since
    recover("deleter-1")
    assert DBOS.get_workflow_status("victim") is not None
    assert step_names("deleter-1") == ["DBOS.deleteWorkflow", "mgmt_test.mark"]


@DBOS.workflow(name="mgmt_test.error_taker")
def error_taker(workflow_id: str) -> str:
    try:
        DBOS.fork_workflow(workflow_id, 1)
    except DBOSNonExistentWorkflowError as exc:
        outcome = f"refused: {type(exc).__name__}"
    else:
        outcome = "forked"
    mark()
    return outcome


def test_an_error_is_recorded_and_raised_again_on_replay(launch: Launch) -> None:
    launch()
    with SetWorkflowID("erring"):
        assert error_taker("not-yet") == "refused: DBOSNonExistentWorkflowError"
    (recorded, _) = DBOS.list_workflow_steps("erring")
    assert recorded["function_name"] == "DBOS.forkWorkflow"
    assert isinstance(recorded["error"], DBOSNonExistentWorkflowError)
    run_target("not-yet")  # the fork would succeed now; the replay does not try again
    replay = DBOS.fork_workflow("erring", 2)
    assert replay.get_result() == "refused: DBOSNonExistentWorkflowError"
    assert forks_of("not-yet") == []


def _lister_body(done: str) -> list[Any]:
    status = DBOS.get_workflow_status(done)
    listed = DBOS.list_workflows(name="mgmt_test.failing")
    steps = DBOS.list_workflow_steps(done)
    mark()
    assert status is not None
    return [
        status.status,
        type(status.error).__name__,
        str(status.error),
        sorted(listed_status.workflow_id for listed_status in listed),
        [step["function_name"] for step in steps],
        [str(step["error"]) for step in steps],
    ]


@DBOS.workflow(name="mgmt_test.lister")
def lister(done: str) -> list[Any]:
    return _lister_body(done)


@DBOS.workflow(
    name="mgmt_test.portable_lister", serialization_type=WorkflowSerializationFormat.PORTABLE
)
def portable_lister(done: str) -> list[Any]:
    return _lister_body(done)


@pytest.mark.parametrize("mode", ["default", "strict", "portable"])
def test_statuses_and_steps_replay_equal(launch: Launch, mode: str) -> None:
    launch(**({"strict_serialization": True} if mode == "strict" else {}))
    with SetWorkflowID("failed-1"), pytest.raises(ValueError, match="boom"):
        failing()
    workflow = portable_lister if mode == "portable" else lister
    with SetWorkflowID("lister-1"):
        first = workflow("failed-1")
    assert first[0] == "ERROR" and "boom" in first[2]
    assert first[3:5] == [["failed-1"], ["mgmt_test.explode"]]
    # A new failed workflow would change the listing: the replay returns what was recorded.
    with SetWorkflowID("failed-2"), pytest.raises(ValueError):
        failing()
    assert DBOS.fork_workflow("lister-1", 4).get_result() == first


@DBOS.workflow(name="mgmt_test.delayer")
def delayer(workflow_id: str) -> bool:
    changed = DBOS.set_workflow_delay(workflow_id, delay_seconds=7200)
    mark()
    return changed


def test_a_replayed_delay_change_keeps_later_changes(launch: Launch) -> None:
    launch()
    with SetEnqueueOptions(delay_seconds=3600), SetWorkflowID("delayed"):
        queue.enqueue(target, "delayed")
    with SetWorkflowID("delayer-1"):
        assert delayer("delayed") is True
    DBOS.set_workflow_delay("delayed", delay_until_epoch_ms=4_000_000_000_000)
    assert DBOS.fork_workflow("delayer-1", 2).get_result() is True
    status = DBOS.get_workflow_status("delayed")
    assert status is not None and status.delay_until_epoch_ms == 4_000_000_000_000
    DBOS.cancel_workflow("delayed")


@DBOS.workflow(name="mgmt_test.async_caller")
async def async_caller(done: str) -> list[Any]:
    status = await DBOS.get_workflow_status_async(done)
    listed = await DBOS.list_workflows_async(workflow_ids=[done])
    await DBOS.list_queued_workflows_async(queue_name=queue.name)
    steps = await DBOS.list_workflow_steps_async(done)
    await DBOS.cancel_workflows_async([done])
    await DBOS.resume_workflows_async([done])
    await DBOS.set_workflow_delay_async(done, delay_seconds=1)
    await DBOS.retrieve_workflow_async(done)
    fork = await DBOS.fork_workflow_async(done, 1)
    await fork.get_result()
    await DBOS.delete_workflow_async(fork.workflow_id)
    await DBOS.rewind_workflow_async(done)
    assert status is not None
    return [status.status, len(listed), len(steps)]


def test_the_async_forms_are_recorded_too(launch: Launch) -> None:
    launch()
    run_target("async-done")
    with SetWorkflowID("async-1"):
        assert asyncio.run(async_caller("async-done")) == ["SUCCESS", 1, 1]
    assert step_names("async-1") == [
        "DBOS.getStatus",
        "DBOS.listWorkflows",
        "DBOS.listQueuedWorkflows",
        "DBOS.listWorkflowSteps",
        "DBOS.cancelWorkflow",
        "DBOS.resumeWorkflow",
        "DBOS.setWorkflowDelay",
        "DBOS.getStatus",
        "DBOS.forkWorkflow",
        "DBOS.getStatus",
        "DBOS.getResult",
        "DBOS.deleteWorkflow",
        "DBOS.rewindWorkflow",
    ]
    DBOS.retrieve_workflow("async-done").get_result()
    runs = RUNS["async-done"]
    assert DBOS.fork_workflow("async-1", 14).get_result() == ["SUCCESS", 1, 1]
    assert RUNS["async-done"] == runs
    assert forks_of("async-done") == []


@DBOS.workflow(name="mgmt_test.handle_reader")
def handle_reader(workflow_id: str) -> str:
    status = DBOS.retrieve_workflow(workflow_id, existing_workflow=False).get_status()
    mark()
    return status.status


@DBOS.workflow(name="mgmt_test.async_handle_reader")
async def async_handle_reader(workflow_id: str) -> str:
    handle = await DBOS.retrieve_workflow_async(workflow_id, existing_workflow=False)
    status = await handle.get_status()
    mark()
    return status.status


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_handles_status_read_is_recorded(launch: Launch, kind: str) -> None:
    # As 3.4's handles of the app read it through DBOS.get_workflow_status.
    launch()
    with SetEnqueueOptions(delay_seconds=3600), SetWorkflowID(f"later-{kind}"):
        queue.enqueue(target, "later")
    with SetWorkflowID(f"reader-{kind}"):
        if kind == "sync":
            assert handle_reader(f"later-{kind}") == "ENQUEUED"
        else:
            assert asyncio.run(async_handle_reader(f"later-{kind}")) == "ENQUEUED"
    assert step_names(f"reader-{kind}") == ["DBOS.getStatus", "mgmt_test.mark"]
    DBOS.cancel_workflow(f"later-{kind}")
    assert DBOS.fork_workflow(f"reader-{kind}", 2).get_result() == "ENQUEUED"
