"""Where a workflow start sits: in its parent's history or at the top, and the parent's record
of it. Shared by `Engine.start` (a function in hand) and `enqueue_named` (a workflow known
only by its name, possibly implemented by another process)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .._base.errors import DBOSWorkflowConflictIDError
from ..storage._records import NewWorkflow, StepRecord, WorkflowInit
from .context import WorkflowContext, current_step, current_workflow, take_assigned_workflow_id
from .decisions import child_workflow_id, replayed_step
from .effects import Blocking, Procedure
from .operations import Recorder
from .outcome import now_ms


@dataclass(frozen=True)
class StartPosition:
    """A start's place: `parent` (the workflow whose body starts it, None at the top level),
    the parent's operation ID for it, what an earlier execution recorded there, and the ID the
    new workflow gets unless told otherwise (the recorded child's, else the `SetWorkflowID`
    one, else the deterministic child ID, else a random UUID)."""

    parent: WorkflowContext | None
    function_id: int | None
    replayed: StepRecord | None
    workflow_id: str

    @property
    def must_record(self) -> bool:
        """Whether the parent still has to record this start (not a replay)."""
        return self.parent is not None and self.function_id is not None and self.replayed is None


def start_position(name: str) -> StartPosition:
    """Take the start's place (consuming a parent operation ID and a `SetWorkflowID`).

    Raises:
        DBOSUnexpectedStepError: the parent recorded another operation at this ID.
    """
    parent = current_workflow()
    assigned = take_assigned_workflow_id()
    if parent is None or current_step() is not None:
        # A start from a step is not an operation of the workflow: it is the step's effect.
        return StartPosition(None, None, None, assigned or str(uuid.uuid4()))
    function_id = parent.take_function_id()
    replayed = replayed_step(parent.recorded, parent.workflow_id, function_id, name)
    if replayed is not None and replayed.child_workflow_id:
        workflow_id = replayed.child_workflow_id
    else:
        workflow_id = assigned or child_workflow_id(parent.workflow_id, function_id)
    return StartPosition(parent, function_id, replayed, workflow_id)


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
    position = start_position(name)
    if position.replayed is not None and position.replayed.child_workflow_id:
        return position.replayed.child_workflow_id
    new = build(position)
    init: WorkflowInit = yield Blocking(recorder.storage.create_workflow, (new,))
    if init.row.name != new.name:
        raise DBOSWorkflowConflictIDError(new.workflow_id, init.row.name, new.name)
    if position.must_record:
        assert position.parent is not None and position.function_id is not None
        yield from record_child(
            recorder, position.parent, position.function_id, name, new.workflow_id
        )
    return new.workflow_id
