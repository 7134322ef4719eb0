"""Awaiting another workflow's result from a workflow's body: a recorded operation, as in DBOS
Transact 3.4, which records it as ``DBOS.getResult`` (a handle's `get_result`, and the
implicit wait of a child workflow called directly). The record holds what the wait returned
(the result, or the error it raised), the awaited workflow's ID, and spans the whole wait; a
replay returns that record without waiting again. A workflow stored under this library's
earlier numbering (`WorkflowContext.legacy`) recorded no such waits, so it still records none:
its recorded operations keep their numbers."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from .._base.portable import codec_for
from ..storage._records import StepRecord, WorkflowStatusString
from .context import in_workflow_body
from .effects import Procedure
from .operations import Produced, recorded_operation
from .outcome import Outcome, now_ms

GET_RESULT_NAME = "DBOS.getResult"
_SUCCESS = WorkflowStatusString.SUCCESS.value
_ERROR = WorkflowStatusString.ERROR.value


def awaited_outcome(workflow_id: str, wait: Callable[[], Procedure[Outcome]]) -> Procedure[Outcome]:
    """The outcome `wait` yields for workflow `workflow_id`; from a workflow's body, recorded
    at its next operation ID (see the module's text). A wait that gives up (`TimeoutError`:
    ours, DBOS has no timeout) or that the caller's own cancellation ends records nothing."""
    context = in_workflow_body()
    if context is None or context.legacy:
        # A workflow recorded before these waits were recorded replays as it ran.
        return (yield from wait())
    body = context
    codec = codec_for(body.recorder.codec, body.serialization)

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        started = now_ms()
        outcome = yield from wait()
        output = error = None
        try:
            output = codec.encode_value(outcome.unwrap(), f"the result of workflow {workflow_id!r}")
        except Exception as exc:  # what awaiting it raises is what the record holds
            error = codec.encode_error(exc)
        record = StepRecord(
            body.workflow_id,
            function_ids[0],
            GET_RESULT_NAME,
            output,
            error,
            started,
            now_ms(),
            child_workflow_id=workflow_id,
        )
        return Produced(record)

    stored = yield from recorded_operation(context, GET_RESULT_NAME, run)
    if stored.error is not None:
        return Outcome(workflow_id, _ERROR, error=codec.decode_error(stored.error))
    return Outcome(workflow_id, _SUCCESS, value=codec.decode_value(stored.output))
