"""`DBOS`'s step calls beyond the decorator (DBOS Transact 3.4's API): step options, running a
plain function as a step (`run_step`), the running step's status, and step reservations. A
base class of `DBOS` over `_engine/step.py`, which runs every step, decorated or not."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, TypedDict, TypeVar, overload

from ._base.errors import DBOSConfigError, DBOSException, DBOSNotLaunchedError
from ._engine.context import WorkflowContext, current_step, current_workflow, in_workflow_body
from ._engine.effects import run_async, run_sync
from ._engine.registry import StepPolicy, StepRegistration, function_name
from ._engine.step import step_procedure
from ._face_checks import finite_at_least
from ._launched import launched_engine

P = ParamSpec("P")
R = TypeVar("R")

#: A predicate on a failed attempt's exception: True to retry it. An async predicate (one
#: returning an awaitable) is for async steps only.
ShouldRetry = Callable[[BaseException], "bool | Awaitable[bool]"]


class StepOptions(TypedDict, total=False):
    """Options of a step run with `DBOS.run_step` or a `StepReservation` (the keyword arguments
    of ``@DBOS.step()``, as a dict; every key optional). DBOS Transact 3.4's fields.

    Keys:
        name: The recorded step name (default: the function's qualified name).
        retries_allowed: Retry the step when an attempt raises (default False).
        interval_seconds: Seconds to wait before the first retry (default 1.0).
        max_attempts: Attempts in all, the first included (default 3).
        backoff_rate: Factor applied to the wait after each retry (default 2.0).
        should_retry: Called with a failed attempt's exception when retries are allowed;
            False makes that exception the step's outcome at once (unwrapped). May be async
            for an async step.
        preemptible: Cancel the step when its workflow is cancelled: not supported yet here
            (True raises `DBOSException`).
        timeout_seconds: For an async step, cancel an attempt that runs longer than this
            (seconds, > 0) and fail it with `DBOSStepTimeoutError`; each attempt gets a fresh
            timeout. Refused for sync steps. Inert outside a workflow.
    """

    name: str | None
    retries_allowed: bool
    interval_seconds: float
    max_attempts: int
    backoff_rate: float
    should_retry: ShouldRetry | None
    preemptible: bool
    timeout_seconds: float | None


@dataclass(frozen=True)
class StepStatus:
    """The running step, as `DBOS.step_status` reports it (DBOS Transact 3.4's fields).

    Attributes:
        step_id: The step's ID in its workflow (operations count from 1, as in DBOS).
        current_attempt: Which attempt runs now, from 0, for a step that allows retries;
            None otherwise.
        max_attempts: The attempts the step may make in all, for a step that allows retries;
            None otherwise.
    """

    step_id: int
    current_attempt: int | None
    max_attempts: int | None


def step_policy(
    *,
    retries_allowed: bool,
    interval_seconds: float,
    max_attempts: int,
    backoff_rate: float,
    should_retry: ShouldRetry | None,
    preemptible: bool,
    timeout_seconds: float | None,
) -> StepPolicy:
    """The policy these step options describe, checked before any function is known.

    Raises:
        DBOSConfigError: a number out of range, or `should_retry` not callable.
        DBOSException: `preemptible=True` (not supported yet).
    """
    if type(max_attempts) is not int or max_attempts < 1:
        raise DBOSConfigError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
    if not finite_at_least(interval_seconds, 0.0):
        raise DBOSConfigError(f"interval_seconds must be >= 0, got {interval_seconds!r}")
    if not finite_at_least(backoff_rate, 1.0):
        raise DBOSConfigError(f"backoff_rate must be >= 1, got {backoff_rate!r}")
    if should_retry is not None and not callable(should_retry):
        raise DBOSConfigError(
            f"should_retry must be a callable taking the exception, got {should_retry!r}"
        )
    if timeout_seconds is not None and (
        not finite_at_least(timeout_seconds, 0.0) or timeout_seconds == 0
    ):
        raise DBOSConfigError(
            f"timeout_seconds must be a finite number of seconds > 0, got {timeout_seconds!r}"
        )
    if preemptible:
        raise DBOSException(
            "preemptible steps (cancelled with their workflow) are not supported yet; "
            "leave preemptible=False"
        )
    return StepPolicy(
        retries_allowed=bool(retries_allowed),
        interval_seconds=float(interval_seconds),
        max_attempts=max_attempts,
        backoff_rate=float(backoff_rate),
        should_retry=should_retry,
        timeout_s=None if timeout_seconds is None else float(timeout_seconds),
    )


def check_policy_fits(policy: StepPolicy, name: str, is_async: bool) -> None:
    """Refuse what only async steps support, for a sync step (DBOS Transact 3.4 refuses the
    same): a timeout (a thread cannot be stopped; left running, it would act after its step was
    recorded as timed out) and an async `should_retry` (a sync step has no loop to await it on).

    Raises:
        DBOSConfigError: naming the step and the option.
    """
    if is_async:
        return
    if policy.timeout_s is not None:
        raise DBOSConfigError(
            f"step {name!r} is sync but has timeout_seconds: step timeouts are only "
            "supported for async steps"
        )
    if policy.should_retry is not None and inspect.iscoroutinefunction(policy.should_retry):
        raise DBOSConfigError(
            f"step {name!r} is sync but its should_retry is async: use a sync predicate, or "
            "make the step async"
        )


_OPTION_KEYS = frozenset(StepOptions.__annotations__)


def _registration(options: StepOptions | None, func: Callable[..., Any]) -> StepRegistration:
    """The registration a step run from options uses: built per call, never registered (the
    function is not reachable by name, so it cannot be enqueued or started on its own)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise DBOSException(f"step options must be a dict (StepOptions) or None, got {options!r}")
    unknown = sorted(set(options) - _OPTION_KEYS)
    if unknown:
        raise DBOSException(
            f"unknown step option(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(sorted(_OPTION_KEYS))}"
        )
    if not callable(func):
        raise DBOSException(f"run_step needs a function to run as a step, got {func!r}")
    name = options.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise DBOSException(f"step option 'name' must be a non-empty string, got {name!r}")
    policy = step_policy(
        retries_allowed=options.get("retries_allowed", False),
        interval_seconds=options.get("interval_seconds", 1.0),
        max_attempts=options.get("max_attempts", 3),
        backoff_rate=options.get("backoff_rate", 2.0),
        should_retry=options.get("should_retry"),
        preemptible=options.get("preemptible", False),
        timeout_seconds=options.get("timeout_seconds"),
    )
    registration = StepRegistration(
        name=name or function_name(func),
        function=func,
        policy=policy,
        is_async=inspect.iscoroutinefunction(func),
    )
    check_policy_fits(policy, registration.name, registration.is_async)
    return registration


def _run_sync(registration: StepRegistration, args: Any, kwargs: Any, reserved: int | None) -> Any:
    procedure = step_procedure(registration, args, kwargs, reserved)
    if not registration.is_async:
        return run_sync(procedure)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        procedure.close()
        raise DBOSException(
            f"a coroutine function ({registration.name}) cannot be run as a step with the sync "
            "call from a running event loop: await the _async form instead"
        )
    # A coroutine function from sync code runs on the engine's event loop thread (where async
    # workflows started from sync code run too, as in DBOS Transact); the caller's context
    # (the running workflow) goes with it. Before launch there is none: a loop of its own.
    try:
        loop = launched_engine()._background_loop()
    except DBOSNotLaunchedError:
        return asyncio.run(run_async(procedure))
    return asyncio.run_coroutine_threadsafe(run_async(procedure), loop).result()


async def _run_async(
    registration: StepRegistration, args: Any, kwargs: Any, reserved: int | None
) -> Any:
    procedure = step_procedure(registration, args, kwargs, reserved)
    if registration.is_async:
        return await run_async(procedure)
    # A sync function runs on a worker thread, so that it does not block the event loop.
    return await asyncio.to_thread(run_sync, procedure)


def current_step_status() -> StepStatus | None:
    """The status of the step whose body runs here, or None outside a step."""
    frame = current_step()
    if frame is None or current_workflow() is None:
        return None
    return StepStatus(frame.function_id, frame.attempt, frame.max_attempts)


class StepReservation:
    """A step ID drawn by `DBOS.reserve_step`, to run one step at later with `run` or
    `run_async` (DBOS Transact 3.4 semantics). The ID is taken when reserved, so the workflow's
    later operations get the same IDs in every execution, whenever the reserved step runs
    (for example in a task the workflow gathers). A reservation runs once, in the execution of
    the workflow that drew it, outside any step; one never run leaves its step ID unused.
    """

    def __init__(self, context: WorkflowContext, step_id: int) -> None:
        self._context = context
        self._step_id = step_id
        self._used = False

    @property
    def step_id(self) -> int:
        """The reserved step ID."""
        return self._step_id

    def __repr__(self) -> str:
        workflow_id = self._context.workflow_id
        return f"StepReservation(workflow_id={workflow_id!r}, step_id={self._step_id})"

    def _claim(self) -> None:
        if self._used:
            raise DBOSException(f"step reservation {self._step_id} was already run; run it once")
        if in_workflow_body() is not self._context:
            raise DBOSException(
                f"step {self._step_id} was reserved in workflow {self._context.workflow_id!r} "
                "and must be run from that workflow's execution, outside any step"
            )
        self._used = True

    @overload
    def run(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    def run(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    def run(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Any],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """Run `func(*args, **kwargs)` as a step at the reserved ID (see `DBOS.run_step`).

        Raises:
            DBOSException: the reservation already ran, or this is not the reserving
                workflow's execution (or is inside a step); bad options.
        """
        registration = _registration(dbos_step_options, func)
        self._claim()
        return _run_sync(registration, args, kwargs, self._step_id)

    @overload
    async def run_async(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    async def run_async(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    async def run_async(
        self,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Any],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """`run` for async code: a coroutine function is awaited, a sync one runs on a worker
        thread."""
        registration = _registration(dbos_step_options, func)
        self._claim()
        return await _run_async(registration, args, kwargs, self._step_id)


class StepsAPI:
    """Steps without the decorator: `run_step`, `reserve_step`."""

    @overload
    @classmethod
    def run_step(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    @classmethod
    def run_step(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @classmethod
    def run_step(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Any],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """Run `func(*args, **kwargs)` as a step and return its value: inside a workflow it is
        checkpointed under ``dbos_step_options["name"]`` (default: the function's qualified
        name) at the next step ID, with the options' retries and timeout, and a replay returns
        (or raises) the recorded outcome without calling `func`. Outside a workflow, or inside
        a step, it is a plain call. DBOS Transact 3.4 semantics.

        A coroutine function runs on the engine's event loop (from sync code outside an event
        loop; from a running loop use `run_step_async`).

        Raises:
            DBOSException / DBOSConfigError: bad options (unknown keys, numbers out of range,
                a timeout or async `should_retry` for a sync function).
            DBOSStepTimeoutError: an async step's attempt overran `timeout_seconds`.
            DBOSMaxStepRetriesExceeded: every allowed attempt failed.
        """
        return _run_sync(_registration(dbos_step_options, func), args, kwargs, None)

    @overload
    @classmethod
    async def run_step_async(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @overload
    @classmethod
    async def run_step_async(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R: ...

    @classmethod
    async def run_step_async(
        cls,
        dbos_step_options: StepOptions | None,
        func: Callable[P, Any],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Any:
        """`run_step` for async code: a coroutine function is awaited, a sync one runs on a
        worker thread (its checkpoint and retries too), so the event loop is not blocked."""
        return await _run_async(_registration(dbos_step_options, func), args, kwargs, None)

    @classmethod
    def reserve_step(cls) -> StepReservation:
        """Draw the next step ID now, for a step to run at it later (`StepReservation.run`):
        the workflow's later operations keep their IDs whenever that step runs. DBOS Transact
        3.4 semantics.

        Raises:
            DBOSException: not called from a workflow's body (outside a workflow, or in a
                step).
        """
        context = in_workflow_body()
        if context is None:
            raise DBOSException(
                "DBOS.reserve_step must be called from a workflow, outside any step"
            )
        return StepReservation(context, context.take_function_id())
