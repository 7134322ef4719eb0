"""Recorded operations: what steps, sleeps, messages, events, stream writes and waits share.

Each recorded operation of a workflow runs through `recorded_operation`, one skeleton: take
the next operation ID(s); if an earlier execution recorded the operation, hand back that record
(replay); else stop if the workflow was cancelled, run the operation, checkpoint what it
produced, and stop if the checkpoint found the workflow cancelled. The operations reach storage,
the codec and the hooks only through a `Recorder`, never through the engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._base.errors import DBOSStepConflictError, DBOSWorkflowCancelledError
from .._base.serialization import Codec
from ..plugins._hooks import Hooks
from ..storage._protocol import SystemStorage
from ..storage._records import StepAck, StepRecord, WorkflowRow
from ..storage._waiting import Wakeups
from .context import WorkflowContext
from .decisions import replayed_step
from .effects import Blocking, Procedure
from .engine_log import log_checkpoint
from .liveness import WorkflowTakenOver
from .outcome import now_ms

logger = logging.getLogger("dbos")

#: A storage call that makes a step record durable (with whatever it writes alongside).
Write = Callable[[StepRecord], StepAck]


class Recorder:
    """The port recorded operations use: storage, codec, hooks, in-process wake-ups, and the
    checkpoint itself."""

    def __init__(
        self,
        storage: SystemStorage,
        codec: Codec,
        hooks: Hooks,
        wakeups: Wakeups,
        instance_id: str | None = None,
    ):
        self.storage = storage
        self.codec = codec
        self.hooks = hooks
        self.wakeups = wakeups
        #: This process's instance (see `liveness`): an ack naming another owner means the
        #: workflow was taken over, and this execution must stop.
        self.instance_id = instance_id

    def checkpoint(
        self, context: WorkflowContext, record: StepRecord, write: Write | None = None
    ) -> Procedure[StepRecord]:
        """Make `record` durable, then return the record that counts: `record` itself, or the
        one another execution of this workflow committed first. `write` is the storage call
        that records it (default `record_step`; messaging passes calls that write their data
        in the same transaction).

        Raises `WorkflowTakenOver` (after the commit, which stands: each operation is recorded
        once, whoever records it first) when the ack names another owner instance."""
        self.hooks.before_step_checkpoint(record)
        try:
            ack = yield Blocking(write or self.storage.record_step, (record,))
        except DBOSStepConflictError:
            # Another execution recorded it first: if it is a takeover's, stop here rather
            # than run the next operations' bodies only to find them recorded too.
            row: WorkflowRow | None = yield Blocking(
                self.storage.get_workflow, (context.workflow_id,)
            )
            if row is not None:
                self._check_owner(context, row.owner_instance)
            return (yield from self.reload_step(context, record.function_id))
        context.note_status(ack.workflow_status)
        self._check_owner(context, ack.owner_instance)
        self.hooks.after_step_checkpoint(record)
        log_checkpoint(record)
        return record

    def _check_owner(self, context: WorkflowContext, owner: str | None) -> None:
        if owner is not None and self.instance_id is not None and owner != self.instance_id:
            raise WorkflowTakenOver(context.workflow_id, owner)

    def reload_step(self, context: WorkflowContext, function_id: int) -> Procedure[StepRecord]:
        """The record another execution of this workflow committed for `function_id`."""
        steps: list[StepRecord] = yield Blocking(self.storage.load_steps, (context.workflow_id,))
        context.recorded.update({step.function_id: step for step in steps})
        return context.recorded[function_id]

    def replay_result(self, record: StepRecord) -> Any:
        """The value a record stands for: its output decoded, or its error raised."""
        if record.error is not None:
            raise self.codec.decode_error(record.error)
        return self.codec.decode_value(record.output)

    def plain_record(self, context: WorkflowContext, function_id: int, name: str) -> StepRecord:
        """The record of an operation whose outcome is just that it happened."""
        output = self.codec.encode_value(None)
        return StepRecord(context.workflow_id, function_id, name, output, None, now_ms(), now_ms())


@dataclass(frozen=True)
class Produced:
    """What running an operation produced: a record to checkpoint with `write`, or (when
    `durable`) one that the operation already made durable itself (a `recv` consumes and
    records its message in one transaction)."""

    record: StepRecord
    write: Write | None = None
    durable: bool = False
    #: A step's own error (its outcome, stored in `record`), for the hooks.
    error: BaseException | None = None


#: Runs the operation given its operation IDs (as many as `recorded_operation` reserved):
#: a procedure when running it waits or does I/O, else what it produced.
Run = Callable[[list[int]], "Procedure[Produced] | Produced"]


def stop_if_cancelled(context: WorkflowContext) -> Procedure[None]:
    """Raise at this step boundary if the workflow was cancelled or is past its deadline (in
    which case it is cancelled now, so that the stored status says so)."""
    deadline = context.deadline_ms
    if not context.cancelled and deadline is not None and now_ms() >= deadline:
        storage = context.recorder.storage
        yield Blocking(storage.cancel_workflow, (context.workflow_id, now_ms()))
        context.cancelled = True
    if context.cancelled:
        raise DBOSWorkflowCancelledError(context.workflow_id)


def recorded_operation(
    context: WorkflowContext,
    name: str,
    run: Run,
    *,
    ids: int = 1,
    reserved: int | None = None,
    kind: str = "operation",
) -> Procedure[StepRecord]:
    """The skeleton of every recorded operation (see the module's text). Reserves `ids`
    consecutive operation IDs (a wait with a timeout records its wake-up time at the second);
    the first is the operation's. `reserved` is an operation ID taken earlier (a step
    reservation), used instead of taking the next one. `kind` is what the operation hooks are
    told (``"step"`` for a step). Returns the record that counts: the replayed one, the one
    `run` produced, or the one another execution committed first.

    Raises:
        DBOSWorkflowCancelledError: the workflow was cancelled (or passed its deadline)
            before the operation ran, or the checkpoint found it cancelled.
        DBOSUnexpectedStepError: a replay finds another operation recorded at this ID.
    """
    recorder = context.recorder
    function_ids = (
        [reserved] if reserved is not None else [context.take_function_id() for _ in range(ids)]
    )
    replayed = replayed_step(context.recorded, context.workflow_id, function_ids[0], name)
    if replayed is not None:
        return replayed
    yield from stop_if_cancelled(context)
    hooks = recorder.hooks
    hooks.operation_started(context.workflow_id, function_ids[0], name, kind)
    error: BaseException | None = None
    try:
        ran = run(function_ids)
        produced = ran if isinstance(ran, Produced) else (yield from ran)
        error = produced.error
        if produced.durable:
            hooks.after_step_checkpoint(produced.record)
            stored = produced.record
        else:
            stored = yield from recorder.checkpoint(context, produced.record, produced.write)
    except BaseException as exc:
        error = exc
        raise
    finally:
        hooks.operation_ended(context.workflow_id, function_ids[0], name, kind, error)
    if context.cancelled:
        raise DBOSWorkflowCancelledError(context.workflow_id)
    return stored
