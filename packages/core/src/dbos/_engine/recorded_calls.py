"""Management calls made from a workflow body, recorded as operations of that workflow (DBOS
Transact 3.4 runs them as steps: ``DBOS.createSchedule``, ``DBOS.pauseSchedule``, ...): the
first execution runs the call and records its result; a recovered or replayed execution gets
the recorded result back and does not run the call again. From outside a workflow body (or
from a step) the call just runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..storage._records import StepRecord
from .context import in_workflow_body
from .effects import Procedure
from .operations import Produced, Recorder, recorded_operation
from .outcome import now_ms

T = TypeVar("T")

#: Runs the call; given the operation's key (``"<workflow ID>/<operation ID>"``, the same in
#: every execution of the workflow) in a workflow body, None elsewhere. A call that must
#: recognise its own earlier, unrecorded effect (a crash between the effect and the record)
#: derives a stored value from the key.
CallBody = Callable[[str | None], Procedure[T]]


def recorded_call(recorder: Recorder, name: str, body: CallBody[T]) -> Procedure[T]:
    """Run `body`, as the recorded operation `name` when the caller is a workflow body.

    The result is stored with the app's codec and returned decoded (so a replay returns an
    equal value). An error `body` raises is not recorded: a recovered workflow makes the call
    again.

    Raises:
        whatever `body` raises; DBOSUnexpectedStepError: a replay finds another operation
        recorded at this ID (the workflow is not deterministic).
    """
    context = in_workflow_body()
    if context is None:
        return (yield from body(None))
    workflow_id = context.workflow_id

    def run(function_ids: list[int]) -> Procedure[Produced]:
        started = now_ms()
        value = yield from body(f"{workflow_id}/{function_ids[0]}")
        output = recorder.codec.encode_value(value)
        record = StepRecord(workflow_id, function_ids[0], name, output, None, started, now_ms())
        return Produced(record)

    stored = yield from recorded_operation(context, name, run)
    result: Any = recorder.replay_result(stored)
    return result  # type: ignore[no-any-return]
