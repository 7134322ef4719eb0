"""Steps and durable sleep: operations whose outcome is checkpointed once and replayed after."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Generator
from typing import Any

from .._base.errors import (
    DBOSConnectionError,
    DBOSMaxStepRetriesExceeded,
    DBOSSerializationError,
)
from ..storage._records import StepRecord, StepWrite
from .context import (
    StepFrame,
    WorkflowContext,
    current_step,
    current_workflow,
    enter_step,
    leave_step,
)
from .decisions import remaining_sleep, retry_delay
from .effects import CallBody, Procedure, Sleep, TimedCall
from .interrupt import interruptible_sleep
from .operations import Produced, Recorder, recorded_operation, stop_if_cancelled
from .outcome import now_ms
from .registry import StepRegistration
from .roles import enter_checked, leave_identity

logger = logging.getLogger("dbos")

SLEEP_NAME = "DBOS.sleep"


def _attempt_failure(exc: Exception) -> Exception:
    """`exc`, as a failed attempt of a step; a `DBOSConnectionError` (the system database
    lost) is raised on instead: it is never a step's outcome (see `Engine.execute`)."""
    if isinstance(exc, DBOSConnectionError):
        raise exc
    return exc


def step_procedure(
    registration: StepRegistration,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    reserved_id: int | None = None,
) -> Procedure[Any]:
    """Run a step once per workflow execution history: replay its recorded outcome if there is
    one, else run it (with retries), checkpoint the outcome, and return or raise it.
    `reserved_id` is a step ID drawn earlier (`DBOS.reserve_step`) instead of the next one.

    A step requiring roles runs only for a caller granted one (inside a workflow or not, as
    in DBOS Transact), assuming it; a refusal raises `DBOSNotAuthorizedError` and records
    nothing (the identity is the workflow's stored one, so a replay decides the same)."""
    token = enter_checked(registration.roles, registration.name)
    try:
        return (yield from _checkpointed_step(registration, args, kwargs, reserved_id))
    finally:
        if token is not None:
            leave_identity(token)


def _checkpointed_step(
    registration: StepRegistration,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    reserved_id: int | None,
) -> Procedure[Any]:
    context = current_workflow()
    if context is None or current_step() is not None:
        # Outside a workflow, or nested in another step: an ordinary call.
        return (yield CallBody(registration.function, args, kwargs))
    recorder = context.recorder
    ran: list[tuple[StepRecord, Any, Exception | None]] = []

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        record, value, error, writes = yield from _run_attempts(
            context, recorder, registration, args, kwargs, function_ids[0]
        )
        ran.append((record, value, error))
        write = None
        if error is None and writes:
            # The successful attempt's writes commit with its checkpoint, or not at all.
            write = functools.partial(recorder.storage.record_step, writes=tuple(writes))
        return Produced(record, write, error=error)

    stored = yield from recorded_operation(
        context, registration.name, run, reserved=reserved_id, kind="step"
    )
    if not ran or stored is not ran[0][0]:  # replayed, or another execution recorded it first
        return recorder.replay_result(stored)
    _, value, error = ran[0]
    if error is not None:
        raise error
    return value


def _run_attempts(
    context: WorkflowContext,
    recorder: Recorder,
    registration: StepRegistration,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    function_id: int,
) -> Generator[Any, Any, tuple[StepRecord, Any, Exception | None, list[StepWrite]]]:
    """Run the step's body, with retries as its policy allows: its record, its value or
    error, and what its last attempt sent or wrote."""
    recorder.hooks.before_step(context.workflow_id, function_id, registration.name)
    started_at = now_ms()
    policy = registration.policy
    retries = policy.retries_allowed
    failures: list[BaseException] = []
    value: Any = None
    error: Exception | None = None
    while True:
        # A frame per attempt: what a failed attempt sent or wrote is dropped with it.
        frame = (
            StepFrame(function_id, [], len(failures), policy.max_attempts)
            if retries
            else StepFrame(function_id, [])
        )
        token = enter_step(frame)
        try:
            if policy.timeout_s is None:
                value = yield CallBody(registration.function, args, kwargs)
            else:
                value = yield TimedCall(
                    registration.function, args, kwargs, policy.timeout_s, registration.name
                )
        except Exception as exc:
            failures.append(_attempt_failure(exc))
        else:
            break
        finally:
            leave_step(token)
        if retries and policy.should_retry is not None:
            # DBOS Transact semantics: an exception the predicate refuses is the step's outcome
            # as it is (not wrapped in DBOSMaxStepRetriesExceeded); so is one the predicate
            # raises itself.
            try:
                again = yield CallBody(policy.should_retry, (failures[-1],), {})
            except Exception as exc:
                error = exc
                break
            if not again:
                last = failures[-1]
                assert isinstance(last, Exception)
                error = last
                break
        delay = retry_delay(policy, len(failures))
        if delay is None:
            last = failures[-1]
            assert isinstance(last, Exception)
            error = (
                DBOSMaxStepRetriesExceeded(registration.name, policy.max_attempts, failures)
                if policy.retries_allowed
                else last
            )
            break
        logger.warning(
            "step %s of workflow %s failed (attempt %d of %d), retrying in %.2f s: %r",
            registration.name,
            context.workflow_id,
            len(failures),
            policy.max_attempts,
            delay,
            failures[-1],
        )
        recorder.hooks.step_retry(
            context.workflow_id, function_id, registration.name, len(failures), failures[-1], delay
        )
        yield Sleep(delay)

    output: str | None = None
    if error is None:
        try:
            output = recorder.codec.encode_value(
                value, f"the return value of step {registration.name!r}"
            )
        except DBOSSerializationError as exc:
            error = exc
    record = StepRecord(
        workflow_id=context.workflow_id,
        function_id=function_id,
        function_name=registration.name,
        output=output,
        error=None
        if error is None
        else recorder.codec.encode_error(
            error, f"step {registration.name!r} of workflow {context.workflow_id!r}"
        ),
        started_at_ms=started_at,
        completed_at_ms=now_ms(),
    )
    return record, value, error, frame.writes


def sleep_procedure(seconds: float) -> Procedure[None]:
    """Sleep durably: the wake-up time is checkpointed, so a recovered workflow only sleeps
    for what is left."""
    context = current_workflow()
    if context is None or current_step() is not None:
        yield Sleep(seconds)
        return
    codec = context.recorder.codec

    def run(function_ids: list[int]) -> Produced:
        started = time.time()  # one clock read: the wake-up is never before the start
        record = StepRecord(
            workflow_id=context.workflow_id,
            function_id=function_ids[0],
            function_name=SLEEP_NAME,
            output=codec.encode_value(started + seconds),
            error=None,
            started_at_ms=int(started * 1000),
            # Written before the sleep, it spans it: it completes when the sleep ends (as
            # DBOS Transact records it).
            completed_at_ms=int((started + seconds) * 1000),
        )
        return Produced(record)

    stored = yield from recorded_operation(context, SLEEP_NAME, run)
    wake_at = float(codec.decode_value(stored.output))
    yield from stop_if_cancelled(context)
    remaining = remaining_sleep(wake_at, time.time())
    if context.deadline_ms is not None:
        remaining = min(remaining, max(0.0, context.deadline_ms / 1000 - time.time()))
    yield from interruptible_sleep(context, remaining)
    yield from stop_if_cancelled(context)
