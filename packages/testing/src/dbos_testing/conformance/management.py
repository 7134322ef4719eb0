"""The management conformance suite: bulk cancel and requeue, fork, delete, retention, schema
verification and reset, tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.management import *  # noqa: F403
"""

from __future__ import annotations

import pytest

from dbos import (
    DBOSForkStepError,
    DBOSNonExistentWorkflowError,
    DBOSWorkflowConflictIDError,
    SystemStorage,
)
from dbos.storage import ForkRequest, WorkflowQuery, WorkflowStatusString

from .storage import finish, new_workflow, step

PENDING = WorkflowStatusString.PENDING.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value
SUCCESS = WorkflowStatusString.SUCCESS.value
ERROR = WorkflowStatusString.ERROR.value
CANCELLED = WorkflowStatusString.CANCELLED.value
EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value

__all__ = [
    "test_cancel_workflows_in_bulk",
    "test_requeue_workflows_makes_failed_ones_enqueued_again",
    "test_fork_copies_the_steps_before_start_step",
    "test_fork_from_step_zero_and_from_just_past_the_last_step",
    "test_fork_refuses_a_step_past_the_last_one",
    "test_fork_of_a_missing_workflow",
    "test_fork_refuses_a_taken_id",
    "test_fork_keeps_the_application_version_unless_given",
    "test_delete_workflows_removes_their_steps",
    "test_delete_older_than_keeps_unfinished_and_recent_workflows",
    "test_verify_schema_reports_nothing_pending_after_setup",
    "test_reset_drops_everything_and_setup_recreates_it",
]


def _fork(workflow_id: str, forked: str, start_step: int, **overrides: object) -> ForkRequest:
    fields: dict[str, object] = {
        "workflow_id": workflow_id,
        "forked_workflow_id": forked,
        "start_step": start_step,
        "queue_name": "forks",
        "application_version": None,
        "now_ms": 1_800_000_000_000,
        **overrides,
    }
    return ForkRequest(**fields)  # type: ignore[arg-type]


def _with_steps(storage: SystemStorage, workflow_id: str, count: int, **workflow: object) -> None:
    storage.create_workflow(new_workflow(workflow_id, **workflow))
    for function_id in range(count):
        storage.record_step(step(workflow_id, function_id))


def test_cancel_workflows_in_bulk(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("running"))
    dbos_storage.create_workflow(new_workflow("queued", status=ENQUEUED, queue_name="q"))
    dbos_storage.create_workflow(new_workflow("done"))
    dbos_storage.finish_workflow(finish("done"))
    statuses = dbos_storage.cancel_workflows(("running", "queued", "done", "ghost"), 5)
    assert statuses == {"running": CANCELLED, "queued": CANCELLED, "done": SUCCESS}
    row = dbos_storage.get_workflow("running")
    assert row is not None and (row.status, row.updated_at_ms) == (CANCELLED, 5)
    assert dbos_storage.cancel_workflows((), 5) == {}


def test_requeue_workflows_makes_failed_ones_enqueued_again(dbos_storage: SystemStorage) -> None:
    for workflow_id in ("failed", "cancelled", "exceeded", "running", "done"):
        _with_steps(
            dbos_storage,
            workflow_id,
            2,
            deadline_ms=10,
            queue_name="old",
            deduplication_id=f"d-{workflow_id}",
        )
    dbos_storage.finish_workflow(finish("failed", ERROR, None))
    dbos_storage.finish_workflow(finish("cancelled", CANCELLED, None))
    dbos_storage.finish_workflow(finish("exceeded", EXCEEDED, None))
    dbos_storage.finish_workflow(finish("done"))
    ids = ("failed", "cancelled", "exceeded", "running", "done", "ghost")
    requeued = dbos_storage.requeue_workflows(ids, "internal", 77)
    assert sorted(requeued) == ["cancelled", "exceeded", "failed"]
    for workflow_id in requeued:
        row = dbos_storage.get_workflow(workflow_id)
        assert row is not None
        assert (row.status, row.queue_name, row.executor_id) == (ENQUEUED, "internal", None)
        assert (row.output, row.error, row.deduplication_id, row.deadline_ms) == (
            None,
            None,
            None,
            None,
        )
        assert (row.recovery_attempts, row.application_version) == (1, "v1")
        assert len(dbos_storage.load_steps(workflow_id)) == 2  # history kept
    running = dbos_storage.get_workflow("running")
    assert running is not None and (running.status, running.queue_name) == (PENDING, "old")
    done = dbos_storage.get_workflow("done")
    assert done is not None and done.status == SUCCESS


