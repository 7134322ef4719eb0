"""`ResilientStorage`: the engine's view of a backend, riding out lost connections.

Every protocol call announces itself to the `dbos_storage_call` hook, then runs; a
`DBOSConnectionError` (the database unreachable, a connection dropped, the server restarting)
is retried with exponential backoff capped at `MAX_BACKOFF_S`. A workflow's own calls (made
under `ride_out_outages`) retry for as long as the outage lasts, so a workflow pauses through
an outage of any length and carries on when the database is back; other calls give up once
`retry_timeout_s` has passed since their first failure. Other errors are not retried.

A retried call may have taken effect before its connection died (the commit went through,
the reply was lost). The calls for which that matters are made safe to repeat here:

- `create_workflow`: the retry finds the row; if it is the one this call wrote (same
  executor, creation time and inputs), it is reported as created.
- `record_step`, and `send`, `set_event`, `write_stream` with a step: the retry conflicts with
  the checkpoint the first attempt wrote; if the stored record is this one, the write is
  reported as done.
- `recv`: the retry conflicts with the checkpoint of the message the first attempt consumed;
  that recorded message is the answer.
- `claim_queued` / `finish_and_claim`: tasks a lost reply had claimed are found again (they are
  PENDING for this executor, started at or after the request's time) and returned with the
  retry's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .._base.errors import (
    DBOSConfigError,
    DBOSConnectionError,
    DBOSException,
    DBOSStepConflictError,
    DBOSStorageError,
)
from ..plugins._hooks import Hooks
from ..storage._protocol import SystemStorage
from ..storage._records import (
    ClaimRequest,
    EventRecord,
    FinishedAndClaimed,
    Message,
    NewWorkflow,
    RecvRequest,
    StepAck,
    StepRecord,
    StepWrite,
    StorageOptions,
    StreamWrite,
    WorkflowInit,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowRow,
    WorkflowStatusString,
)
from .outage import OutageReport, riding_out

T = TypeVar("T")

#: How long a call that may give up keeps retrying connection errors (config key
#: ``sys_db_retry_timeout_sec``), counted from its first failure.
DEFAULT_RETRY_TIMEOUT_S = 60.0
_FIRST_BACKOFF_S = 0.05
#: The longest pause between two attempts: the database is used again within this long of
#: its return (plus the time the backend takes to reconnect).
MAX_BACKOFF_S = 2.0


def attempt_timeout(retry_timeout_s: float) -> float:
    """How long one attempt may wait to connect (or for a pooled connection) with this retry
    budget: no longer than the budget (1 s at least), and 10 s at most, so that a call that
    may give up does so about when its budget says."""
    return min(max(retry_timeout_s, 1.0), StorageOptions().connect_timeout_s)


#: Methods that are not database calls: passed straight through.
_NOT_CALLS = frozenset(
    {
        "setup",
        "close",
        "listen",
        "on_queue_activity",
        "on_queue_settings",
        "on_wakeup",
        "url_for_display",
    }
)


class ResilientStorage:
    """Wraps a `SystemStorage` with the `dbos_storage_call` hook and connection retries.

    Args:
        backend: The storage to call.
        hooks: Where calls are announced (fault injection attaches there).
        retry_timeout_s: Seconds a call outside `ride_out_outages` keeps retrying connection
            errors, from its first failure, before it raises `DBOSConnectionError`; None: it
            never gives up.
    """

    def __init__(
        self,
        backend: SystemStorage,
        hooks: Hooks,
        retry_timeout_s: float | None = DEFAULT_RETRY_TIMEOUT_S,
    ) -> None:
        self.backend = backend
        self._hooks = hooks
        self._retry_timeout_s = retry_timeout_s
        self._outages = OutageReport(str(getattr(backend, "url_for_display", "")))
        self._closed = threading.Event()

    def as_storage(self) -> SystemStorage:
        """This wrapper, typed as the protocol it implements (by delegation)."""
        return cast(SystemStorage, self)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.backend, name)
        if name.startswith("_") or name in _NOT_CALLS or not callable(attribute):
            return attribute

        def call(*args: Any) -> Any:
            return self._call(name, lambda: attribute(*args))

        self.__dict__[name] = call  # found directly from now on
        return call

    @property
    def reports_queue_settings(self) -> bool:
        """`SystemStorage.reports_queue_settings` of the wrapped storage: read as it is, not
        a database call."""
        return self.backend.reports_queue_settings

    def close(self) -> None:
        """Close the backend; calls still retrying stop at their next attempt."""
        self._closed.set()
        self.backend.close()

    def _call(
        self,
        operation: str,
        run: Callable[[], T],
        retried: list[bool] | None = None,
        give_up_at: float | None = None,
    ) -> T:
        """Run `run` through the hook, retrying connection errors with backoff. `retried`, if
        given, gets True appended when an attempt failed (its effect is then uncertain).
        `give_up_at` (monotonic seconds) ends the retries of a call that may give up sooner
        than its budget (a wait with a timeout)."""
        patient: bool | None = None  # decided at the first failure: off the hot path
        first_failure: float | None = None
        deadline = 0.0
        attempt, backoff = 1, _FIRST_BACKOFF_S
        while True:
            started = time.monotonic()
            try:
                self._hooks.storage_call(operation, attempt)
                result = run()
                self._hooks.storage_call_done(operation, attempt)
            except UnicodeEncodeError as exc:
                # A string that no check stopped where it entered: still no bare driver error.
                raise DBOSException(
                    f"a string given to {operation} cannot be stored: it has "
                    f"{exc.object[exc.start : exc.end]!r}, which is not valid UTF-8"
                ) from None
            except DBOSConnectionError as exc:
                if self._closed.is_set():
                    raise DBOSStorageError("the system database storage is closed") from exc
                now = time.monotonic()
                if patient is None:
                    patient = riding_out() or self._retry_timeout_s is None
                if not patient:
                    if first_failure is None:
                        assert self._retry_timeout_s is not None
                        first_failure, deadline = now, now + self._retry_timeout_s
                        if give_up_at is not None:
                            deadline = min(deadline, give_up_at)
                    if now >= deadline:
                        raise DBOSConnectionError(
                            f"{exc} (gave up after {now - first_failure:.1f} s of retries; "
                            f"sys_db_retry_timeout_sec is {self._retry_timeout_s:g})"
                        ) from exc
                    backoff = min(backoff, max(deadline - now, 0.0))
                if retried is not None:
                    retried.append(True)
                self._outages.failed(operation, exc, started)
                # Woken early by a close, which ends the retries.
                self._closed.wait(backoff)
                attempt, backoff = attempt + 1, min(backoff * 2, MAX_BACKOFF_S)
                continue
            self._outages.succeeded(started)
            return result

    # --- calls whose retry needs care --------------------------------------------------------

    def create_workflow(self, workflow: NewWorkflow) -> WorkflowInit:
        """`SystemStorage.create_workflow`, retried through connection errors; a retry that finds
        the row this call's lost attempt wrote (same executor, creation time and inputs)
        reports it as created."""
        retried: list[bool] = []
        init = self._call(
            "create_workflow", lambda: self.backend.create_workflow(workflow), retried
        )
        row = init.row
        if (
            retried
            and not init.created
            and row.executor_id == workflow.executor_id
            and row.created_at_ms == workflow.created_at_ms
            and row.inputs == workflow.inputs
        ):
            return WorkflowInit(True, row)  # the lost attempt wrote it
        return init

    def wait_workflow_outcome(
        self, workflow_id: str, timeout_s: float | None
    ) -> WorkflowRow | None:
        # A retry waits only for what is left of the caller's timeout, not all of it again.
        """`SystemStorage.wait_workflow_outcome`, retried through connection errors; a retry
        waits only for what is left of `timeout_s`, and retries stop when it has passed."""
        until = None if timeout_s is None else time.monotonic() + timeout_s

        def attempt() -> WorkflowRow | None:
            left = None if until is None else max(until - time.monotonic(), 0.0)
            return self.backend.wait_workflow_outcome(workflow_id, left)

        return self._call("wait_workflow_outcome", attempt, give_up_at=until)

    def record_step(self, step: StepRecord, writes: tuple[StepWrite, ...] = ()) -> StepAck:
        """`SystemStorage.record_step`, retried through connection errors; a
        `DBOSStepConflictError` after a retry, against a stored checkpoint equal to `step`,
        means the lost attempt committed, and is reported as success."""
        return self._write_with_step(
            "record_step", lambda: self.backend.record_step(step, writes), step
        )

    def send(self, message: Message, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send`, retried like `record_step`: with a `step`, a conflict with an
        equal stored checkpoint after a retry is reported as success."""
        return self._write_with_step("send", lambda: self.backend.send(message, step), step)

    def send_many(self, messages: tuple[Message, ...], step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send_many`, retried like `send` (a lost attempt that committed
        stored its messages: their IDs and idempotency keys keep a retry from storing them
        again)."""
        return self._write_with_step(
            "send_many", lambda: self.backend.send_many(messages, step), step
        )

    def set_event(self, event: EventRecord, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.set_event`, retried like `record_step`: with a `step`, a conflict with an
        equal stored checkpoint after a retry is reported as success."""
        return self._write_with_step("set_event", lambda: self.backend.set_event(event, step), step)

    def write_stream(self, write: StreamWrite, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.write_stream`, retried like `record_step`: with a `step`, a conflict with
        an equal stored checkpoint after a retry is reported as success."""
        return self._write_with_step(
            "write_stream", lambda: self.backend.write_stream(write, step), step
        )

    def recv(self, request: RecvRequest) -> StepRecord | None:
        """`SystemStorage.recv`, retried through connection errors; a `DBOSStepConflictError`
        after a retry means the lost attempt consumed a message and recorded it, and that
        recorded step is returned."""
        retried: list[bool] = []
        try:
            return self._call("recv", lambda: self.backend.recv(request), retried)
        except DBOSStepConflictError:
            if not retried:
                raise
            # The lost attempt consumed the message and recorded it: that is the answer.
            for recorded in self.load_steps(request.workflow_id):
                if recorded.function_id == request.function_id:
                    return cast(StepRecord, recorded)
            raise

    def _write_with_step(
        self, operation: str, run: Callable[[], StepAck], step: StepRecord | None
    ) -> StepAck:
        """A write that records `step` in the same transaction: after a retry, a conflict
        with a checkpoint equal to `step` means the lost attempt committed."""
        retried: list[bool] = []
        try:
            return self._call(operation, run, retried)
        except DBOSStepConflictError:
            if not retried or step is None:
                raise
            stored = {s.function_id: s for s in self.load_steps(step.workflow_id)}
            if stored.get(step.function_id) != step:
                raise
            row = self.get_workflow(step.workflow_id)
            return StepAck(row.status if row is not None else None)

    def claim_queued(self, request: ClaimRequest) -> list[WorkflowRow]:
        """`SystemStorage.claim_queued`, retried through connection errors; a retry first looks
        for the tasks a lost attempt claimed (PENDING for this executor, started at or after
        ``request.now_ms``) and returns those. It may report a task another thread claimed too:
        the engine runs a claimed task once however often it is reported."""
        retried: list[bool] = []

        def attempt() -> list[WorkflowRow]:
            if retried:
                lost = self._lost_claims(request)
                if lost:  # the failed attempt committed: these are its claims
                    return lost
            return self.backend.claim_queued(request)

        return self._call("claim_queued", attempt, retried)

    def finish_and_claim(
        self, outcome: WorkflowOutcome, request: ClaimRequest
    ) -> FinishedAndClaimed:
        """`SystemStorage.finish_and_claim`, retried like `claim_queued`: if a lost attempt had
        committed (its claims are found), the finish is read back with `finish_workflow` and
        returned with those claims."""
        retried: list[bool] = []

        def attempt() -> FinishedAndClaimed:
            if retried:
                lost = self._lost_claims(request)
                if lost:  # the failed attempt committed, its finish included
                    return FinishedAndClaimed(self.backend.finish_workflow(outcome), lost)
            return self.backend.finish_and_claim(outcome, request)

        return self._call("finish_and_claim", attempt, retried)

    def _lost_claims(self, request: ClaimRequest) -> list[WorkflowRow]:
        """Tasks of the request's queue PENDING for its executor and started at or after its
        time: what a claim whose reply was lost had taken. A batch may stamp claims with a
        later time than this request's (group commit), and tasks another thread claimed
        meanwhile may match too: the engine runs a claimed task once however often it is
        reported (an active one is not started again, and one that finished after the claim
        is skipped), so reporting too many is safe, too few is not."""
        mine: list[WorkflowRow] = self.backend.list_workflows(
            WorkflowQuery(
                statuses=(WorkflowStatusString.PENDING.value,),
                executor_id=request.executor_id,
                queue_name=request.queue.name,
            )
        )
        return [
            row
            for row in mine
            if row.started_at_ms is not None and row.started_at_ms >= request.now_ms
        ]


def retry_timeout(value: Any, source: str) -> float:
    """A retry budget in seconds (``sys_db_retry_timeout_sec``): a finite number >= 0.

    Raises:
        DBOSConfigError: `value` is not one; the message names `source`.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise DBOSConfigError(f"{source} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)
