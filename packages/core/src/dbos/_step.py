"""Steps and durable sleep: operations whose outcome is checkpointed once and replayed after."""

from __future__ import annotations

import logging
import time
from typing import Any

from ._context import current_workflow
from ._decisions import remaining_sleep, replayed_step, retry_delay
from ._effects import CallBody, Procedure, Sleep
from ._errors import DBOSMaxStepRetriesExceeded, DBOSSerializationError, DBOSWorkflowCancelledError
from ._outcome import now_ms
from ._records import StepRecord
from ._registry import StepRegistration

logger = logging.getLogger("dbos")

SLEEP_NAME = "DBOS.sleep"


def step_procedure(
    registration: StepRegistration, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Procedure[Any]:
    """Run a step once per workflow execution history: replay its recorded outcome if there is
    one, else run it (with retries), checkpoint the outcome, and return or raise it."""
    context = current_workflow()
    if context is None or context.step_id is not None:
        # Outside a workflow, or nested in another step: an ordinary call.
        return (yield CallBody(registration.function, args, kwargs))
    engine = context.engine
    function_id = context.take_function_id()
    replayed = replayed_step(context.recorded, context.workflow_id, function_id, registration.name)
    if replayed is not None:
        return engine.replay_result(replayed)
    if context.cancelled:
        raise DBOSWorkflowCancelledError(context.workflow_id)

    engine.hooks.before_step(context.workflow_id, function_id, registration.name)
    started_at = now_ms()
    policy = registration.policy
    failures: list[BaseException] = []
    value: Any = None
    error: Exception | None = None
    context.step_id = function_id
    try:
        while True:
            try:
                value = yield CallBody(registration.function, args, kwargs)
                break
            except Exception as exc:
                failures.append(exc)
                delay = retry_delay(policy, len(failures))
                if delay is None:
                    error = (
                        DBOSMaxStepRetriesExceeded(registration.name, policy.max_attempts, failures)
                        if policy.retries_allowed
                        else exc
                    )
                    break
                logger.warning(
                    "step %s of workflow %s failed (attempt %d of %d), retrying in %.2f s: %r",
                    registration.name,
                    context.workflow_id,
                    len(failures),
                    policy.max_attempts,
                    delay,
                    exc,
                )
                yield Sleep(delay)
    finally:
        context.step_id = None

    output: str | None = None
    if error is None:
        try:
            output = engine.codec.encode_value(value)
        except DBOSSerializationError as exc:
            error = DBOSSerializationError(
                f"step {registration.name!r} returned a value that {exc}"
            )
    record = StepRecord(
        workflow_id=context.workflow_id,
        function_id=function_id,
        function_name=registration.name,
        output=output,
        error=None if error is None else engine.codec.encode_error(error),
        started_at_ms=started_at,
        completed_at_ms=now_ms(),
    )
    stored = yield from engine.checkpoint(context, record)
    if context.cancelled:
        raise DBOSWorkflowCancelledError(context.workflow_id)
    if stored is not record:
        return engine.replay_result(stored)
    if error is not None:
        raise error
    return value


def sleep_procedure(seconds: float) -> Procedure[None]:
    """Sleep durably: the wake-up time is checkpointed, so a recovered workflow only sleeps
    for what is left."""
    context = current_workflow()
    if context is None or context.step_id is not None:
        yield Sleep(seconds)
        return
    engine = context.engine
    function_id = context.take_function_id()
    replayed = replayed_step(context.recorded, context.workflow_id, function_id, SLEEP_NAME)
    if replayed is not None:
        wake_at = float(engine.codec.decode_value(replayed.output))
    else:
        wake_at = time.time() + seconds
        record = StepRecord(
            workflow_id=context.workflow_id,
            function_id=function_id,
            function_name=SLEEP_NAME,
            output=engine.codec.encode_value(wake_at),
            error=None,
            started_at_ms=now_ms(),
            completed_at_ms=now_ms(),
        )
        stored = yield from engine.checkpoint(context, record)
        wake_at = float(engine.codec.decode_value(stored.output))
    if context.cancelled:
        raise DBOSWorkflowCancelledError(context.workflow_id)
    yield Sleep(remaining_sleep(wake_at, time.time()))