def test_fork_copies_the_steps_before_start_step(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "original", 4, inputs='{"args":[7],"kwargs":{}}')
    dbos_storage.finish_workflow(finish("original", ERROR, None))
    before = dbos_storage.load_steps("original")
    row = dbos_storage.fork_workflow(_fork("original", "forked", 2))
    assert (row.workflow_id, row.status, row.name, row.inputs) == (
        "forked",
        ENQUEUED,
        "module.workflow",
        '{"args":[7],"kwargs":{}}',
    )
    assert (row.queue_name, row.executor_id, row.application_version) == ("forks", None, "v1")
    assert (row.created_at_ms, row.recovery_attempts, row.output, row.error) == (
        1_800_000_000_000,
        1,
        None,
        None,
    )
    assert dbos_storage.get_workflow("forked") == row
    copied = dbos_storage.load_steps("forked")
    assert [s.function_id for s in copied] == [0, 1]
    assert [(s.function_name, s.output) for s in copied] == [
        (s.function_name, s.output) for s in before[:2]
    ]
    # The original is untouched.
    assert dbos_storage.load_steps("original") == before
    original = dbos_storage.get_workflow("original")
    assert original is not None and original.status == ERROR


def test_fork_from_step_zero_and_from_just_past_the_last_step(
    dbos_storage: SystemStorage,
) -> None:
    _with_steps(dbos_storage, "original", 3)
    dbos_storage.fork_workflow(_fork("original", "from-0", 0))
    assert dbos_storage.load_steps("from-0") == []
    dbos_storage.fork_workflow(_fork("original", "from-3", 3))
    assert [s.function_id for s in dbos_storage.load_steps("from-3")] == [0, 1, 2]
    _with_steps(dbos_storage, "no-steps", 0)
    dbos_storage.fork_workflow(_fork("no-steps", "no-steps-fork", 0))
    assert dbos_storage.get_workflow("no-steps-fork") is not None


def test_fork_refuses_a_step_past_the_last_one(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "original", 3)
    with pytest.raises(DBOSForkStepError, match="from step 4") as caught:
        dbos_storage.fork_workflow(_fork("original", "forked", 4))
    assert (caught.value.start_step, caught.value.recorded_steps) == (4, 3)
    assert dbos_storage.get_workflow("forked") is None
    _with_steps(dbos_storage, "empty", 0)
    with pytest.raises(DBOSForkStepError):
        dbos_storage.fork_workflow(_fork("empty", "forked", 1))


def test_fork_of_a_missing_workflow(dbos_storage: SystemStorage) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.fork_workflow(_fork("ghost", "forked", 0))
    assert dbos_storage.get_workflow("forked") is None


def test_fork_refuses_a_taken_id(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "original", 2)
    _with_steps(dbos_storage, "taken", 1, name="other.workflow")
    with pytest.raises(DBOSWorkflowConflictIDError):
        dbos_storage.fork_workflow(_fork("original", "taken", 1))
    assert [s.function_id for s in dbos_storage.load_steps("taken")] == [0]
    taken = dbos_storage.get_workflow("taken")
    assert taken is not None and taken.name == "other.workflow"


def test_fork_keeps_the_application_version_unless_given(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "original", 1)
    row = dbos_storage.fork_workflow(_fork("original", "v2-fork", 1, application_version="v2"))
    assert row.application_version == "v2"


def test_delete_workflows_removes_their_steps(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "gone", 3)
    _with_steps(dbos_storage, "kept", 2)
    assert dbos_storage.delete_workflows(("gone", "ghost")) == ["gone"]
    assert dbos_storage.get_workflow("gone") is None
    assert dbos_storage.load_steps("gone") == []
    assert len(dbos_storage.load_steps("kept")) == 2
    # The ID can be used again: nothing of the deleted workflow is left behind.
    _with_steps(dbos_storage, "gone", 1)
    assert len(dbos_storage.load_steps("gone")) == 1


def test_delete_older_than_keeps_unfinished_and_recent_workflows(
    dbos_storage: SystemStorage,
) -> None:
    for index, status in enumerate((SUCCESS, ERROR, CANCELLED, EXCEEDED)):
        _with_steps(dbos_storage, f"old-{status}", 2, created_at_ms=100 + index)
        dbos_storage.finish_workflow(finish(f"old-{status}", status, None))
    _with_steps(dbos_storage, "old-pending", 1, created_at_ms=100)
    dbos_storage.create_workflow(
        new_workflow("old-enqueued", created_at_ms=100, status=ENQUEUED, queue_name="q")
    )
    _with_steps(dbos_storage, "new-done", 1, created_at_ms=1000)
    dbos_storage.finish_workflow(finish("new-done"))
    assert dbos_storage.delete_older_than(1000) == 4
    left = sorted(row.workflow_id for row in dbos_storage.list_workflows(WorkflowQuery()))
    assert left == ["new-done", "old-enqueued", "old-pending"]
    assert dbos_storage.load_steps("old-SUCCESS") == []
    assert dbos_storage.delete_older_than(1000) == 0


def test_verify_schema_reports_nothing_pending_after_setup(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.verify_schema() == []


def test_reset_drops_everything_and_setup_recreates_it(dbos_storage: SystemStorage) -> None:
    _with_steps(dbos_storage, "wf", 2)
    dbos_storage.reset_system_database()
    assert dbos_storage.verify_schema() != []  # every migration is pending again
    dbos_storage.setup()
    assert dbos_storage.verify_schema() == []
    assert dbos_storage.get_workflow("wf") is None
    _with_steps(dbos_storage, "wf", 1)
    assert len(dbos_storage.load_steps("wf")) == 1
