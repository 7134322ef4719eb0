"""Enqueueing a workflow from this process (`Engine.start` with a queue placement): the row
is stored ENQUEUED for a queue worker, or, where this process has a free slot on the queue
and the queue needs no global decision, stored already claimed and run here, which saves
the claim's round trip and the worker's round (our addition; DBOS always leaves the task to
the next poll)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._base.errors import DBOSWorkflowConflictIDError
from ..storage._records import NewWorkflow
from .context import WorkflowContext
from .effects import Procedure
from .execution import QueuePlacement, Started, claimed_by
from .operations import Recorder
from .queue_worker import QueueWorker, RunTask
from .registry import WorkflowRegistration
from .starting import create
from .starts import record_child


@dataclass(frozen=True)
class Enqueuer:
    """What an enqueue uses of the engine: its recorder, queue worker, identity
    (executor ID, application version, instance ID) and the way it runs a claimed task."""

    recorder: Recorder
    worker: QueueWorker
    identity: tuple[str, str, str]
    run_task: RunTask

    def enqueue(
        self,
        new: NewWorkflow,
        registration: WorkflowRegistration,
        arguments: tuple[tuple[Any, ...], dict[str, Any]],
        placing: tuple[str | None, QueuePlacement],
        place: tuple[WorkflowContext | None, tuple[WorkflowContext, int] | None],
    ) -> Procedure[Started]:
        """`start`'s enqueue. The task is not registered as active here: a worker (maybe a
        finishing sibling's successor claim, microseconds after the insert) must find it
        free. With a free local slot it is stored claimed by this process and run here; the
        returned `Started.active` is then that execution (for the handle to wait on), and
        `must_run` stays False (it is dispatched already)."""
        (reuse, placement), (parent, child_of) = placing, place
        slot = self.worker.take_local_slot(new)
        if slot is not None:
            new = claimed_by(new, *self.identity)
        policies = (reuse, placement.duplication_policy)
        try:
            init = yield from create(self.recorder, new, policies, parent, child_of)
        except BaseException:
            if slot is not None:
                slot.release()
            raise
        claimed_here = slot is not None and init.created
        execution = None
        if slot is not None:
            if claimed_here:
                execution = self.run_task(init.row, slot, False)
            else:
                slot.release()
        workflow_id = init.row.workflow_id  # another's, for a returned duplicate
        if init.row.name != registration.name and workflow_id == new.workflow_id:
            raise DBOSWorkflowConflictIDError(workflow_id, init.row.name, registration.name)
        if child_of is not None:
            yield from record_child(self.recorder, *child_of, registration.name, workflow_id)
        return Started(
            workflow_id,
            execution,
            registration,
            *arguments,
            False,
            deadline_ms=init.row.deadline_ms,
            serialization=new.serialization,
            claimed_here=claimed_here,
        )
