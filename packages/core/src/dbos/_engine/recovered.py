"""Sorting the rows a recovery or takeover returns (`SystemStorage.recover_pending`,
`take_over_workflows`): which run here, which went back to their queue, which are past
their recovery limit."""

from __future__ import annotations

from ..storage._records import WorkflowRow, WorkflowStatusString
from .engine_log import log_exceeded, log_requeued

_ENQUEUED = WorkflowStatusString.ENQUEUED.value
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
