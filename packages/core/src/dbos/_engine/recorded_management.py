"""Management calls (status reads, listings, cancel, resume, delete, fork, rewind, delay)
made from a workflow body, recorded as operations of that workflow, as DBOS Transact 3.4 runs
them as steps (``DBOS.getStatus``, ``DBOS.forkWorkflow``, ...): the first execution makes the
call and records its result, or its error; a recovered, forked or rewound execution gets the
recorded result back (or the recorded error raised again) and does not make the call again.

Outside a workflow body (from a step, or from no workflow) the call just runs, and so it
does in a workflow recorded under this library's earlier numbering (`WorkflowContext.legacy`),
which recorded none of these calls and must replay as it ran.

Unlike `recorded_calls` (the schedule calls), an error is an outcome here, as in DBOS
Transact: a fork refused because its step does not exist stays refused on replay. A storage
failure is not an outcome (the database did not answer), and neither is a query timeout:
neither is recorded, and the recovered workflow makes the call again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._base.errors import DBOSQueryTimeoutError, DBOSStorageError
from .._base.portable import codec_for
from ..storage._records import StepRecord
from .context import in_workflow_body
from .effects import Procedure
from .operations import Produced, Recorder, recorded_operation
from .outcome import now_ms

T = TypeVar("T")

# DBOS Transact 3.4's operation names.
GET_STATUS_NAME = "DBOS.getStatus"
CANCEL_NAME = "DBOS.cancelWorkflow"
RESUME_NAME = "DBOS.resumeWorkflow"
DELETE_NAME = "DBOS.deleteWorkflow"
FORK_NAME = "DBOS.forkWorkflow"
LIST_WORKFLOWS_NAME = "DBOS.listWorkflows"
LIST_QUEUED_NAME = "DBOS.listQueuedWorkflows"
LIST_STEPS_NAME = "DBOS.listWorkflowSteps"
SET_DELAY_NAME = "DBOS.setWorkflowDelay"
REWIND_NAME = "DBOS.rewindWorkflow"

#: Errors that say nothing about the call's answer (see the module's text).
_NOT_OUTCOMES = (DBOSStorageError, DBOSQueryTimeoutError)


def _same(value: Any) -> Any:
    return value


def recorded_management_call(
    recorder: Recorder | None,
    name: str,
    body: Callable[[], Procedure[T]],
    *,
    stored_form: Callable[[T], Any] = _same,
    from_stored: Callable[[Any], T] = _same,
) -> Procedure[T]:
    """Run `body`, as the recorded operation `name` when the caller is a workflow body and
    `recorder` is given (`DBOS`'s; None for a `DBOSClient`, which never records, even when
    user code calls it from a workflow body).

    The result is stored as ``stored_form(result)`` with the workflow's codec (its own format:
    portable JSON for a portable workflow), and a replay returns ``from_stored`` of what was
    stored. The first execution returns `body`'s result itself; so `from_stored` must rebuild
    an equal value (a listing stores its rows' JSON form, see `_recorded_forms`).

    Raises:
        whatever `body` raises (on replay: the recorded error, rebuilt by the codec: its own
        class where it can be unpickled, else `DBOSRemoteError` or, for a portable
        workflow, `PortableWorkflowError`); DBOSSerializationError: the stored form cannot
        be stored with the workflow's codec; DBOSUnexpectedStepError: a replay finds another
        operation recorded at this ID (the workflow is not deterministic).
    """
    context = None if recorder is None else in_workflow_body()
    if context is None or context.legacy:
        return (yield from body())
    codec = codec_for(context.recorder.codec, context.serialization)
    workflow_id = context.workflow_id
    # What this execution's own run produced: returned as it is when its record is the one
    # that counts (not a replay, nor another execution's record committed first).
    ran: list[tuple[StepRecord, T | None, BaseException | None]] = []

    def run(function_ids: list[int]) -> Procedure[Produced]:
        started = now_ms()
        value: T | None = None
        output = error = None
        failure: BaseException | None = None
        try:
            value = yield from body()
        except _NOT_OUTCOMES:
            raise
        except Exception as exc:  # the call's answer: recorded, raised again on replay
            failure = exc
            error = codec.encode_error(exc, f"{name} in workflow {workflow_id!r}")
        else:
            output = codec.encode_value(stored_form(value), f"the result of {name}")
        record = StepRecord(workflow_id, function_ids[0], name, output, error, started, now_ms())
        ran.append((record, value, failure))
        return Produced(record, error=failure)

    stored = yield from recorded_operation(context, name, run)
    if ran and ran[0][0] is stored:
        _, value, failure = ran[0]
        if failure is not None:
            raise failure
        return value  # type: ignore[return-value]
    if stored.error is not None:
        raise codec.decode_error(stored.error)
    return from_stored(codec.decode_value(stored.output))
