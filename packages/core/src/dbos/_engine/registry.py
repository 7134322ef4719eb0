"""The process-wide registry of decorated workflows and steps.

Decorators run at import time, before any `DBOS` instance exists, so registrations live here
and the engine reads them at launch (recovery looks workflows up by their stored name).
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .._base.errors import DBOSConflictingRegistrationError, DBOSException
from .cron import CronSchedule

DEFAULT_MAX_RECOVERY_ATTEMPTS = 100


@dataclass(frozen=True)
class StepPolicy:
    """How a step retries and how long an attempt may run. `max_attempts` counts the first
    try; `should_retry` (consulted only when retries are allowed) says whether an attempt's
    exception is worth another attempt; `timeout_s` bounds each attempt of an async step."""

    retries_allowed: bool = False
    interval_seconds: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    should_retry: Callable[[BaseException], bool | Awaitable[bool]] | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class WorkflowRegistration:
    name: str
    function: Callable[..., Any]
    max_recovery_attempts: int | None
    is_async: bool


@dataclass(frozen=True)
class StepRegistration:
    name: str
    function: Callable[..., Any]
    policy: StepPolicy
    is_async: bool


@dataclass(frozen=True)
class ScheduledRegistration:
    """A workflow run on a cron schedule; `missed_ticks` is "skip" or "run_once"."""

    workflow: WorkflowRegistration
    schedule: CronSchedule
    missed_ticks: str


_lock = threading.Lock()
_workflows: dict[str, WorkflowRegistration] = {}
_steps: dict[str, StepRegistration] = {}
_scheduled: dict[str, ScheduledRegistration] = {}
#: `workflow_names()`, rebuilt only when a workflow is registered: every claim sends it.
_names: tuple[str, ...] | None = None


def function_name(fn: Callable[..., Any]) -> str:
    """The default registered name of a function: its qualified name."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name if isinstance(name, str) else repr(fn)


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # Re-importing a module (or reloading it in a notebook) makes a new function object for the
    # same code; that is the same registration, not a conflict.
    return a is b or (
        getattr(a, "__module__", None) == getattr(b, "__module__", None)
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
    )


def register_workflow(registration: WorkflowRegistration) -> None:
    with _lock:
        existing = _workflows.get(registration.name)
        if existing is not None and not _same_function(existing.function, registration.function):
            raise DBOSConflictingRegistrationError(
                f"workflow name {registration.name!r} is already registered for "
                f"{existing.function.__module__}.{function_name(existing.function)}; pass "
                "name=... to @DBOS.workflow() to tell them apart"
            )
        _workflows[registration.name] = registration
        global _names
        _names = None


def register_step(registration: StepRegistration) -> None:
    with _lock:
        _steps[registration.name] = registration


def register_scheduled(registration: ScheduledRegistration) -> None:
    with _lock:
        _scheduled[registration.workflow.name] = registration


def scheduled() -> list[ScheduledRegistration]:
    with _lock:
        return list(_scheduled.values())


def clear_scheduled() -> None:
    """Forget every schedule (for tests that declare scheduled workflows per test)."""
    with _lock:
        _scheduled.clear()


def workflow(name: str) -> WorkflowRegistration | None:
    return _workflows.get(name)


def workflows() -> list[WorkflowRegistration]:
    with _lock:
        return list(_workflows.values())


def workflow_names() -> tuple[str, ...]:
    """The registered workflow names (the ones this process can run)."""
    global _names
    names = _names
    if names is None:
        with _lock:
            names = _names = tuple(_workflows)
    return names


def clear() -> None:
    """Forget every registration (for tests that define workflows per test)."""
    global _names
    with _lock:
        _workflows.clear()
        _names = None
        _steps.clear()
        _scheduled.clear()


def application_version() -> str:
    """A version tag derived from the source of every registered workflow.

    Recovery only resumes workflows stored with the current version, so a deploy that changes
    workflow code does not replay old executions against new code.
    """
    digest = hashlib.sha256()
    for registration in sorted(workflows(), key=lambda r: r.name):
        digest.update(registration.name.encode())
        try:
            source = inspect.getsource(registration.function)
        except (OSError, TypeError):
            source = function_name(registration.function)
        digest.update(source.encode())
    return digest.hexdigest()[:32]


#: The attribute under which a decorated function carries its workflow registration.
REGISTRATION_ATTR = "__dbos_workflow__"


def registration_of(func: Callable[..., Any]) -> WorkflowRegistration:
    """The workflow registration `func` was decorated with. Raises `DBOSException` for a
    function that is not a workflow."""
    registration = getattr(func, REGISTRATION_ATTR, None)
    if not isinstance(registration, WorkflowRegistration):
        raise DBOSException(
            f"{function_name(func)} is not a workflow; decorate it with @DBOS.workflow()"
        )
    return registration
