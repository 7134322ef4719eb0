"""What waiting for a workflow yields, and how it becomes a return value or an exception."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .._base.errors import (
    DBOSAwaitedWorkflowCancelledError,
    DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded,
)
from .._base.portable import codec_for
from .._base.serialization import Codec
from ..storage._records import WorkflowRow, WorkflowStatusString


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished workflow's result: `value` for SUCCESS, `error` otherwise."""

    workflow_id: str
    status: str
    value: Any = None
    error: BaseException | None = None
    #: For a workflow stored in another format than the configured one (portable JSON): the
    #: outcome as its stored form decodes, which waiters that did not start it get, as they
    #: would from another process (DBOS semantics: only the caller's own handle gets the
    #: value as returned).
    as_stored: Outcome | None = None

    def unwrap(self) -> Any:
        """The value, or what a waiter raises: the workflow's error, or (as in DBOS Transact)
        `DBOSAwaitedWorkflowCancelledError` / `DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded`,
        never the cancellation raised inside the workflow itself, which would tell a waiting
        workflow that it was cancelled."""
        if self.status == WorkflowStatusString.SUCCESS.value:
            return self.value
        if self.status == WorkflowStatusString.CANCELLED.value:
            raise DBOSAwaitedWorkflowCancelledError(self.workflow_id)
        if self.status == WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value:
            raise DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded(self.workflow_id)
        if self.error is not None:
            raise self.error
        raise RuntimeError(f"workflow {self.workflow_id!r} has no result in status {self.status}")


#: Resolves a local future when this process turned out not to run the workflow: the waiter
#: must wait on storage instead.
NOT_RUN_HERE = Outcome(workflow_id="", status="NOT_RUN_HERE")


def outcome_from_row(codec: Codec, row: WorkflowRow) -> Outcome:
    """The outcome stored in a terminal `row`, decoded in the row's own format."""
    codec = codec_for(codec, row.serialization)
    if row.status == WorkflowStatusString.SUCCESS.value:
        return Outcome(row.workflow_id, row.status, value=codec.decode_value(row.output))
    if row.status == WorkflowStatusString.ERROR.value:
        return Outcome(row.workflow_id, row.status, error=codec.decode_error(row.error))
    return Outcome(row.workflow_id, row.status)
