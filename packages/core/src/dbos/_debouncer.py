"""`Debouncer` (DBOS Transact 3.4's name and signatures): coalesce many starts of a workflow
under one key into one start, with the last call's inputs; and the debouncer workflow that
app processes run for it (see `dbos.management._debounce` for the design)."""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, Generic, ParamSpec, TypeVar

from ._base.errors import DBOSException
from ._dbos import DBOS
from ._engine import registry as _registry
from ._engine.context import current_step, current_workflow, take_assigned_workflow_id
from ._engine.effects import run_async, run_sync
from ._engine.queues import INTERNAL_QUEUE_NAME, current_enqueue_options
from ._engine.starts import StartPosition, enqueue_named
from ._launched import launched_engine
from ._queue import Queue, check_queue_name
from .management._debounce import (
    DEBOUNCE_TOPIC,
    DEBOUNCER_WORKFLOW,
    check_period,
    debounce,
    target_options,
)
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import EnqueueOptions, Management
from .storage._records import NewWorkflow

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)

#: The recorded name of a debounce called inside a workflow (one step: a replay returns the
#: workflow ID it gave, and sends nothing again).
_DEBOUNCE_STEP = "DBOS.debounce"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _debouncer_body(
    target: dict[str, Any], period: float, deadline_ms: int | None, inputs: dict[str, Any]
) -> str:
    """The debouncer workflow: take later inputs until a whole period passes without any (or
    the deadline comes), then enqueue the target with the last ones. Every wait, message and
    clock reading is recorded, so a recovery replays them and decides the same."""
    while True:
        now = DBOS.run_step({"name": "DBOS.now"}, _now_ms)
        wait_s = period if deadline_ms is None else min(period, (deadline_ms - now) / 1000)
        if wait_s <= 0:
            break
        message = DBOS.recv(DEBOUNCE_TOPIC, timeout_seconds=wait_s)
        if message is None:
            break
        inputs, period = message["inputs"], float(message["period"])
        # The acknowledgement tells the caller its inputs are taken, and the target's ID.
        DBOS.set_event(message["message_id"], target["workflow_id"])
    _start_target(target, tuple(inputs["args"]), dict(inputs["kwargs"]))
    return str(target["workflow_id"])


