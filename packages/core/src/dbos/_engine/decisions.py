"""Engine decisions that need no I/O, kept pure so they are tested without a database."""

from __future__ import annotations

from .._base.errors import DBOSUnexpectedStepError
from ..storage._records import StepRecord, WorkflowStatusString
from .registry import StepPolicy


def replayed_step(
    recorded: dict[int, StepRecord], workflow_id: str, function_id: int, name: str
) -> StepRecord | None:
    """The recorded outcome to return instead of running operation `function_id`, if any.

    Raises `DBOSUnexpectedStepError` when the recorded operation at this position has another
    name: the workflow's code or control flow changed, and replaying would mix two histories.
    """
    record = recorded.get(function_id)
    if record is None:
        return None
    if record.function_name != name:
        raise DBOSUnexpectedStepError(workflow_id, function_id, name, record.function_name)
    return record


def retry_delay(policy: StepPolicy, failed_attempts: int) -> float | None:
    """Seconds to wait before the next attempt after `failed_attempts` failures, or None when
    the step must give up."""
    if not policy.retries_allowed or failed_attempts >= policy.max_attempts:
        return None
    return policy.interval_seconds * policy.backoff_rate ** (failed_attempts - 1)


def child_workflow_id(parent_workflow_id: str, function_id: int) -> str:
    """The deterministic ID of a child workflow started at operation `function_id`."""
    return f"{parent_workflow_id}-{function_id}"


def remaining_sleep(wake_at_s: float, now_s: float) -> float:
    """How long a (possibly recovered) durable sleep still has to wait."""
    return max(0.0, wake_at_s - now_s)


def is_cancelled(status: str | None) -> bool:
    return status == WorkflowStatusString.CANCELLED.value
