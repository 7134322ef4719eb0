"""Where a workflow start sits: in its parent's history or at the top, and the parent's record
of it. Shared by `Engine.start` (a function in hand) and `enqueue_named` (a workflow known
only by its name, possibly implemented by another process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._base.errors import DBOSWorkflowConflictIDError
from ..storage._records import NewWorkflow, StepRecord, WorkflowInit
from .context import WorkflowContext, take_assigned_workflow_id
from .effects import Blocking, Procedure
from .operations import Recorder
from .outcome import now_ms
from .starting import start_place


@dataclass(frozen=True)
class StartPosition:
    """A start's place (see `starting.start_place`): `parent` (the workflow whose body starts
    it, None at the top level) and the ID the new workflow gets."""

    parent: WorkflowContext | None
    workflow_id: str


def record_child(
    recorder: Recorder, parent: WorkflowContext, function_id: int, name: str, workflow_id: str
) -> Procedure[None]:
    """Checkpoint the parent's operation that started (or enqueued) child `workflow_id`; the
    parent knows it as its child from then on (see `starting.create`)."""
    record = yield from recorder.checkpoint(
        parent,
        StepRecord(
            workflow_id=parent.workflow_id,
            function_id=function_id,
            function_name=name,
            output=None,
            error=None,
            started_at_ms=now_ms(),
            completed_at_ms=now_ms(),
            child_workflow_id=workflow_id,
        ),
    )
    parent.recorded[function_id] = record


def enqueue_named(
    recorder: Recorder, name: str, build: Callable[[StartPosition], NewWorkflow]
) -> Procedure[str]:
    """Create the ENQUEUED row `build` makes for workflow `name` at this start's position, and
    return its workflow ID. In a workflow's body the enqueue is one of its operations, recorded
    under `name` with the child's ID; a replay returns the recorded ID and enqueues nothing.

    Raises:
        DBOSWorkflowConflictIDError: the ID is taken by a workflow of another name.
        DBOSQueueDeduplicatedError: the queue holds a task with the row's deduplication ID.
    """
    parent, workflow_id, child_of = start_place(recorder.codec, name, take_assigned_workflow_id())
    if parent is not None and child_of is None:
        return workflow_id  # a replay: the recorded child, enqueued before
    new = build(StartPosition(parent, workflow_id))
    init: WorkflowInit = yield Blocking(recorder.storage.create_workflow, (new,))
    if init.row.name != new.name:
        raise DBOSWorkflowConflictIDError(new.workflow_id, init.row.name, new.name)
    if child_of is not None:
        yield from record_child(recorder, *child_of, name, new.workflow_id)
    return new.workflow_id
