"""The process-wide registry of decorated workflows and steps.

Decorators run at import time, before any `DBOS` instance exists, so registrations live here
and the engine reads them at launch (recovery looks workflows up by their stored name).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .._base.errors import DBOSConflictingRegistrationError, DBOSException
from .classes import MethodBinding
from .cron import CronSchedule
from .roles import RoleRequirement

logger = logging.getLogger("dbos")

#: A workflow's argument validator (DBOS 3.4's ``ValidateArgsCallable``): ``(args, kwargs)``
#: in, the validated (possibly converted) ``(args, kwargs)`` out; raises to refuse them.
ValidateArgs = Callable[[tuple[Any, ...], dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]

#: Registered name prefix of the one-step workflow that runs an enqueued (or started) step.
STEP_WORKFLOW_PREFIX = "dbos.step:"

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
    #: What the function is to its class, if it is a method (set by ``@DBOS.dbos_class()``).
    binding: MethodBinding = field(compare=False)
    #: The row marker its starts store inputs and outcome in (``@DBOS.workflow(
    #: serialization_type=...)``): None for the configured format, or "portable_json".
    serialization: str | None = None
    #: ``validate_args``: called with the arguments read back from storage (a queued task,
    #: a recovery), without a method's instance, and returning the ones to run with.
    validate_args: ValidateArgs | None = field(default=None, compare=False)
    #: The roles a call requires (``@DBOS.required_roles``), shared with the function.
    roles: RoleRequirement = field(default_factory=RoleRequirement, compare=False)


@dataclass(frozen=True)
class StepRegistration:
    name: str
    function: Callable[..., Any]
    policy: StepPolicy
    is_async: bool
    roles: RoleRequirement = field(default_factory=RoleRequirement, compare=False)


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


def _same_definition(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # Executing a definition again (a reload, a test that defines its workflows in its body)
    # makes a new function object for the same code: the same registration, nothing to say.
    return a is b or (
        getattr(a, "__module__", None) == getattr(b, "__module__", None)
        and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None)
        and _code_location(a) == _code_location(b)
    )


def _code_location(fn: Callable[..., Any]) -> tuple[str, int] | None:
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return None
    return os.path.realpath(code.co_filename), code.co_firstlineno


def _origin(fn: Callable[..., Any]) -> tuple[str, str] | None:
    location = _code_location(fn)
    module = getattr(fn, "__module__", None)
    if location is None or not isinstance(module, str):
        return None
    return module, location[0]


def register_workflow(registration: WorkflowRegistration) -> None:
    """Register a workflow (or a step's one-step workflow) under its name.

    A second function under a name taken logs DBOS's duplicate-registration warning and
    replaces the first (DBOS semantics: a module imported under two names, such as
    ``__main__`` and its own, registers each function twice), unless the two come from
    different modules in different files, which are two functions that really clash.

    Raises:
        DBOSConflictingRegistrationError: two workflows from different modules and source
            files were given one name (steps only warn, as in DBOS).
    """
    name = registration.name
    with _lock:
        existing = _workflows.get(name)
        if existing is not None and not _same_definition(existing.function, registration.function):
            shown = name.removeprefix(STEP_WORKFLOW_PREFIX)
            before, now = _origin(existing.function), _origin(registration.function)
            if (
                not name.startswith(STEP_WORKFLOW_PREFIX)
                and before is not None
                and now is not None
                and before[0] != now[0]
                and before[1] != now[1]
            ):
                raise DBOSConflictingRegistrationError(
                    f"workflow name {name!r} is registered by two different functions, "
                    f"{before[0]} at {before[1]} and {now[0]} at {now[1]}; pass name=... to "
                    "@DBOS.workflow() to tell them apart"
                )
            logger.warning(
                "Duplicate registration of function '%s'. A function named '%s' has already "
                "been registered with DBOS. All functions registered with DBOS must have "
                "unique names.",
                shown,
                shown,
            )
        _workflows[name] = registration
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


#: Names of DBOS's own workflows start with this (no user workflow should).
INTERNAL_PREFIX = "_dbos_"


def application_version() -> str:
    """A version tag derived from the source of every registered workflow.

    Recovery only resumes workflows stored with the current version, so a deploy that changes
    workflow code does not replay old executions against new code.
    """
    digest = hashlib.sha256()
    for registration in sorted(workflows(), key=lambda r: r.name):
        if registration.name.startswith(INTERNAL_PREFIX):
            continue  # DBOS's own (the debouncer): the same in every app and version
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
