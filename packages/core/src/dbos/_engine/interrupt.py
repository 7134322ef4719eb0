"""Waits inside a workflow that a cancel ends promptly (ours; DBOS Transact's cancel is seen at
the next step only): ``DBOS.sleep``, ``recv``, ``get_event``, stream reads and awaiting a
child's result listen for the workflow's own `WAKE_SETTLED` wake-up, which a cancel sends (in
this process at once; from another process through the backend's notifications), and re-read
the workflow's status at least every `Wakeups.max_poll_s` seconds, for backends or settings
without notifications."""

from __future__ import annotations

import time

from ..storage._protocol import SystemStorage
from ..storage._records import WAKE_SETTLED, WorkflowRow, WorkflowStatusString
from .context import WorkflowContext
from .effects import Blocking, Procedure, WaitWakeup
from .operations import stop_if_cancelled

_CANCELLED = WorkflowStatusString.CANCELLED.value
#: Longest slice of a wait on another workflow's stored outcome between two looks at this
#: workflow's own wake-up (a storage wait cannot also listen for it).
_OUTCOME_SLICE_S = 0.25


def own_settled_key(context: WorkflowContext) -> tuple[str, str]:
    """The wake-up key a cancel of `context`'s workflow fires (for `Wakeups.register`)."""
    return (WAKE_SETTLED, context.workflow_id)


def check_cancelled(context: WorkflowContext) -> Procedure[None]:
    """Read the workflow's stored status and raise if it was cancelled (or its deadline
    passed).

    Raises:
        DBOSWorkflowCancelledError: it was.
    """
    row: WorkflowRow | None = yield Blocking(
        context.recorder.storage.get_workflow, (context.workflow_id,)
    )
    if row is not None and row.status == _CANCELLED:
        context.cancelled = True
    yield from stop_if_cancelled(context)


class CancelCheck:
    """When a wait of `context` must re-read its status: after a wake-up, or once
    `Wakeups.max_poll_s` has passed since the last look."""

    def __init__(self, context: WorkflowContext) -> None:
        self._context = context
        self._every_s = context.recorder.wakeups.max_poll_s
        self._last = time.monotonic()

    def after(self, woken: bool) -> Procedure[None]:
        """Check if `woken` or the polling interval passed (see the class)."""
        if woken or time.monotonic() - self._last >= self._every_s:
            self._last = time.monotonic()
            yield from check_cancelled(self._context)

    @property
    def every_s(self) -> float:
        return self._every_s


def interruptible_sleep(context: WorkflowContext, seconds: float) -> Procedure[None]:
    """Sleep `seconds` inside the workflow, ending at once with `DBOSWorkflowCancelledError`
    when it is cancelled."""
    wakeups = context.recorder.wakeups
    waiter = wakeups.register(*own_settled_key(context))
    try:
        check = CancelCheck(context)
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            waiter.clear()
            woken: bool = yield WaitWakeup(waiter, min(left, check.every_s))
            yield from check.after(woken)
    finally:
        wakeups.unregister(waiter)


def await_stored_outcome(
    context: WorkflowContext | None,
    storage: SystemStorage,
    workflow_id: str,
    timeout_s: float | None,
) -> Procedure[WorkflowRow | None]:
    """The terminal row of `workflow_id` (run elsewhere) from `storage`, or None if
    `timeout_s` passes first. Waited for inside `context`'s workflow (None: outside any), it
    waits in short slices, between which a cancel of that workflow is noticed.

    Raises:
        DBOSWorkflowCancelledError: `context`'s workflow was cancelled.
    """
    if context is None:
        found: WorkflowRow | None = yield Blocking(
            storage.wait_workflow_outcome, (workflow_id, timeout_s)
        )
        return found
    wakeups = context.recorder.wakeups
    waiter = wakeups.register(*own_settled_key(context))
    try:
        check = CancelCheck(context)
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            slice_s = _OUTCOME_SLICE_S
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                slice_s = min(slice_s, left)
            waiter.clear()
            row: WorkflowRow | None = yield Blocking(
                storage.wait_workflow_outcome, (workflow_id, slice_s)
            )
            if row is not None:
                return row
            yield from check.after(waiter.wait(0))
    finally:
        wakeups.unregister(waiter)
