"""The time-moving conformance suite: `rewind_workflow` and `set_workflow_delay`, tested
through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.timeops import *  # noqa: F403
"""

from __future__ import annotations

import pytest

from dbos import SystemStorage
from dbos.storage import (
    EventRecord,
    Lease,
    Message,
    QueueSpec,
    RecvRequest,
    RewindRequest,
    StreamWrite,
    WorkflowStatusString,
)

from .queues import claim, task
from .storage import finish, new_workflow, step

PENDING = WorkflowStatusString.PENDING.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value
SUCCESS = WorkflowStatusString.SUCCESS.value
ERROR = WorkflowStatusString.ERROR.value
CANCELLED = WorkflowStatusString.CANCELLED.value

__all__ = [
    "test_rewind_drops_the_steps_from_the_start_step_and_enqueues_the_workflow",
    "test_rewind_restores_events_and_reopens_streams_as_of_the_start_step",
    "test_rewind_deletes_waiting_messages_and_those_consumed_from_the_start_step",
    "test_rewind_refuses_active_workflows_and_changes_nothing",
    "test_rewind_waits_for_a_cancelled_execution_to_stop",
    "test_requeue_leaves_no_owner_behind",
    "test_rewind_of_a_missing_workflow_returns_none",
    "test_rewind_from_step_zero_and_onto_another_queue_and_version",
    "test_set_workflow_delay_changes_only_delayed_workflows",
]


def _rewind(workflow_id: str, start_step: int, **overrides: object) -> RewindRequest:
    fields: dict[str, object] = {
        "workflow_id": workflow_id,
        "start_step": start_step,
        "queue_name": "_dbos_internal_queue",
        "queue_partition_key": None,
        "application_version": None,
        "now_ms": 1_700_000_009_000,
    }
    fields.update(overrides)
    return RewindRequest(**fields)  # type: ignore[arg-type]


def _finished(storage: SystemStorage, workflow_id: str, steps: int, status: str = SUCCESS) -> None:
    storage.create_workflow(new_workflow(workflow_id))
    for function_id in range(steps):
        storage.record_step(step(workflow_id, function_id))
    storage.finish_workflow(finish(workflow_id, status))


def _refinish(storage: SystemStorage, workflow_id: str) -> None:
    """Run a rewound (ENQUEUED) workflow to SUCCESS again, as a worker would."""
    resumed = storage.resume_workflow(workflow_id, "executor-a", "v1", 1_700_000_010_000)
    assert resumed is not None and resumed.resumed
    storage.finish_workflow(finish(workflow_id))


def _values(storage: SystemStorage, workflow_id: str, key: str) -> list[str | None]:
    return [entry.value for entry in storage.read_stream(workflow_id, key, 0).entries]


def test_rewind_drops_the_steps_from_the_start_step_and_enqueues_the_workflow(
    dbos_storage: SystemStorage,
) -> None:
    _finished(dbos_storage, "wf", 4, ERROR)
    assert dbos_storage.rewind_workflow(_rewind("wf", 2)) == (ERROR, True)
    assert [s.function_id for s in dbos_storage.load_steps("wf")] == [0, 1]
    row = dbos_storage.get_workflow("wf")
    assert row is not None
    assert (row.status, row.queue_name, row.output, row.error) == (
        ENQUEUED,
        "_dbos_internal_queue",
        None,
        None,
    )
    assert (row.owner_instance, row.started_at_ms, row.completed_at_ms) == (None, None, None)
    assert (row.name, row.inputs, row.application_version) == (
        "module.workflow",
        '{"args":[1],"kwargs":{}}',
        "v1",
    )
    # A rewind past the last step keeps every step (and still enqueues it again).
    _refinish(dbos_storage, "wf")
    assert dbos_storage.rewind_workflow(_rewind("wf", 9)) == (SUCCESS, True)
    assert [s.function_id for s in dbos_storage.load_steps("wf")] == [0, 1]


