"""Argument checks of the public face (`DBOS`'s calls): each raises a clear error naming the
problem before anything is stored."""

from __future__ import annotations

import dataclasses
import inspect
import math
from datetime import datetime

from ._base.errors import DBOSConfigError, DBOSException
from ._engine.queues import EnqueueOptions, current_enqueue_options
from ._engine.registry import WorkflowRegistration


def check_scheduled_signature(registration: WorkflowRegistration) -> None:
    """Refuse a scheduled workflow that cannot take ``(scheduled_time, actual_time)``: every
    tick would otherwise record a failed workflow, and nothing would say why at startup."""
    try:
        signature = inspect.signature(registration.function)
    except (TypeError, ValueError):
        return  # nothing to check against (a builtin or C callable)
    now = datetime.now()
    try:
        signature.bind(now, now)
    except TypeError as exc:
        raise DBOSConfigError(
            f"@DBOS.scheduled workflow {registration.name!r} must accept two positional "
            f"arguments (scheduled_time, actual_time), but its signature {signature} does "
            f"not: {exc}"
        ) from None


def finite_at_least(value: object, minimum: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


def check_seconds(seconds: object) -> None:
    if not finite_at_least(seconds, 0.0):
        raise DBOSException(f"sleep seconds must be a finite number >= 0, got {seconds!r}")


def refuse_enqueue_options(call: str) -> None:
    """Enqueue options around a start that enqueues nothing would be silently ignored: a
    deduplication ID that deduplicates nothing, a delay that does not delay. Ours: refuse."""
    options = current_enqueue_options()
    if options != EnqueueOptions():
        given = ", ".join(
            f"{field.name}={getattr(options, field.name)!r}"
            for field in dataclasses.fields(options)
            if getattr(options, field.name) is not None
        )
        raise DBOSException(
            f"{call} was called inside SetEnqueueOptions({given}), but those options only "
            "apply to tasks enqueued on a queue and would be ignored here: use "
            "queue.enqueue(...) inside the block, or start the workflow outside it"
        )
