"""The management conformance suite: bulk cancel and requeue, fork, delete, retention, schema
verification and reset, tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.management import *  # noqa: F403
"""

from __future__ import annotations

import pytest

from dbos import (
    DBOSNonExistentWorkflowError,
    DBOSWorkflowConflictIDError,
    SystemStorage,
)
from dbos.storage import (
    EventRecord,
    ForkRequest,
    StreamEntry,
    StreamWrite,
    WorkflowQuery,
    WorkflowStatusString,
)

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
    "test_fork_from_a_step_past_the_last_one_copies_every_step",
    "test_fork_of_a_missing_workflow",
    "test_fork_refuses_a_taken_id",
    "test_fork_keeps_the_application_version_unless_given",
    "test_fork_copies_events_and_streams_as_they_stood_at_the_fork_point",
    "test_fork_copies_writes_without_an_operation_only_with_every_operation",
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


def test_fork_from_a_step_past_the_last_one_copies_every_step(
    dbos_storage: SystemStorage,
) -> None:
    # As in DBOS Transact: the fork replays everything recorded, and runs on from there.
    _with_steps(dbos_storage, "original", 3)
    dbos_storage.fork_workflow(_fork("original", "forked", 7))
    assert [s.function_id for s in dbos_storage.load_steps("forked")] == [0, 1, 2]
    _with_steps(dbos_storage, "empty", 0)
    dbos_storage.fork_workflow(_fork("empty", "empty-fork", 1))
    assert dbos_storage.load_steps("empty-fork") == []
    assert dbos_storage.get_workflow("empty-fork") is not None


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


def _values(storage: SystemStorage, workflow_id: str, key: str) -> list[str | None]:
    entries = storage.read_stream(workflow_id, key, 0).entries
    assert [entry.offset for entry in entries] == list(range(len(entries)))
    return [entry.value for entry in entries]


def test_fork_copies_events_and_streams_as_they_stood_at_the_fork_point(
    dbos_storage: SystemStorage,
) -> None:
    """Events and stream entries written by an operation below `start_step` (by the
    operation itself, or from inside a step with its checkpoint) are the fork's own."""
    dbos_storage.create_workflow(new_workflow("original"))
    dbos_storage.record_step(step("original", 0))
    dbos_storage.set_event(EventRecord("original", "status", '"priced"', 1), step("original", 1))
    dbos_storage.write_stream(StreamWrite("original", "s", '"a"', 2), step("original", 2))
    dbos_storage.record_step(
        step("original", 3),
        (
            StreamWrite("original", "s", '"b"', 3),
            EventRecord("original", "status", '"packed"', 3),
            EventRecord("original", "other", '"x"', 3),
            StreamWrite("original", "t", '"t0"', 3),
        ),
    )
    dbos_storage.set_event(EventRecord("original", "status", '"shipped"', 4), step("original", 4))
    dbos_storage.write_stream(StreamWrite("original", "s", None, 5), step("original", 5))
    expected: dict[int, tuple[dict[str, str | None], dict[str, list[str | None]]]] = {
        0: ({"status": None, "other": None}, {"s": [], "t": []}),
        2: ({"status": '"priced"', "other": None}, {"s": [], "t": []}),
        3: ({"status": '"priced"', "other": None}, {"s": ['"a"'], "t": []}),
        4: ({"status": '"packed"', "other": '"x"'}, {"s": ['"a"', '"b"'], "t": ['"t0"']}),
        5: ({"status": '"shipped"', "other": '"x"'}, {"s": ['"a"', '"b"'], "t": ['"t0"']}),
        6: ({"status": '"shipped"', "other": '"x"'}, {"s": ['"a"', '"b"', None], "t": ['"t0"']}),
    }
    for start_step, (events, streams) in expected.items():
        forked = f"fork-{start_step}"
        dbos_storage.fork_workflow(_fork("original", forked, start_step))
        assert {key: dbos_storage.get_event(forked, key) for key in events} == events
        assert {key: _values(dbos_storage, forked, key) for key in streams} == streams
    # A fork of a fork sees the same history, and its own writes continue its streams.
    dbos_storage.fork_workflow(_fork("fork-4", "fork-4-3", 3))
    assert dbos_storage.get_event("fork-4-3", "status") == '"priced"'
    assert _values(dbos_storage, "fork-4-3", "s") == ['"a"']
    dbos_storage.write_stream(StreamWrite("fork-4", "s", '"c"', 6), step("fork-4", 4))
    assert dbos_storage.read_stream("fork-4", "s", 2).entries == (StreamEntry(2, '"c"'),)
    # The original is untouched.
    assert dbos_storage.get_event("original", "status") == '"shipped"'
    assert _values(dbos_storage, "original", "s") == ['"a"', '"b"', None]


def test_fork_copies_writes_without_an_operation_only_with_every_operation(
    dbos_storage: SystemStorage,
) -> None:
    """Writes with no operation (as stored before the function_id was recorded) cannot be
    placed before or after a fork point: a fork copies them only when it copies every
    recorded operation, where the fork point is after all of them."""
    _with_steps(dbos_storage, "original", 2)
    dbos_storage.set_event(EventRecord("original", "legacy", '"old"', 1))
    dbos_storage.write_stream(StreamWrite("original", "s", '"old"', 1))
    dbos_storage.write_stream(StreamWrite("original", "s", '"new"', 2), step("original", 2))
    dbos_storage.fork_workflow(_fork("original", "whole", 3))
    assert dbos_storage.get_event("whole", "legacy") == '"old"'
    assert _values(dbos_storage, "whole", "s") == ['"old"', '"new"']
    dbos_storage.fork_workflow(_fork("original", "from-2", 2))
    assert dbos_storage.get_event("from-2", "legacy") is None
    assert _values(dbos_storage, "from-2", "s") == []
    # Renumbered from 0: a skipped entry leaves no gap in the fork's stream.
    _with_steps(dbos_storage, "mixed", 0)
    dbos_storage.write_stream(StreamWrite("mixed", "s", '"old"', 1))
    dbos_storage.write_stream(StreamWrite("mixed", "s", '"kept"', 2), step("mixed", 0))
    dbos_storage.record_step(step("mixed", 1))
    dbos_storage.fork_workflow(_fork("mixed", "mixed-fork", 1))
    assert dbos_storage.read_stream("mixed-fork", "s", 0).entries == (StreamEntry(0, '"kept"'),)


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
