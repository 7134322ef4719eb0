"""What the engine tells the ``dbos`` logger about workflows (formats in one place).

DBOS Transact's levels: a workflow that ends in ERROR is logged at ERROR once, where it ends
(whoever started it: a caller, a queue worker, the scheduler, recovery), even when a caller
also gets the exception; recoveries at INFO; each workflow and checkpoint at DEBUG.
"""

from __future__ import annotations

import logging

from .._base.serialization import error_text
from ..storage._records import StepRecord, WorkflowStatusString
from .outcome import Outcome

logger = logging.getLogger("dbos")

#: Recovered workflow IDs listed in the recovery line at most (the count is always exact).
RECOVERY_IDS_SHOWN = 50

_ERROR = WorkflowStatusString.ERROR.value


def log_outcome(workflow_id: str, name: str, outcome: Outcome) -> None:
    """ERROR with the traceback for a workflow that ended in ERROR, DEBUG for any other end."""
    if outcome.status == _ERROR and outcome.error is not None:
        error = outcome.error
        logger.error(
            "workflow %s (%s) ended in ERROR: %s: %s",
            workflow_id,
            name,
            type(error).__name__,
            error_text(error),
            exc_info=(type(error), error, error.__traceback__),
        )
    else:
        logger.debug("workflow %s (%s) ended %s", workflow_id, name, outcome.status)


def log_exceeded(workflow_id: str, name: str, limit: int | None) -> None:
    """A workflow marked MAX_RECOVERY_ATTEMPTS_EXCEEDED instead of being run again."""
    logger.warning(
        "workflow %s (%s) exceeded its %s recovery attempts and is marked %s",
        workflow_id,
        name,
        limit,
        WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
    )


def log_stopped(workflow_id: str, name: str, error: Exception) -> None:
    """A workflow whose outcome could not be recorded (the system database refused it)."""
    logger.error(
        "workflow %s (%s) stopped without recording an outcome: %s: %s",
        workflow_id,
        name,
        type(error).__name__,
        error_text(error),
        exc_info=(type(error), error, error.__traceback__),
    )


def log_left_pending(workflow_id: str, name: str) -> None:
    """A workflow cut short by `DBOS.destroy()`: one line, no traceback (a shutdown is no
    error); it stays PENDING, and recovery resumes it from its last checkpoint."""
    logger.info(
        "workflow %s (%s) was stopped by shutdown before it finished; it stays PENDING and "
        "resumes from its last checkpoint at the next launch",
        workflow_id,
        name,
    )


def log_checkpoint(record: StepRecord) -> None:
    logger.debug(
        "workflow %s: operation %d (%s) checkpointed%s",
        record.workflow_id,
        record.function_id,
        record.function_name,
        " with an error" if record.error is not None else "",
    )


def log_recovery(workflow_ids: list[str]) -> None:
    _log_ids("recovering %d pending workflow(s): %s%s", workflow_ids)


def log_requeued(workflow_ids: list[str]) -> None:
    """Recovered tasks of queues went back to their queues (DBOS semantics), where a worker
    claims them again within the queue's limits."""
    _log_ids("returned %d recovered queued task(s) to their queues: %s%s", workflow_ids)


def _log_ids(message: str, workflow_ids: list[str]) -> None:
    """INFO `message` with the count and the first `RECOVERY_IDS_SHOWN` IDs (none: nothing)."""
    if not workflow_ids:
        return
    more = len(workflow_ids) - RECOVERY_IDS_SHOWN
    logger.info(
        message,
        len(workflow_ids),
        ", ".join(workflow_ids[:RECOVERY_IDS_SHOWN]),
        f" and {more} more" if more > 0 else "",
    )


def log_taken_over(workflow_id: str, name: str, owner: str) -> None:
    """This process stopped running a workflow that another process took over (its lease had
    expired while this one still ran it): whatever the body did since its last checkpoint may
    run again there."""
    logger.warning(
        "workflow %s (%s) was taken over by %s while this process ran it (this process's lease "
        "had expired); it stops here without recording an outcome, and finishes there",
        workflow_id,
        name,
        owner,
    )
