"""The queue a resume puts its workflows on (DBOS Transact 3.4's ``resume_workflow(...,
queue_name=)``): checked as `fork_workflow(queue_name=)` checks its queue, before anything is
written, so a refused resume changes nothing."""

from __future__ import annotations

from .._base.errors import DBOSException
from .._base.ids import check_text
from .._engine.effects import Blocking, Procedure
from .._engine.queues import INTERNAL_QUEUE_NAME, check_partition_fit
from ..storage._protocol import SystemStorage
from ..storage._records import WorkflowQuery, WorkflowRow, WorkflowStatusString
from ._queue_names import log_undeclared_queue, queue_settings

#: The statuses a resume changes (`SystemStorage.requeue_workflows`): only these are checked
#: against the queue, the others stay where they are.
_RESUMABLE = frozenset(
    {
        WorkflowStatusString.CANCELLED.value,
        WorkflowStatusString.ERROR.value,
        WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
    }
)


def check_resume_queue_name(queue_name: object) -> str:
    """`queue_name` if it is a non-empty string storage can hold.

    Raises:
        DBOSException: anything else (None included: callers pass None on as the internal
            queue before calling this).
    """
    if not isinstance(queue_name, str) or not queue_name.strip():
        raise DBOSException(f"resume queue_name must be a non-empty string, got {queue_name!r}")
    check_text(queue_name, "the resume's queue_name")
    return queue_name


def resume_queue(
    storage: SystemStorage, queue_name: str | None, workflow_ids: tuple[str, ...]
) -> Procedure[str]:
    """The queue to requeue `workflow_ids` on: the internal queue for None, else `queue_name`
    after the checks a fork's queue gets. A queue no process declares (none in this process,
    no stored one) is accepted, as DBOS Transact 3.4 accepts it, with a WARNING (ours): the
    workflows wait until a process declares it. A declared queue must fit the partition key
    each resumable workflow already has (a resume keeps it), as an enqueue onto that queue
    must (ours: DBOS Transact does not check).

    Raises:
        DBOSException: a blank or non-string name; a partitioned queue and a workflow
            without a partition key, or a queue without partitions and a workflow with one.
    """
    if queue_name is None:
        return INTERNAL_QUEUE_NAME
    queue = check_resume_queue_name(queue_name)
    if queue == INTERNAL_QUEUE_NAME:
        return queue
    stored = yield from queue_settings(storage, queue)
    if stored is None:
        shown = ", ".join(repr(workflow_id) for workflow_id in workflow_ids)
        log_undeclared_queue(queue, f"resume of workflow(s) {shown}", "the workflow")
        return queue
    query = WorkflowQuery(workflow_ids=workflow_ids, load_inputs=False, load_output=False)
    rows: list[WorkflowRow] = yield Blocking(storage.list_workflows, (query,))
    for row in rows:
        if row.status in _RESUMABLE:
            check_partition_fit(
                queue,
                stored.partition_queue,
                row.queue_partition_key,
                f"workflow {row.workflow_id!r} (resumed)",
                f"workflow {row.workflow_id!r} has no partition key to resume onto it with",
            )
    return queue