def _start_target(target: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Enqueue the target under its fixed ID as this (debouncer) workflow's recorded child,
    on its queue (the internal queue included, which `Management` keeps from callers)."""
    engine = launched_engine()
    management = Management(engine.storage, engine.codec, engine.application_name)
    queue = str(target["queue_name"])
    options = dict(target, queue_name="_") if queue == INTERNAL_QUEUE_NAME else dict(target)

    def build(position: StartPosition) -> NewWorkflow:
        new = management._enqueued_workflow(options, args, kwargs)  # type: ignore[arg-type]
        parent = position.parent
        return replace(
            new,
            queue_name=queue,
            parent_workflow_id=None if parent is None else parent.workflow_id,
        )

    run_sync(enqueue_named(engine.recorder, str(target["workflow_name"]), build))
    engine.work_enqueued(queue)


def register_debouncer() -> None:
    """Register the debouncer workflow (at every launch: a registry cleared by
    ``DBOS.destroy(destroy_registry=True)`` gets it back)."""
    if _registry.workflow(DEBOUNCER_WORKFLOW) is None:
        DBOS.workflow(name=DEBOUNCER_WORKFLOW)(_debouncer_body)


def _queue_name(queue: Queue | str | None) -> str | None:
    if queue is None:
        return None
    return check_queue_name(queue.name if isinstance(queue, Queue) else queue)


def _no_application_name(application_name: str | None) -> None:
    if application_name is not None:
        raise DBOSException(
            "application_name is not supported here: one system database serves one "
            "application (DBOS Transact 3.4 lets several share one)"
        )


class Debouncer(Generic[P, R_co]):
    """Start a workflow once for many calls: calls of `debounce` with the same key start one
    workflow, with the inputs of the last call, once `debounce_period_sec` has passed since
    the last call (or `debounce_timeout_sec` since the first). DBOS Transact 3.4's API and
    meaning, on our own design (see `dbos.management._debounce`): durable across crashes and
    processes; the waiting is done by a recorded debouncer workflow that app processes run.

    Args:
        workflow_name: The registered name of the workflow to start (`create` takes the
            function instead).
        debounce_timeout_sec: At most this many seconds after the first call of a window,
            the workflow starts even if calls keep coming (None: no limit).
        queue: The queue (or its name) the workflow runs on (None: the internal queue, as in
            DBOS Transact).
        application_name: Refused unless None (DBOS Transact 3.4 serves several
            applications from one system database; here one).
    """

    def __init__(
        self,
        workflow_name: str,
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
        application_name: str | None = None,
    ) -> None:
        if not isinstance(workflow_name, str) or not workflow_name:
            raise DBOSException(f"workflow_name must be a non-empty string, got {workflow_name!r}")
        _no_application_name(application_name)
        if debounce_timeout_sec is not None:
            check_period(debounce_timeout_sec, "debounce_timeout_sec")
        self.func_name = workflow_name
        self.debounce_timeout_sec = debounce_timeout_sec
        self.queue_name = _queue_name(queue)

    @staticmethod
    def create(
        workflow: Callable[P, R_co],
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
        application_name: str | None = None,
    ) -> Debouncer[P, R_co]:
        """A `Debouncer` for the workflow function `workflow` (not a bound method: raises
        `TypeError`; not a workflow: `DBOSException`)."""
        if isinstance(workflow, types.MethodType):
            raise TypeError("Only workflow functions may be debounced, not methods")
        name = _registry.registration_of(workflow).name
        return Debouncer[P, R_co](
            name,
            debounce_timeout_sec=debounce_timeout_sec,
            queue=queue,
            application_name=application_name,
        )

    @staticmethod
    def create_async(
        workflow: Callable[P, Coroutine[Any, Any, R_co]],
        *,
        debounce_timeout_sec: float | None = None,
        queue: Queue | str | None = None,
        application_name: str | None = None,
    ) -> Debouncer[P, R_co]:
        """`create` for an async workflow function."""
        if isinstance(workflow, types.MethodType):
            raise TypeError("Only workflow functions may be debounced, not methods")
        name = _registry.registration_of(workflow).name
        return Debouncer[P, R_co](
            name,
            debounce_timeout_sec=debounce_timeout_sec,
            queue=queue,
            application_name=application_name,
        )

    def _target(self) -> EnqueueOptions:
        """The target's enqueue options: this debouncer's, the enclosing `SetWorkflowID` (the
        ID a new window's workflow gets; consumed either way) and `SetEnqueueOptions` (whose
        deduplication ID, priority, delay, partition key or duplication policy a debounce
        refuses, as in DBOS Transact)."""
        assigned = take_assigned_workflow_id()
        ambient = current_enqueue_options()
        if ambient.queue_partition_key is not None:
            raise DBOSException(
                "Cannot debounce a workflow with a queue partition key set: partitioned "
                "queues do not support the deduplication a debounce relies on"
            )
        target: EnqueueOptions = {
            "workflow_name": self.func_name,
            "queue_name": self.queue_name or INTERNAL_QUEUE_NAME,
        }
        for key, value in (
            ("deduplication_id", ambient.deduplication_id),
            ("priority", ambient.priority),
            ("delay_seconds", ambient.delay_seconds),
            ("duplication_policy", ambient.duplication_policy),
            ("app_version", ambient.app_version),
            ("workflow_id", assigned),
        ):
            if value is not None:
                target[key] = value  # type: ignore[literal-required]
        return target_options(target)

    def _debounce_sync(
        self, key: str, period: float, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        engine = launched_engine()
        if _registry.workflow(self.func_name) is None:
            raise DBOSException(f"Invalid workflow name provided to debouncer: {self.func_name}")
        management = Management(engine.storage, engine.codec, engine.application_name)
        procedure = debounce(
            management, engine, self._target(), key, period, self.debounce_timeout_sec, args, kwargs
        )
        workflow_id = run_sync(procedure)
        engine.work_enqueued(INTERNAL_QUEUE_NAME)
        return workflow_id

    def debounce(
        self, debounce_key: str, debounce_period_sec: float, *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R_co]:
        """Start the workflow with these inputs once `debounce_period_sec` seconds pass with
        no other call for `debounce_key` (the last call's inputs and period win; each call
        restarts the window). Returns the handle of the workflow that will start (the same
        for every call of one window).

        Inside a workflow the call is one recorded step: a recovery gets the same handle and
        sends nothing again.

        Raises:
            DBOSException: a bad key or period, options a debounce refuses (see `_target`),
                or a workflow name this process has not registered.
            DBOSNotLaunchedError: DBOS is not launched.
        """
        period = check_period(debounce_period_sec, "debounce_period_sec")
        engine = launched_engine()
        if current_workflow() is not None and current_step() is None:
            workflow_id: str = DBOS.run_step(
                {"name": _DEBOUNCE_STEP},
                self._debounce_sync,
                debounce_key,
                period,
                args,
                kwargs,
            )
        else:
            workflow_id = self._debounce_sync(debounce_key, period, args, kwargs)
        return WorkflowHandle(engine, workflow_id)

    async def debounce_async(
        self, debounce_key: str, debounce_period_sec: float, *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R_co]:
        """`debounce` for async code: the waiting does not block the event loop, and the handle
        is a `WorkflowHandleAsync`."""
        period = check_period(debounce_period_sec, "debounce_period_sec")
        engine = launched_engine()
        if current_workflow() is not None and current_step() is None:
            workflow_id: str = await DBOS.run_step_async(
                {"name": _DEBOUNCE_STEP},
                self._debounce_sync,
                debounce_key,
                period,
                args,
                kwargs,
            )
        else:
            if _registry.workflow(self.func_name) is None:
                raise DBOSException(
                    f"Invalid workflow name provided to debouncer: {self.func_name}"
                )
            management = Management(engine.storage, engine.codec, engine.application_name)
            workflow_id = await run_async(
                debounce(
                    management,
                    engine,
                    self._target(),
                    debounce_key,
                    period,
                    self.debounce_timeout_sec,
                    args,
                    kwargs,
                )
            )
            engine.work_enqueued(INTERNAL_QUEUE_NAME)
        return WorkflowHandleAsync(engine, workflow_id)