def test_rewind_restores_events_and_reopens_streams_as_of_the_start_step(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    dbos_storage.set_event(EventRecord("wf", "status", '"priced"', 1), step("wf", 0))
    dbos_storage.write_stream(StreamWrite("wf", "s", '"a"', 2), step("wf", 1))
    dbos_storage.record_step(
        step("wf", 2),
        (StreamWrite("wf", "s", '"b"', 3), EventRecord("wf", "status", '"packed"', 3)),
    )
    dbos_storage.set_event(EventRecord("wf", "late", '"x"', 4), step("wf", 3))
    dbos_storage.write_stream(StreamWrite("wf", "s", None, 5), step("wf", 4))
    dbos_storage.finish_workflow(finish("wf"))
    assert dbos_storage.rewind_workflow(_rewind("wf", 2)) == (SUCCESS, True)
    # Each event as the operations before the cut left it; "late" was set after it only.
    assert dbos_storage.get_event("wf", "status") == '"priced"'
    assert dbos_storage.get_event("wf", "late") is None
    # Entries stay (DBOS Transact 3.4); the close marker goes, so the new run writes on.
    assert _values(dbos_storage, "wf", "s") == ['"a"', '"b"']
    dbos_storage.write_stream(StreamWrite("wf", "s", '"c"', 6), step("wf", 2))
    assert _values(dbos_storage, "wf", "s") == ['"a"', '"b"', '"c"']
    # The event history is cut too: a second rewind to step 1 finds "priced" still.
    _refinish(dbos_storage, "wf")
    assert dbos_storage.rewind_workflow(_rewind("wf", 1)) == (SUCCESS, True)
    assert dbos_storage.get_event("wf", "status") == '"priced"'
    _refinish(dbos_storage, "wf")
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (SUCCESS, True)
    assert dbos_storage.get_event("wf", "status") is None


def test_rewind_deletes_waiting_messages_and_those_consumed_from_the_start_step(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    dbos_storage.create_workflow(new_workflow("other"))
    for number in range(3):
        dbos_storage.send(Message(f"m{number}", "wf", "t", f'"m{number}"', number))
    dbos_storage.send(Message("o", "other", "t", '"o"', 9))
    first = dbos_storage.recv(RecvRequest("wf", 0, "DBOS.recv", "t", 10))
    second = dbos_storage.recv(RecvRequest("wf", 1, "DBOS.recv", "t", 11))
    assert (first and first.output, second and second.output) == ('"m0"', '"m1"')
    dbos_storage.finish_workflow(finish("wf"))
    assert dbos_storage.rewind_workflow(_rewind("wf", 1)) == (SUCCESS, True)
    # m0 stays consumed (step 0 is kept); m1 went with step 1, m2 (never consumed) is gone.
    assert [s.output for s in dbos_storage.load_steps("wf")] == ['"m0"']
    assert dbos_storage.recv(RecvRequest("wf", 1, "DBOS.recv", "t", 12)) is None
    # Another workflow's messages are not touched.
    kept = dbos_storage.recv(RecvRequest("other", 0, "DBOS.recv", "t", 13))
    assert kept is not None and kept.output == '"o"'


@pytest.mark.parametrize("status", [PENDING, ENQUEUED])
def test_rewind_refuses_active_workflows_and_changes_nothing(
    dbos_storage: SystemStorage, status: str
) -> None:
    dbos_storage.create_workflow(new_workflow("wf", queue_name="q", status=status))
    dbos_storage.record_step(step("wf", 0))
    dbos_storage.set_event(EventRecord("wf", "k", '"v"', 1), step("wf", 1))
    dbos_storage.send(Message("m", "wf", "t", '"m"', 2))
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (status, False)
    row = dbos_storage.get_workflow("wf")
    assert row is not None and (row.status, row.queue_name) == (status, "q")
    assert len(dbos_storage.load_steps("wf")) == 2
    assert dbos_storage.get_event("wf", "k") == '"v"'
    assert dbos_storage.recv(RecvRequest("wf", 2, "DBOS.recv", "t", 3)) is not None


def test_rewind_waits_for_a_cancelled_execution_to_stop(dbos_storage: SystemStorage) -> None:
    """A cancelled workflow's execution runs on to its next step boundary: while its owner
    holds its lease and has not released the row, a rewind changes nothing."""
    dbos_storage.renew_lease(Lease("live", "executor-a", "v1", 600_000))
    dbos_storage.create_workflow(new_workflow("wf", owner_instance="live"))
    dbos_storage.record_step(step("wf", 0))
    dbos_storage.cancel_workflow("wf", 1_700_000_001_000)
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (CANCELLED, False)
    assert len(dbos_storage.load_steps("wf")) == 1
    # Another instance's release changes nothing; the owner's does.
    dbos_storage.release_cancelled("wf", "someone-else")
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (CANCELLED, False)
    dbos_storage.release_cancelled("wf", "live")
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (CANCELLED, True)
    assert dbos_storage.load_steps("wf") == []
    # An owner whose lease is gone runs nothing any more: its cancelled rows can be rewound.
    dbos_storage.create_workflow(new_workflow("orphan", owner_instance="dead"))
    dbos_storage.cancel_workflow("orphan", 1_700_000_001_000)
    assert dbos_storage.rewind_workflow(_rewind("orphan", 0)) == (CANCELLED, True)
    # A finished row is never released (its owner finished it, so nothing runs).
    dbos_storage.create_workflow(new_workflow("done", owner_instance="live"))
    dbos_storage.finish_workflow(finish("done"))
    assert dbos_storage.rewind_workflow(_rewind("done", 0)) == (SUCCESS, True)


def test_requeue_leaves_no_owner_behind(dbos_storage: SystemStorage) -> None:
    """A requeued (ENQUEUED) row has no owner, so cancelling it before any claim leaves a
    row a rewind can take at once."""
    dbos_storage.renew_lease(Lease("live", "executor-a", "v1", 600_000))
    dbos_storage.create_workflow(new_workflow("wf", owner_instance="live"))
    dbos_storage.finish_workflow(finish("wf", ERROR))
    assert dbos_storage.requeue_workflows(("wf",), "q", 1_700_000_002_000) == ["wf"]
    row = dbos_storage.get_workflow("wf")
    assert row is not None and (row.status, row.owner_instance) == (ENQUEUED, None)
    dbos_storage.cancel_workflow("wf", 1_700_000_003_000)
    assert dbos_storage.rewind_workflow(_rewind("wf", 0)) == (CANCELLED, True)


def test_rewind_of_a_missing_workflow_returns_none(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.rewind_workflow(_rewind("nobody", 0)) is None


def test_rewind_from_step_zero_and_onto_another_queue_and_version(
    dbos_storage: SystemStorage,
) -> None:
    _finished(dbos_storage, "wf", 3, CANCELLED)
    request = _rewind(
        "wf", 0, queue_name="other", queue_partition_key="p", application_version="v2"
    )
    assert dbos_storage.rewind_workflow(request) == (CANCELLED, True)
    assert dbos_storage.load_steps("wf") == []
    row = dbos_storage.get_workflow("wf")
    assert row is not None
    assert (row.status, row.queue_name, row.queue_partition_key, row.application_version) == (
        ENQUEUED,
        "other",
        "p",
        "v2",
    )
    assert row.updated_at_ms == 1_700_000_009_000


def test_set_workflow_delay_changes_only_delayed_workflows(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(task("later", delay_until_ms=60_000))
    dbos_storage.create_workflow(task("sooner", delay_until_ms=60_000))
    dbos_storage.create_workflow(task("queued"))
    dbos_storage.create_workflow(task("due", delay_until_ms=5_000))
    dbos_storage.create_workflow(new_workflow("running"))
    assert dbos_storage.set_workflow_delay("later", 90_000, 10_000)
    assert dbos_storage.set_workflow_delay("sooner", 0, 10_000)  # a past time: start now
    # Only delayed workflows (DBOS Transact 3.4's DELAYED): not a queued one with no delay or
    # a due delay, not a running one, not a missing one.
    for workflow_id in ("queued", "due", "running", "nobody"):
        assert not dbos_storage.set_workflow_delay(workflow_id, 90_000, 10_000)
    # "sooner" is due now and no longer delayed: it keeps its time.
    assert not dbos_storage.set_workflow_delay("sooner", 90_000, 10_000)
    spec = QueueSpec("q")
    assert sorted(claim(dbos_storage, spec, now_ms=10_000)) == ["due", "queued", "sooner"]
    assert claim(dbos_storage, spec, now_ms=60_000) == []
    assert claim(dbos_storage, spec, now_ms=90_000) == ["later"]
