"""Sorting the rows a recovery or takeover returns (`SystemStorage.recover_pending`,
`take_over_workflows`): which run here, which went back to their queue, which are past
their recovery limit; and telling a claim reported twice from a new one."""

from __future__ import annotations

from ..storage._protocol import SystemStorage
from ..storage._records import WorkflowRow, WorkflowStatusString
from .engine_log import log_exceeded, log_requeued

_ENQUEUED = WorkflowStatusString.ENQUEUED.value
_PENDING = WorkflowStatusString.PENDING.value
_EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value


def sort_recovered(rows: list[WorkflowRow]) -> tuple[list[WorkflowRow], list[WorkflowRow]]:
    """(the rows to run here, the queued tasks storage put back on their queues), in the
    rows' order. Logs those put back (a queue worker runs them within the queue's limits:
    DBOS semantics) and those past their recovery limit (left as they are marked)."""
    to_run: list[WorkflowRow] = []
    requeued: list[WorkflowRow] = []
    for row in rows:
        if row.status == _EXCEEDED:
            log_exceeded(row.workflow_id, row.name, row.max_recovery_attempts)
        elif row.status == _ENQUEUED:
            requeued.append(row)
        else:
            to_run.append(row)
    if requeued:
        log_requeued([row.workflow_id for row in requeued])
    return to_run, requeued


def still_claimed_by(storage: SystemStorage, workflow_id: str, instance_id: str) -> bool:
    """True if storage says the workflow (which ran in this process before) waits for it
    (PENDING, owned by `instance_id`): a claim reported twice must not run it again, a new
    one (a resume) must. A claim's clock cannot tell: it may predate the last run."""
    current = storage.get_workflow(workflow_id)
    return (
        current is not None and current.status == _PENDING and current.owner_instance == instance_id
    )
