"""Local wake-ups after writes, for any backend: `with_wakeups` wraps a `StorageBackend` into
the `SystemStorage` the engine and clients use.

Core knows which protocol calls settle a workflow (finish, cancel, expired deadlines) and which
write a message, event or stream entry, so it wakes this process's waiters itself once such a
call returns: at once, with no polling delay, whatever the backend. A backend only relays what
other processes wrote, through the one callback it gets in `relay_notifications` (a Postgres
LISTEN connection does; SQLite has nothing to relay).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

from ._protocol import StorageBackend, SystemStorage
from ._records import (
    WAKE_EVENT,
    WAKE_MESSAGE,
    WAKE_SETTLED,
    WAKE_STREAM,
    ClaimRequest,
    EventRecord,
    FinishedAndClaimed,
    Message,
    QueueActivity,
    StepAck,
    StepRecord,
    StepWrite,
    StreamWrite,
    Wakeup,
    WorkflowOutcome,
    WorkflowRow,
    wakeup_for,
)
from ._waiting import FinishSignal, wait_until_terminal


def with_wakeups(backend: StorageBackend) -> SystemStorage:
    """`backend` as a `SystemStorage`: calls pass through unchanged, and this process's
    waiters are woken after the calls that settle workflows or write messages, events and
    stream entries (`on_wakeup`, `wait_workflow_outcome`), and on what the backend relays from
    other processes. A storage wrapped already is returned as it is."""
    if isinstance(backend, LocalWakeups):
        return backend.as_storage()
    return LocalWakeups(backend).as_storage()


class LocalWakeups:
    """The wrapper `with_wakeups` returns (see there). Callbacks run in the thread whose call
    woke them (or the backend's relaying thread), so they must be cheap."""

    def __init__(self, backend: StorageBackend) -> None:
        self.backend = backend
        self._finished = FinishSignal()
        self._lock = threading.Lock()
        self._wake_callbacks: tuple[Callable[[Wakeup | None], None], ...] = ()
        self._queue_callbacks: tuple[Callable[[str | None, bool], None], ...] = ()
        self._settings_callbacks: tuple[Callable[[str | None], None], ...] = ()
        backend.relay_notifications(self._heard)

    def as_storage(self) -> SystemStorage:
        """This wrapper, typed as the protocol it implements (by delegation)."""
        return cast(SystemStorage, self)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.backend, name)
        if callable(attribute) and not name.startswith("_"):
            self.__dict__[name] = attribute  # found directly from now on
        return attribute

    # --- callers' side --------------------------------------------------------------------

    def on_wakeup(self, callback: Callable[[Wakeup | None], None]) -> None:
        """`SystemStorage.on_wakeup`."""
        with self._lock:
            self._wake_callbacks = (*self._wake_callbacks, callback)

    def on_queue_activity(self, callback: Callable[[str | None, bool], None]) -> None:
        """`SystemStorage.on_queue_activity`: other processes' activity, as relayed."""
        with self._lock:
            self._queue_callbacks = (*self._queue_callbacks, callback)

    def on_queue_settings(self, callback: Callable[[str | None], None]) -> None:
        """`SystemStorage.on_queue_settings`: other processes' changes of stored queues, as
        relayed."""
        with self._lock:
            self._settings_callbacks = (*self._settings_callbacks, callback)

    @property
    def reports_queue_settings(self) -> bool:
        """`SystemStorage.reports_queue_settings`: the backend's optional capability of that
        name, False for a backend that does not have it."""
        return bool(getattr(self.backend, "reports_queue_settings", False))

    def wait_workflow_outcome(
        self, workflow_id: str, timeout_s: float | None
    ) -> WorkflowRow | None:
        """`SystemStorage.wait_workflow_outcome`: polls `get_workflow`, woken at once by a
        settling call through this wrapper or a relayed notification."""
        read = self.backend.get_workflow
        return wait_until_terminal(read, self._finished, workflow_id, timeout_s)

    # --- calls after which this process's waiters wake --------------------------------------

    def record_step(self, step: StepRecord, writes: tuple[StepWrite, ...] = ()) -> StepAck:
        """`SystemStorage.record_step`; then the writes' waiters wake."""
        ack = self.backend.record_step(step, writes)
        for wakeup in dict.fromkeys(map(wakeup_for, writes)):
            self._wake(wakeup)
        return ack

    def send(self, message: Message, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send`; then the destination's waiters wake."""
        ack = self.backend.send(message, step)
        self._wake(Wakeup(WAKE_MESSAGE, message.destination_id))
        return ack

    def send_many(self, messages: tuple[Message, ...], step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send_many`; then each destination's waiters wake."""
        ack = self.backend.send_many(messages, step)
        for destination_id in dict.fromkeys(m.destination_id for m in messages):
            self._wake(Wakeup(WAKE_MESSAGE, destination_id))
        return ack

    def set_event(self, event: EventRecord, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.set_event`; then the event's waiters wake."""
        ack = self.backend.set_event(event, step)
        self._wake(Wakeup(WAKE_EVENT, event.workflow_id))
        return ack

    def write_stream(self, write: StreamWrite, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.write_stream`; then the stream's readers wake."""
        ack = self.backend.write_stream(write, step)
        self._wake(Wakeup(WAKE_STREAM, write.workflow_id))
        return ack

    def finish_workflow(self, outcome: WorkflowOutcome) -> str:
        """`SystemStorage.finish_workflow`; then the workflow's outcome waiters and stream
        readers wake."""
        status = self.backend.finish_workflow(outcome)
        self._settled(outcome.workflow_id)
        return status

    def finish_and_claim(
        self, outcome: WorkflowOutcome, request: ClaimRequest
    ) -> FinishedAndClaimed:
        """`SystemStorage.finish_and_claim`; then as `finish_workflow`."""
        finished = self.backend.finish_and_claim(outcome, request)
        self._settled(outcome.workflow_id)
        return finished

    def cancel_workflow(self, workflow_id: str, now_ms: int) -> str | None:
        """`SystemStorage.cancel_workflow`; then as `finish_workflow`."""
        status = self.backend.cancel_workflow(workflow_id, now_ms)
        self._settled(workflow_id)
        return status

    def cancel_workflows(self, workflow_ids: tuple[str, ...], now_ms: int) -> dict[str, str]:
        """`SystemStorage.cancel_workflows`; then as `finish_workflow`, for each of them."""
        statuses = self.backend.cancel_workflows(workflow_ids, now_ms)
        self._settled(*workflow_ids)
        return statuses

    def cancel_expired(self, now_ms: int) -> list[str]:
        """`SystemStorage.cancel_expired`; then as `finish_workflow`, for each one cancelled."""
        expired = self.backend.cancel_expired(now_ms)
        if expired:
            self._settled(*expired)
        return expired

    # --- fan-out ----------------------------------------------------------------------------

    def _settled(self, *workflow_ids: str) -> None:
        """Workflows may have reached a final status: outcome waiters re-check, readers of
        their streams learn the streams are over, and their own waits (a cancelled workflow
        blocked in ``recv``, ``sleep``, ...) check whether they must stop."""
        self._finished.notify()
        for workflow_id in workflow_ids:
            self._wake(Wakeup(WAKE_STREAM, workflow_id))
            self._wake(Wakeup(WAKE_SETTLED, workflow_id))

    def _wake(self, wakeup: Wakeup | None) -> None:
        for callback in self._wake_callbacks:
            callback(wakeup)

    def _heard(self, notice: Wakeup | QueueActivity | None) -> None:
        """What the backend relays from other processes (see `relay_notifications`)."""
        if isinstance(notice, Wakeup):
            if notice.kind == WAKE_SETTLED:
                self._finished.notify()  # another process settled it: outcome waiters re-check
            self._wake(notice)
            return
        if notice is not None and notice.settings_changed:
            for settings_callback in self._settings_callbacks:
                settings_callback(notice.queue_name)
            return
        if notice is None or notice.slot_freed:
            self._finished.notify()  # a task that stopped running may have settled
        for callback in self._queue_callbacks:
            if notice is None:
                callback(None, True)
            else:
                callback(notice.queue_name, notice.slot_freed)
        if notice is None:
            self._wake(None)
