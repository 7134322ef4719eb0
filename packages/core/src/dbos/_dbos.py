"""`DBOS`: the public face. Decorators register functions; class-level calls reach the one
launched instance, as in DBOS Transact."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, ParamSpec, TypeVar, cast, overload

from . import _registry
from ._config import DBOSConfig, Settings, resolve
from ._context import current_workflow, take_assigned_workflow_id
from ._cron import parse_cron
from ._effects import Blocking, Procedure, run_async, run_sync
from ._engine import Engine, QueuePlacement
from ._errors import DBOSConfigError, DBOSException, DBOSNotLaunchedError
from ._handle import WorkflowHandle, WorkflowHandleAsync, WorkflowStatus
from ._listing import build_query, build_queued_query
from ._management import Management, StepInfo
from ._messaging import (
    check_timeout,
    get_event_procedure,
    recv_procedure,
    send_procedure,
    set_event_procedure,
    stream_batch_procedure,
    write_stream_procedure,
)
from ._outcome import now_ms
from ._plugins import Hooks, broken_plugins, plugin_manager
from ._queue import (
    DEFAULT_POLLING_INTERVAL_S,
    Queue,
    QueueRateLimit,
    clear_queues,
    current_enqueue_options,
    find_queue,
)
from ._records import WAKE_STREAM, StorageOptions, Wakeup
from ._registry import (
    DEFAULT_MAX_RECOVERY_ATTEMPTS,
    ScheduledRegistration,
    StepPolicy,
    StepRegistration,
    WorkflowRegistration,
    function_name,
)
from ._resilient import ResilientStorage
from ._scheduler import MISSED_TICK_POLICIES
from ._serialization import Codec
from ._step import sleep_procedure, step_procedure
from ._storage import SystemStorage
from ._urls import mask_password, url_scheme

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
#: A scheduled workflow: called with the tick's scheduled time and the actual start time.
ScheduledWorkflow = TypeVar("ScheduledWorkflow", bound=Callable[[datetime, datetime], Any])

logger = logging.getLogger("dbos")

_REGISTRATION_ATTR = "__dbos_workflow__"
#: Registered name of the one-step workflow that runs an enqueued (or started) step.
STEP_WORKFLOW_PREFIX = "dbos.step:"
_BACKEND_PACKAGES = {"postgresql": "dbos-postgres", "postgres": "dbos-postgres"}


class _ClassProperty(Generic[T]):
    """A read-only property on the class itself (``DBOS.workflow_id``)."""

    def __init__(self, getter: Callable[[], T]) -> None:
        self._getter = getter

    def __get__(self, instance: object, owner: type | None = None) -> T:
        return self._getter()


def _current_workflow_id() -> str | None:
    context = current_workflow()
    return None if context is None else context.workflow_id


def _current_step_id() -> int | None:
    context = current_workflow()
    return None if context is None else context.step_id


def _registration_of(func: Callable[..., Any]) -> WorkflowRegistration:
    registration = getattr(func, _REGISTRATION_ATTR, None)
    if not isinstance(registration, WorkflowRegistration):
        raise DBOSException(
            f"{function_name(func)} is not a workflow; decorate it with @DBOS.workflow()"
        )
    return registration


class DBOS:
    """Durable workflows: decorate functions, configure once, launch, then call them.

    Example:
        DBOS(config={"name": "my-app"})
        DBOS.launch()
    """

    _instance: ClassVar[DBOS | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()

    logger: ClassVar[logging.Logger] = logger
    workflow_id = _ClassProperty(_current_workflow_id)
    step_id = _ClassProperty(_current_step_id)

    def __init__(self, *, config: DBOSConfig) -> None:
        settings = resolve(config)
        with DBOS._instance_lock:
            previous = DBOS._instance
            if previous is not None and previous._engine is not None:
                raise DBOSException(
                    "a DBOS instance is already launched in this process; call DBOS.destroy() "
                    "before creating another"
                )
            self._settings: Settings = settings
            self._engine: Engine | None = None
            self._storage: SystemStorage | None = None
            DBOS._instance = self

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    def launch(cls) -> None:
        """Connect to the system database, migrate it, and resume this executor's pending
        workflows. Idempotent."""
        instance = cls._instance
        if instance is None:
            raise DBOSNotLaunchedError("create DBOS(config={...}) before calling DBOS.launch()")
        instance._launch()

    def _launch(self) -> None:
        if self._engine is not None:
            return
        settings = self._settings
        hooks = Hooks(plugin_manager())
        options = StorageOptions(
            system_schema=settings.system_schema,
            pool_size=settings.pool_size,
            application_name=settings.name,
        )
        storage = hooks.storage_for_url(settings.system_database_url, options)
        if storage is None:
            scheme = url_scheme(settings.system_database_url)
            package = _BACKEND_PACKAGES.get(scheme, f"a backend for {scheme!r}")
            broken = "".join(
                f"\n  plugin {n} failed to load: {e}" for n, e in broken_plugins().items()
            )
            raise DBOSConfigError(
                "no installed storage backend handles "
                f"{mask_password(settings.system_database_url)!r}; install {package}{broken}"
            )
        try:
            storage.setup()
        except BaseException:
            storage.close()
            raise
        storage = ResilientStorage(storage, hooks).as_storage()
        version = settings.application_version or _registry.application_version()
        engine = Engine(
            storage,
            hooks,
            Codec(settings.serializer),
            settings.executor_id,
            version,
            settings.max_executor_threads,
        )
        self._storage, self._engine = storage, engine
        engine.recover_pending()
        engine.start_background()
        logger.info(
            "DBOS launched: system database %s, executor %s, application version %s",
            storage.url_for_display,
            settings.executor_id,
            version,
        )

    @classmethod
    def destroy(
        cls, *, destroy_registry: bool = False, workflow_completion_timeout_sec: float = 0
    ) -> None:
        """Shut down. Workflows still running stay PENDING and are recovered at the next
        launch. `workflow_completion_timeout_sec` waits that long for them first."""
        with cls._instance_lock:
            instance, cls._instance = cls._instance, None
        if instance is not None:
            if instance._engine is not None:
                instance._engine.close(workflow_completion_timeout_sec)
            if instance._storage is not None:
                instance._storage.close()
            instance._engine = instance._storage = None
        if destroy_registry:
            _registry.clear()
            clear_queues()

    @classmethod
    def _launched_engine(cls) -> Engine:
        instance = cls._instance
        if instance is None or instance._engine is None:
            raise DBOSNotLaunchedError(
                "DBOS is not launched: call DBOS(config={...}) and DBOS.launch() first"
            )
        return instance._engine

    @classmethod
    def recover_pending_workflows(cls) -> list[WorkflowHandle[Any]]:
        """Resume this executor's PENDING workflows now (launch does this already)."""
        engine = cls._launched_engine()
        return [WorkflowHandle(engine, workflow_id) for workflow_id in engine.recover_pending()]

    @classmethod
    def application_version(cls) -> str:
        return cls._launched_engine().application_version

    # --- decorators -------------------------------------------------------------------------

    @classmethod
    def workflow(
        cls, *, name: str | None = None, max_recovery_attempts: int | None = None
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Make a function a durable workflow.

        Args:
            name: Registered name (default: the function's qualified name). Stored with
                every execution; recovery finds the function by it.
            max_recovery_attempts: How often a crashed execution is resumed before it is
                marked MAX_RECOVERY_ATTEMPTS_EXCEEDED (default 100).
        """
        if max_recovery_attempts is not None and (
            type(max_recovery_attempts) is not int or max_recovery_attempts < 0
        ):
            raise DBOSConfigError(
                "max_recovery_attempts must be a non-negative integer, "
                f"got {max_recovery_attempts!r}"
            )

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            registration = WorkflowRegistration(
                name=name or function_name(func),
                function=func,
                max_recovery_attempts=(
                    DEFAULT_MAX_RECOVERY_ATTEMPTS
                    if max_recovery_attempts is None
                    else max_recovery_attempts
                ),
                is_async=inspect.iscoroutinefunction(func),
            )
            _registry.register_workflow(registration)
            wrapper: Callable[..., Any]
            if registration.is_async:

                @functools.wraps(func)
                async def async_workflow(*args: Any, **kwargs: Any) -> Any:
                    engine = DBOS._launched_engine()
                    return (await run_async(engine.call(registration, args, kwargs))).unwrap()

                wrapper = async_workflow
            else:

                @functools.wraps(func)
                def sync_workflow(*args: Any, **kwargs: Any) -> Any:
                    engine = DBOS._launched_engine()
                    return run_sync(engine.call(registration, args, kwargs)).unwrap()

                wrapper = sync_workflow
            setattr(wrapper, _REGISTRATION_ATTR, registration)
            return cast(Callable[P, R], wrapper)

        return decorator

    @classmethod
    def step(
        cls,
        *,
        name: str | None = None,
        retries_allowed: bool = False,
        interval_seconds: float = 1.0,
        max_attempts: int = 3,
        backoff_rate: float = 2.0,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Make a function a checkpointed step: inside a workflow it runs once, and its
        recorded result is returned when the workflow is replayed.

        Args:
            name: Recorded name (default: the function's qualified name).
            retries_allowed: Retry the step when it raises.
            interval_seconds: Wait before the first retry.
            max_attempts: Attempts in all, the first included.
            backoff_rate: Factor applied to the wait after each retry.
        """
        if type(max_attempts) is not int or max_attempts < 1:
            raise DBOSConfigError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if not _finite_at_least(interval_seconds, 0.0):
            raise DBOSConfigError(f"interval_seconds must be >= 0, got {interval_seconds!r}")
        if not _finite_at_least(backoff_rate, 1.0):
            raise DBOSConfigError(f"backoff_rate must be >= 1, got {backoff_rate!r}")
        policy = StepPolicy(
            retries_allowed=bool(retries_allowed),
            interval_seconds=float(interval_seconds),
            max_attempts=max_attempts,
            backoff_rate=float(backoff_rate),
        )

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            registration = StepRegistration(
                name=name or function_name(func),
                function=func,
                policy=policy,
                is_async=inspect.iscoroutinefunction(func),
            )
            _registry.register_step(registration)
            wrapper: Callable[..., Any]
            if registration.is_async:

                @functools.wraps(func)
                async def async_step(*args: Any, **kwargs: Any) -> Any:
                    return await run_async(step_procedure(registration, args, kwargs))

                wrapper = async_step
            else:

                @functools.wraps(func)
                def sync_step(*args: Any, **kwargs: Any) -> Any:
                    return run_sync(step_procedure(registration, args, kwargs))

                wrapper = sync_step
            # A step may be enqueued or started on its own: it then runs as a one-step
            # workflow, registered now so that any process can run or recover it.
            as_workflow = WorkflowRegistration(
                name=f"{STEP_WORKFLOW_PREFIX}{registration.name}",
                function=wrapper,
                max_recovery_attempts=DEFAULT_MAX_RECOVERY_ATTEMPTS,
                is_async=registration.is_async,
            )
            _registry.register_workflow(as_workflow)
            setattr(wrapper, _REGISTRATION_ATTR, as_workflow)
            return cast(Callable[P, R], wrapper)

        return decorator

    @classmethod
    def scheduled(
        cls, cron: str, *, missed_ticks: Literal["skip", "run_once"] = "skip"
    ) -> Callable[[ScheduledWorkflow], ScheduledWorkflow]:
        """Run a workflow on a cron schedule, once per tick across all processes of the app.

        Put it above ``@DBOS.workflow()``; the workflow takes ``(scheduled_time,
        actual_time)``, both UTC datetimes. `cron` has 5 fields (minute hour day month
        weekday) or 6 (seconds first), in UTC.

        Args:
            cron: The schedule, e.g. ``"*/5 * * * *"`` (every five minutes).
            missed_ticks: What happens to ticks that fell while the app was not running:
                ``"skip"`` them (the default), or ``"run_once"``: at launch, run the latest
                missed tick once (if the schedule ran before).
        """
        schedule = parse_cron(cron)
        if missed_ticks not in MISSED_TICK_POLICIES:
            raise DBOSConfigError(
                f"missed_ticks must be one of {MISSED_TICK_POLICIES}, got {missed_ticks!r}"
            )

        def decorator(func: ScheduledWorkflow) -> ScheduledWorkflow:
            registration = getattr(func, _REGISTRATION_ATTR, None)
            if not isinstance(registration, WorkflowRegistration):
                raise DBOSConfigError(
                    f"@DBOS.scheduled needs a workflow: put it above @DBOS.workflow() on "
                    f"{function_name(func)}"
                )
            _registry.register_scheduled(
                ScheduledRegistration(registration, schedule, missed_ticks)
            )
            return func

        return decorator

    # --- starting and finding workflows -----------------------------------------------------

    @overload
    @classmethod
    def start_workflow(
        cls, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @overload
    @classmethod
    def start_workflow(
        cls, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @classmethod
    def start_workflow(
        cls, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[Any]:
        """Start a workflow in the background and return a handle to it at once.

        The workflow is durably created before this returns. A sync workflow runs on the
        engine's thread pool; an async one on the running event loop or the engine's own.
        """
        engine = cls._launched_engine()
        started = run_sync(engine.start(_registration_of(func), args, kwargs))
        engine.dispatch(started)
        return WorkflowHandle(engine, started.workflow_id, started.active)

    @overload
    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @classmethod
    async def start_workflow_async(
        cls, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[Any]:
        """Start a workflow from async code; the handle's `get_result` is awaitable."""
        engine = cls._launched_engine()
        started = await run_async(engine.start(_registration_of(func), args, kwargs))
        engine.dispatch(started)
        return WorkflowHandleAsync(engine, started.workflow_id, started.active)

    @classmethod
    def retrieve_workflow(
        cls, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandle[Any]:
        """A handle to a workflow by ID. Raises `DBOSNonExistentWorkflowError` if there is no
        such workflow, unless `existing_workflow` is False."""
        engine = cls._launched_engine()
        if existing_workflow:
            WorkflowHandle[Any](engine, workflow_id).get_status()
        return WorkflowHandle(engine, workflow_id)

    @classmethod
    async def retrieve_workflow_async(
        cls, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandleAsync[Any]:
        engine = cls._launched_engine()
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(engine, workflow_id)
        if existing_workflow:
            await handle.get_status()
        return handle

    @classmethod
    def get_workflow_status(cls, workflow_id: str) -> WorkflowStatus | None:
        """The stored status of a workflow, or None if there is no such workflow."""
        return run_sync(cls._management().get_status(workflow_id))

    @classmethod
    async def get_workflow_status_async(cls, workflow_id: str) -> WorkflowStatus | None:
        return await run_async(cls._management().get_status(workflow_id))

    @classmethod
    def list_workflows(
        cls,
        *,
        workflow_ids: list[str] | None = None,
        status: str | list[str] | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        name: str | None = None,
        app_version: str | None = None,
        executor_id: str | None = None,
        queue_name: str | None = None,
        workflow_id_prefix: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
        load_output: bool = True,
    ) -> list[WorkflowStatus]:
        """Workflows matching every given filter, oldest first (newest with `sort_desc`)."""
        query = build_query(
            workflow_ids=workflow_ids,
            status=status,
            start_time=start_time,
            end_time=end_time,
            name=name,
            app_version=app_version,
            executor_id=executor_id,
            queue_name=queue_name,
            workflow_id_prefix=workflow_id_prefix,
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
            load_output=load_output,
        )
        return run_sync(cls._management().list_workflows(query))

    @classmethod
    def list_queued_workflows(
        cls,
        *,
        queue_name: str | None = None,
        status: str | list[str] | None = None,
        name: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
    ) -> list[WorkflowStatus]:
        """Tasks of queues (all, or `queue_name`) that are ENQUEUED or PENDING (or `status`)."""
        query = build_queued_query(
            queue_name=queue_name,
            status=status,
            name=name,
            start_time=start_time,
            end_time=end_time,
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
        )
        return run_sync(cls._management().list_workflows(query))

    # --- management ---------------------------------------------------------------------------

    @classmethod
    def _management(cls) -> Management:
        engine = cls._launched_engine()
        return Management(engine.storage, engine.codec)

    @classmethod
    def list_workflow_steps(cls, workflow: str | WorkflowStatus) -> list[StepInfo]:
        """The recorded steps of a workflow (given by ID or status), in step-ID order: step IDs
        count from 0 in the order the workflow ran them. Each has its function name, output,
        error (the exception), start and end times and child workflow ID. Raises
        `DBOSNonExistentWorkflowError` for an unknown ID."""
        return run_sync(cls._management().list_steps(_workflow_id_of(workflow)))

    @classmethod
    async def list_workflow_steps_async(cls, workflow: str | WorkflowStatus) -> list[StepInfo]:
        return await run_async(cls._management().list_steps(_workflow_id_of(workflow)))

    @classmethod
    def cancel_workflow(cls, workflow_id: str) -> None:
        """Cancel a workflow that is queued or running. A queued one never starts; a running
        one stops at its next step boundary (status CANCELLED; waiters get
        `DBOSWorkflowCancelledError`). A finished workflow is left as it is."""
        cls.cancel_workflows([workflow_id])

    @classmethod
    async def cancel_workflow_async(cls, workflow_id: str) -> None:
        await cls.cancel_workflows_async([workflow_id])

    @classmethod
    def cancel_workflows(cls, workflow_ids: list[str]) -> None:
        """`cancel_workflow` for many workflows at once (one transaction)."""
        try:
            run_sync(cls._management().cancel(workflow_ids))
        finally:
            cls._cancelled(workflow_ids)

    @classmethod
    async def cancel_workflows_async(cls, workflow_ids: list[str]) -> None:
        try:
            await run_async(cls._management().cancel(workflow_ids))
        finally:
            cls._cancelled(workflow_ids)

    @classmethod
    def _cancelled(cls, workflow_ids: list[str]) -> None:
        """Readers of a cancelled workflow's streams here learn at once that it is over."""
        engine = cls._launched_engine()
        for workflow_id in workflow_ids:
            engine.wakeups.notify(Wakeup(WAKE_STREAM, workflow_id))

    @classmethod
    def resume_workflow(cls, workflow_id: str) -> WorkflowHandle[Any]:
        """Continue a cancelled or failed workflow from its last completed step, in this
        process (an enqueued one starts now, bypassing its queue). Returns its handle."""
        engine = cls._launched_engine()
        return WorkflowHandle(engine, workflow_id, engine.resume(workflow_id))

    @classmethod
    async def resume_workflow_async(cls, workflow_id: str) -> WorkflowHandleAsync[Any]:
        engine = cls._launched_engine()
        active = await run_async(_blocking_call(engine.resume, workflow_id))
        return WorkflowHandleAsync(engine, workflow_id, active)

    @classmethod
    def resume_workflows(cls, workflow_ids: list[str]) -> list[WorkflowHandle[Any]]:
        """`resume_workflow` for each of several workflows."""
        return [cls.resume_workflow(workflow_id) for workflow_id in workflow_ids]

    @classmethod
    async def resume_workflows_async(
        cls, workflow_ids: list[str]
    ) -> list[WorkflowHandleAsync[Any]]:
        return [await cls.resume_workflow_async(workflow_id) for workflow_id in workflow_ids]

    @classmethod
    def fork_workflow(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
    ) -> WorkflowHandle[Any]:
        """Start a new workflow that re-runs `workflow_id` from step `start_step`.

        The new workflow has the original's name and inputs and a new ID (or the one set by an
        enclosing `SetWorkflowID`). The steps before `start_step` are not run again: their
        recorded outputs are copied to it. It runs on a process of `application_version`
        (default: the original's version, whose code recorded those steps). The original is
        not changed.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSForkStepError: `start_step` is past the workflow's last step + 1.
        """
        engine = cls._launched_engine()
        forked = run_sync(
            cls._management().fork(
                workflow_id,
                start_step,
                forked_workflow_id=take_assigned_workflow_id(),
                application_version=application_version,
            )
        )
        engine.queue_worker.wake()
        return WorkflowHandle(engine, forked)

    @classmethod
    async def fork_workflow_async(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
    ) -> WorkflowHandleAsync[Any]:
        engine = cls._launched_engine()
        forked = await run_async(
            cls._management().fork(
                workflow_id,
                start_step,
                forked_workflow_id=take_assigned_workflow_id(),
                application_version=application_version,
            )
        )
        engine.queue_worker.wake()
        return WorkflowHandleAsync(engine, forked)

    @classmethod
    def delete_workflow(cls, workflow_id: str, *, delete_children: bool = False) -> None:
        """Delete a workflow and everything recorded for it (with `delete_children`, its
        child workflows too). Raises `DBOSNonExistentWorkflowError` for an unknown ID."""
        run_sync(cls._management().delete([workflow_id], delete_children=delete_children))

    @classmethod
    async def delete_workflow_async(
        cls, workflow_id: str, *, delete_children: bool = False
    ) -> None:
        await run_async(cls._management().delete([workflow_id], delete_children=delete_children))

    @classmethod
    def delete_workflows(cls, workflow_ids: list[str], *, delete_children: bool = False) -> None:
        """`delete_workflow` for many workflows at once (one transaction)."""
        run_sync(cls._management().delete(workflow_ids, delete_children=delete_children))

    @classmethod
    async def delete_workflows_async(
        cls, workflow_ids: list[str], *, delete_children: bool = False
    ) -> None:
        await run_async(cls._management().delete(workflow_ids, delete_children=delete_children))

    @classmethod
    def garbage_collect(cls, before: datetime | str | int) -> int:
        """Retention: delete finished workflows created before `before` (a datetime, ISO 8601
        string or epoch ms) with their steps; queued and running ones are kept. Returns how
        many were deleted."""
        return run_sync(cls._management().garbage_collect(before))

    @classmethod
    async def garbage_collect_async(cls, before: datetime | str | int) -> int:
        return await run_async(cls._management().garbage_collect(before))

    # --- queues -----------------------------------------------------------------------------

    @classmethod
    def register_queue(
        cls,
        name: str,
        concurrency: int | None = None,
        limiter: QueueRateLimit | None = None,
        *,
        worker_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> Queue:
        """Declare a queue (the same as constructing `Queue(...)`)."""
        return Queue(
            name,
            concurrency,
            limiter,
            worker_concurrency=worker_concurrency,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
            polling_interval_sec=polling_interval_sec,
        )

    @classmethod
    def retrieve_queue(cls, name: str) -> Queue:
        """The queue declared under `name`."""
        queue = find_queue(name)
        if queue is None:
            raise DBOSException(f"no queue named {name!r} is declared in this process")
        return queue

    # --- inside workflows -------------------------------------------------------------------

    @classmethod
    def sleep(cls, seconds: float) -> None:
        """Sleep durably: inside a workflow, a recovered execution sleeps only what is left."""
        _check_seconds(seconds)
        run_sync(sleep_procedure(float(seconds)))

    @classmethod
    async def sleep_async(cls, seconds: float) -> None:
        """`DBOS.sleep` for async workflows."""
        _check_seconds(seconds)
        await run_async(sleep_procedure(float(seconds)))

    # --- messages, events and streams ----------------------------------------------------------

    @classmethod
    def send(cls, destination_id: str, message: Any, topic: str | None = None) -> None:
        """Send `message` to the workflow `destination_id`, under `topic` (optional).

        From a workflow the send is checkpointed with the message in one transaction, so it
        happens exactly once however often the sender recovers; from anywhere else it is one
        write. Raises `DBOSNonExistentWorkflowError` if there is no such workflow.
        """
        run_sync(send_procedure(cls._launched_engine(), destination_id, message, topic))

    @classmethod
    async def send_async(cls, destination_id: str, message: Any, topic: str | None = None) -> None:
        """`DBOS.send` for async code."""
        await run_async(send_procedure(cls._launched_engine(), destination_id, message, topic))

    @classmethod
    def recv(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """Inside a workflow: the oldest unreceived message sent to it under `topic`, waiting
        up to `timeout_seconds` for one (None if none came). Each message is received once;
        a recovered workflow gets the same message again."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        return run_sync(recv_procedure(cls._launched_engine(), topic, timeout))

    @classmethod
    async def recv_async(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """`DBOS.recv` for async workflows (waits without holding a thread)."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        return await run_async(recv_procedure(cls._launched_engine(), topic, timeout))

    @classmethod
    def set_event(cls, key: str, value: Any) -> None:
        """Inside a workflow: publish `value` under `key` for `DBOS.get_event` readers (a later
        call with the same key replaces it)."""
        run_sync(set_event_procedure(cls._launched_engine(), key, value))

    @classmethod
    async def set_event_async(cls, key: str, value: Any) -> None:
        """`DBOS.set_event` for async workflows."""
        await run_async(set_event_procedure(cls._launched_engine(), key, value))

    @classmethod
    def get_event(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """The value workflow `workflow_id` set under `key`, waiting up to `timeout_seconds`
        for it to be set (None if it was not). Works from anywhere; inside a workflow the
        value read is checkpointed."""
        timeout = check_timeout("DBOS.get_event", timeout_seconds)
        return run_sync(get_event_procedure(cls._launched_engine(), workflow_id, key, timeout))

    @classmethod
    async def get_event_async(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """`DBOS.get_event` for async code (waits without holding a thread)."""
        timeout = check_timeout("DBOS.get_event", timeout_seconds)
        engine = cls._launched_engine()
        return await run_async(get_event_procedure(engine, workflow_id, key, timeout))

    @classmethod
    def write_stream(cls, key: str, value: Any) -> None:
        """Inside a workflow (or step): append `value` to this workflow's stream `key`."""
        run_sync(write_stream_procedure(cls._launched_engine(), key, value, close=False))

    @classmethod
    async def write_stream_async(cls, key: str, value: Any) -> None:
        await run_async(write_stream_procedure(cls._launched_engine(), key, value, close=False))

    @classmethod
    def close_stream(cls, key: str) -> None:
        """Inside a workflow (or step): close this workflow's stream `key`; readers stop."""
        run_sync(write_stream_procedure(cls._launched_engine(), key, None, close=True))

    @classmethod
    async def close_stream_async(cls, key: str) -> None:
        await run_async(write_stream_procedure(cls._launched_engine(), key, None, close=True))

    @classmethod
    def read_stream(cls, workflow_id: str, key: str) -> Generator[Any, None, None]:
        """Yield the values of workflow `workflow_id`'s stream `key` as they are written, until
        the stream is closed or the workflow ends."""
        engine = cls._launched_engine()
        offset, done = 0, False
        while not done:
            batch = stream_batch_procedure(engine, workflow_id, key, offset)
            values, offset, done = run_sync(batch)
            yield from values

    @classmethod
    async def read_stream_async(cls, workflow_id: str, key: str) -> AsyncGenerator[Any, None]:
        """`DBOS.read_stream` for async code."""
        engine = cls._launched_engine()
        offset, done = 0, False
        while not done:
            batch = stream_batch_procedure(engine, workflow_id, key, offset)
            values, offset, done = await run_async(batch)
            for value in values:
                yield value


def _workflow_id_of(workflow: str | WorkflowStatus) -> str:
    return workflow.workflow_id if isinstance(workflow, WorkflowStatus) else workflow


def _blocking_call(fn: Callable[[str], T], arg: str) -> Procedure[T]:
    result: T = yield Blocking(fn, (arg,))
    return result


def _finite_at_least(value: object, minimum: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


def _check_seconds(seconds: object) -> None:
    if not _finite_at_least(seconds, 0.0):
        raise DBOSException(f"sleep seconds must be a finite number >= 0, got {seconds!r}")


def _placement(queue: Queue) -> QueuePlacement:
    options = current_enqueue_options()
    if options.priority is not None and not queue.priority_enabled:
        raise DBOSException(
            f"queue {queue.name!r} was not declared with priority_enabled=True, so tasks on it "
            "cannot have a priority"
        )
    if queue.partition_queue and options.queue_partition_key is None:
        raise DBOSException(
            f"queue {queue.name!r} is partitioned: enqueue on it inside "
            "SetEnqueueOptions(queue_partition_key=...)"
        )
    if options.queue_partition_key is not None and not queue.partition_queue:
        raise DBOSException(
            f"queue {queue.name!r} was not declared with partition_queue=True, so tasks on it "
            f"cannot have a partition key (got {options.queue_partition_key!r})"
        )
    delay_until = None
    if options.delay_seconds:
        delay_until = now_ms() + int(options.delay_seconds * 1000)
    return QueuePlacement(
        queue_name=queue.name,
        priority=options.priority or 0,
        deduplication_id=options.deduplication_id,
        delay_until_ms=delay_until,
        application_version=options.app_version,
        partition_key=options.queue_partition_key,
    )


def enqueue_sync(
    queue: Queue, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> WorkflowHandle[Any]:
    engine = DBOS._launched_engine()
    placement = _placement(queue)
    started = run_sync(engine.start(_registration_of(func), args, kwargs, placement))
    engine.queue_worker.wake(queue.name)
    return WorkflowHandle(engine, started.workflow_id, started.active)


async def enqueue_async(
    queue: Queue, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> WorkflowHandleAsync[Any]:
    engine = DBOS._launched_engine()
    placement = _placement(queue)
    started = await run_async(engine.start(_registration_of(func), args, kwargs, placement))
    engine.queue_worker.wake(queue.name)
    return WorkflowHandleAsync(engine, started.workflow_id, started.active)
