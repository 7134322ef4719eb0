"""Where a workflow start sits: in its parent's history or at the top, and the parent's record
of it. Shared by `Engine.start` (a function in hand) and `enqueue_named` (a workflow known
only by its name, possibly implemented by another process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._base.errors import DBOSWorkflowConflictIDError
from ..storage._records import NewWorkflow, StepRecord
from .context import WorkflowContext, take_assigned_start
from .effects import Procedure
from .operations import Recorder
from .outcome import now_ms
from .starting import create, start_place


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
    recorder: Recorder,
    name: str,
    build: Callable[[StartPosition], NewWorkflow],
    policies: tuple[str | None, str | None] = (None, None),
) -> Procedure[str]:
    """Create the ENQUEUED row `build` makes for workflow `name` at this start's position, and
    return its workflow ID. In a workflow's body the enqueue is one of its operations, recorded
    under `name` with the child's ID; a replay returns the recorded ID and enqueues nothing.

    `policies` are the start's (ID reuse, duplication) policies as `starting.create` applies
    them; an unset reuse policy is the enclosing `SetWorkflowID`'s. Under
    ``duplication_policy="return-existing"`` the ID returned is the holder's.

    Raises:
        DBOSWorkflowConflictIDError: the ID is taken by a workflow of another name.
        DBOSWorkflowIDInUseError: the ID is taken, under ``workflow_id_reuse_policy="reject"``.
        DBOSQueueDeduplicatedError: the queue holds a task with the row's deduplication ID.
    """
    assigned, assigned_reuse = take_assigned_start()
    parent, workflow_id, child_of = start_place(recorder.codec, name, assigned)
    if parent is not None and child_of is None:
        return workflow_id  # a replay: the recorded child, enqueued before
    new = build(StartPosition(parent, workflow_id))
    reuse, duplication = policies
    init = yield from create(
        recorder, new, (reuse or assigned_reuse, duplication), parent, child_of
    )
    workflow_id = init.row.workflow_id  # another's, for a returned duplicate
    if init.row.name != new.name and workflow_id == new.workflow_id:
        raise DBOSWorkflowConflictIDError(new.workflow_id, init.row.name, new.name)
    if child_of is not None:
        yield from record_child(recorder, *child_of, name, workflow_id)
    return workflow_id
