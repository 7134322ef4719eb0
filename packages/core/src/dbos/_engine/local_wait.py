"""Waiting for the outcome of a workflow that runs in this process, hearing its cancel at once.

The outcome comes from the execution's future, which resolves only when the body ends; a
cancel stops the body at its next step boundary, so a step still running would hold the
waiter until it returns. A waiter here therefore also listens for the workflow's `WAKE_SETTLED`
wake-up and reads its stored status when it fires: a CANCELLED row ends the wait with the
cancelled outcome (`DBOSAwaitedWorkflowCancelledError`, as a handle that polls storage
reports, in DBOS Transact 3.4 and here), while the body runs its step on until the boundary.

Who sends that wake-up: a cancel or a deadline sweep in this process (the storage wrapper,
`storage._fanout`), a cancel in another process through the backend's notifications
(Postgres), and nothing for a cancel in another process on SQLite: a wait that has lasted
`Wakeups.max_poll_s` (1 s by default) reads the status once per such interval from then on.
The execution's own finish fires the same wake-up; the execution marks itself `finishing`
before it, and a waiter ignores that wake-up: a short wait on a workflow that ends normally
reads nothing from storage and is woken once, by its result.
"""

from __future__ import annotations

import time
from typing import Any

from ..storage._protocol import SystemStorage
from ..storage._records import WAKE_SETTLED, WorkflowRow, WorkflowStatusString
from ..storage._waiting import Waiter, Wakeups
from .context import WorkflowContext
from .effects import Blocking, OffLoop, Procedure, WaitWakeup
from .execution import ActiveWorkflow
from .interrupt import CancelCheck, own_settled_key
from .outcome import Outcome

_CANCELLED = WorkflowStatusString.CANCELLED.value


class _StatusLook:
    """When to read the awaited workflow's status unprompted: every `every_s` seconds, the
    first time `every_s` after the wait began (a short wait never reads)."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.next_at = time.monotonic() + every_s

    def due(self) -> bool:
        now = time.monotonic()
        if now < self.next_at:
            return False
        self.next_at = now + self.every_s
        return True


class _UnlessFinishing(Waiter):
    """A waiter that the execution's own finish does not wake (it is marked `finishing`
    before its settle wake-up fires), so that a normal end costs no extra thread wake-up;
    `resolved` wakes it when the execution's future has its result."""

    def __init__(self, active: ActiveWorkflow, *keys: tuple[str, str]) -> None:
        super().__init__(*keys)
        self._active = active

    def fire(self) -> None:
        if not self._active.finishing:
            super().fire()

    def resolved(self) -> None:
        super().fire()


def await_local_outcome(
    context: WorkflowContext | None,
    active: ActiveWorkflow,
    storage: SystemStorage,
    wakeups: Wakeups,
    timeout_s: float | None,
) -> Procedure[Any]:
    """The outcome `active`'s future resolves with, or, once `active`'s workflow is found
    CANCELLED in storage while its body still runs, `Outcome(workflow_id, "CANCELLED")`
    (ours: see the module's text). Waited for inside `context`'s workflow (None: outside
    any), it ends with `DBOSWorkflowCancelledError` if that workflow is cancelled first.

    Raises:
        TimeoutError: `timeout_s` seconds passed first (the workflow keeps running).
        DBOSWorkflowCancelledError: `context`'s own workflow was cancelled.
        RuntimeError: waited for in blocking form on the event loop that runs `active`'s
            async body (`OffLoop`).
    """
    future = active.future
    if future.done():
        return future.result()
    if active.loop is not None:  # an async body: not waited for from its own loop
        yield OffLoop(active.loop, active.workflow_id)
    keys = [(WAKE_SETTLED, active.workflow_id)]
    if context is not None:
        keys.append(own_settled_key(context))
    waiter = wakeups.add(_UnlessFinishing(active, *keys))
    future.add_done_callback(lambda _: waiter.resolved())
    try:
        own = CancelCheck(context) if context is not None else None
        look = _StatusLook(wakeups.max_poll_s)
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            waiter.clear()
            if future.done():
                break
            slice_s = max(look.next_at - time.monotonic(), 0.0)
            if own is not None:
                slice_s = min(slice_s, own.every_s)
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the awaited workflow did not finish in time")
                slice_s = min(slice_s, left)
            woken: bool = yield WaitWakeup(waiter, slice_s)
            if future.done():
                break
            due = look.due()  # even when skipped below: the next slice must not be empty
            if active.finishing:
                continue  # a wake-up just before its own finish: the future follows
            if own is not None:
                yield from own.after(woken)
            if due or woken:
                row: WorkflowRow | None = yield Blocking(
                    storage.get_workflow, (active.workflow_id,)
                )
                if row is not None and row.status == _CANCELLED and not future.done():
                    return Outcome(active.workflow_id, _CANCELLED)
        return future.result()
    finally:
        wakeups.unregister(waiter)
