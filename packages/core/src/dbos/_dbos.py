"""`DBOS`: the public face. Decorators register functions; class-level calls reach the one
launched instance, as in DBOS Transact."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Literal,
    ParamSpec,
    TypeVar,
    cast,
    overload,
)

from ._api_classes import ClassesAPI
from ._api_management import ManagementAPI
from ._api_messaging import MessagingAPI
from ._api_patching import PatchingAPI
from ._api_queues import QueuesAPI
from ._api_roles import RolesAPI, requirement_for
from ._api_schedules import SchedulesAPI
from ._api_steps import ShouldRetry, StepsAPI, check_policy_fits, current_step_status, step_policy
from ._api_system import ClassProperty as _ClassProperty
from ._api_system import SystemAPI
from ._api_waiting import WaitingAPI
from ._base.errors import (
    DBOSConfigError,
    DBOSException,
    DBOSNotLaunchedError,
    DBOSSerializationError,
)
from ._base.portable import WorkflowSerializationFormat, configured_codec, serialization_for
from ._base.secrets import scrub_exception
from ._base.urls import mask_password
from ._compat_keys import missing_service_warning
from ._config import DBOSConfig, Settings, console_log_level_of, log_level_of, resolve
from ._datasource import registry as datasources
from ._engine import classes as _classes
from ._engine import registry as _registry
from ._engine.attributes import update_attributes_procedure
from ._engine.blocking_calls import refuse_on_running_loop
from ._engine.context import current_step, current_workflow
from ._engine.cron import parse_cron
from ._engine.effects import Blocking, Procedure, run_async, run_sync
from ._engine.engine import Engine
from ._engine.execution import ActiveWorkflow
from ._engine.messaging import MessagingHost, get_event_procedure, send_procedure
from ._engine.operations import Recorder
from ._engine.queues import (
    clear_queues,
    listen_to,
)
from ._engine.registry import (
    DEFAULT_MAX_RECOVERY_ATTEMPTS,
    REGISTRATION_ATTR,
    STEP_WORKFLOW_PREFIX,
    ScheduledRegistration,
    StepRegistration,
    ValidateArgs,
    WorkflowRegistration,
    function_name,
    registration_of,
)
from ._engine.resilient import ResilientStorage, attempt_timeout
from ._engine.roles import ROLES_ATTR
from ._engine.scheduler import MISSED_TICK_POLICIES
from ._engine.sending import SendMessage, send_bulk_procedure
from ._engine.step import sleep_procedure, step_procedure
from ._face_checks import check_scheduled_signature, check_seconds, refuse_enqueue_options
from ._launched import launched_engine, set_launched_engine
from ._logging import configure_logging, library_version
from ._observability import Observability, start_observability
from ._queue import Queue, queue_of_stored, store_declared_queues
from ._tracing import dbos_tracer
from ._validation import make_pydantic_args_validator, pydantic_args_validator
from .management._facade import FACADE_METHODS, Facade
from .management._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from .management._management import Management
from .management._versions import register_version
from .plugins._hooks import Hooks, backend_for_url, plugin_manager
from .storage._protocol import SystemStorage
from .storage._queue_records import StoredQueue
from .storage._records import StorageOptions
from .storage._schema_check import require_current_schema

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
#: A scheduled workflow: called with the tick's scheduled time and the actual start time.
ScheduledWorkflow = TypeVar("ScheduledWorkflow", bound=Callable[[datetime, datetime], Any])

logger = logging.getLogger("dbos")


def _current_workflow_id() -> str | None:
    context = current_workflow()
    return None if context is None else context.workflow_id


def _application_version() -> str:
    try:
        return launched_engine().application_version
    except DBOSNotLaunchedError:
        # Known before launch only when configured (as in DBOS Transact); the default, a
        # hash of the registered workflows, is fixed at launch.
        instance = DBOS._instance
        if instance is not None and instance._settings.application_version is not None:
            return instance._settings.application_version
        raise


def _current_step_id() -> int | None:
    frame = current_step()
    return None if frame is None or current_workflow() is None else frame.function_id


class _DBOSType(type, Facade):
    """The type of `DBOS`. The calls `DBOS` shares with `DBOSClient` are `Facade`'s, reached
    through this metaclass: ``DBOS.list_workflows(...)`` runs `Facade.list_workflows` with the
    class as `self`, as a classmethod would, and type checkers see the one signature. What
    differs from the client is here: every call needs a launched `DBOS`, handles are bound to
    the engine, a resume runs the workflow in this process, and `send` and `get_event`
    checkpoint inside a workflow."""

    _facade_label: ClassVar[str] = "DBOS"

    def _facade_management(self) -> Management:
        engine = DBOS._launched_engine()
        return Management(engine.storage, engine.codec, engine.application_name)

    def _facade_handle_source(self) -> HandleSource:
        return DBOS._launched_engine()

    def _facade_messaging_host(self) -> MessagingHost:
        return DBOS._launched_engine()

    def _facade_recorder(self) -> Recorder:
        return DBOS._launched_engine().recorder

    def _facade_refuse_blocking(self, call: str) -> None:
        refuse_on_running_loop(call)

    def _facade_resume(self, workflow_ids: list[str]) -> Procedure[list[ActiveWorkflow | None]]:
        engine = DBOS._launched_engine()
        if DBOS._runs_no_work():
            return _hand_over(
                Management(engine.storage, engine.codec, engine.application_name), workflow_ids
            )
        return _resume_here(engine, workflow_ids)

    def _facade_enqueued(self, queue_name: str) -> None:
        DBOS._launched_engine().work_enqueued(queue_name)

    def _facade_queue_of(self, stored: StoredQueue) -> Queue:
        return queue_of_stored(stored)

    def _facade_queues_changed(self) -> None:
        DBOS._launched_engine().queue_worker.settings_changed()

    def _facade_application_name(self) -> str | None:
        return DBOS._launched_engine().scheduler.application_name

    def _facade_schedule_changed(self, name: str, dropped: bool) -> None:
        DBOS._launched_engine().scheduler.schedule_changed(name, dropped=dropped)

    def _facade_outside_workflow(self, call: str) -> None:
        if current_workflow() is not None:
            raise DBOSException(f"DBOS.{call} cannot be called from within a workflow")

    def _facade_send(
        self,
        destination_id: str,
        message: Any,
        topic: str | None,
        serialization: str | None,
        idempotency_key: str | None,
        to_forks: bool,
    ) -> Procedure[None]:
        recorder = DBOS._launched_engine().recorder
        return send_procedure(
            recorder, destination_id, message, topic, serialization, idempotency_key, to_forks
        )

    def _facade_send_bulk(
        self, messages: list[SendMessage], serialization: str | None, to_forks: bool
    ) -> Procedure[None]:
        recorder = DBOS._launched_engine().recorder
        return send_bulk_procedure(recorder, messages, serialization, to_forks)

    def _facade_get_event(self, workflow_id: str, key: str, timeout_s: float) -> Procedure[Any]:
        return get_event_procedure(DBOS._launched_engine().recorder, workflow_id, key, timeout_s)

    def _facade_update_attributes(
        self, workflow_id: str, text: str | None, merge: bool
    ) -> Procedure[None]:
        recorder = DBOS._launched_engine().recorder
        return update_attributes_procedure(recorder, workflow_id, text, merge)

    if TYPE_CHECKING:  # `DBOS`'s queues are `Queue`s (they enqueue), a client's settings only

        def retrieve_queue(self, name: str) -> Queue | None: ...
        async def retrieve_queue_async(self, name: str) -> Queue | None: ...
        def list_queues(  # type: ignore[override]
            self, *, application_name: str | list[str] | None = None
        ) -> list[Queue]: ...
        async def list_queues_async(  # type: ignore[override]
            self, *, application_name: str | list[str] | None = None
        ) -> list[Queue]: ...

    def __dir__(self) -> list[str]:
        # dir() of a class leaves out its metaclass's methods: list the shared calls, for
        # completion in a REPL.
        return sorted({*super().__dir__(), *FACADE_METHODS})


def _hand_over(
    management: Management, workflow_ids: list[str]
) -> Procedure[list[ActiveWorkflow | None]]:
    # As a DBOSClient does: an app process runs them, from the internal queue.
    yield from management.requeue(workflow_ids)
    return [None for _ in workflow_ids]


def _resume_here(engine: Engine, workflow_ids: list[str]) -> Procedure[list[ActiveWorkflow | None]]:
    # One at a time, in order: an unknown ID stops the resumes after it.
    actives: list[ActiveWorkflow | None] = []
    for workflow_id in workflow_ids:
        active: ActiveWorkflow | None = yield Blocking(engine.resume, (workflow_id,))
        actives.append(active)
    return actives


class DBOS(
    ClassesAPI,
    ManagementAPI,
    MessagingAPI,
    PatchingAPI,
    QueuesAPI,
    RolesAPI,
    SchedulesAPI,
    StepsAPI,
    SystemAPI,
    WaitingAPI,
    metaclass=_DBOSType,
):
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
    #: The active OpenTelemetry span (inside a workflow or step with ``enable_otlp``: DBOS's
    #: span for it), or None when there is none or OpenTelemetry is not installed.
    span = _ClassProperty(dbos_tracer.get_current_span)
    #: DBOS's tracer (`DBOSTracer`): starts spans with DBOS's attributes.
    tracer = _ClassProperty(lambda: dbos_tracer)
    #: The running step's `StepStatus` (its ID, and its attempt for a step that allows
    #: retries), or None outside a step: DBOS Transact 3.4's class property.
    step_status = _ClassProperty(current_step_status)
    #: The application version this process runs and stamps on the workflows it starts, a
    #: string: the configured ``application_version``, else ``DBOS__APPVERSION``, else a hash
    #: of the registered workflows' source (DBOS Transact semantics, where it is a class
    #: property too, so it compares equal to a status's ``app_version``). Before
    #: `DBOS.launch` a configured version is known; the hash is not (`DBOSNotLaunchedError`).
    application_version = _ClassProperty(_application_version)

    def __init__(
        self,
        *,
        config: DBOSConfig,
        conductor_url: str | None = None,
        conductor_key: str | None = None,
    ) -> None:
        # Logging first, so that what validating the configuration logs is seen.
        # Not a dict: resolve() says so; until then, the default levels.
        valid = isinstance(config, dict)
        if valid and (conductor_url is not None or conductor_key is not None):
            # DBOS Transact 3.4's arguments, taken as its config keys are: accepted, with the
            # WARNING that there is no Conductor (nor any need for one).
            extra = {"conductor_url": conductor_url, "conductor_key": conductor_key}
            config = cast(DBOSConfig, {**config, **{k: v for k, v in extra.items() if v}})
        configure_logging(
            log_level_of(config) if valid else None,
            console_log_level_of(config) if valid else None,
        )
        settings = resolve(config)
        with DBOS._instance_lock:
            previous = DBOS._instance
            if previous is not None and previous._engine is not None:
                raise DBOSException(
                    "a DBOS instance is already launched in this process; call DBOS.destroy() "
                    "before creating another"
                )
            if previous is not None and previous._settings != settings:
                # Ours: DBOS Transact 3.4 keeps the first configuration and ignores the new
                # one without a word; here the last one wins, and says so.
                logger.warning(
                    "DBOS was configured again before launch: the new configuration (app %r) "
                    "replaces the earlier one (app %r)",
                    settings.name,
                    previous._settings.name,
                )
            self._settings: Settings = settings
            self._management_only = False
            self._engine: Engine | None = None
            self._storage: SystemStorage | None = None
            self._observability: Observability | None = None
            DBOS._instance = self

    if not TYPE_CHECKING:  # for type checkers, the shared calls are the class's (`DBOS.send`)

        def __getattr__(self, name: str) -> Any:
            # Classmethods answer on the instance `DBOS(config=...)` returns too; the calls
            # `_DBOSType` gives the class do not, unless forwarded.
            if name in FACADE_METHODS:
                return getattr(type(self), name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    def launch(cls, *, management_only: bool = False) -> None:
        """Connect to the system database, migrate it, take a lease for this process (see
        ``process_lease_sec``), resume this executor's pending workflows that no live process
        runs and any workflows whose process's lease has expired, and start the queue worker
        and the scheduler. Idempotent.

        Args:
            management_only: For a script that imports the app to inspect or steer its
                workflows next to live app processes (ours; DBOS Transact has no such mode):
                no lease, no recovery or takeover, no queue worker, no scheduler, and the
                application version is not registered, so the script never runs the app's
                workflows, whatever its executor ID. A resume hands the workflow to an app
                process, as `DBOSClient` does; workflows the script starts or calls itself
                still run in it (with no lease held, a live app process may take them over).

        Raises:
            DBOSNotLaunchedError: no `DBOS(config=...)` was created.
            DBOSException: DBOS is already launched in the other mode.
        """
        instance = cls._instance
        if instance is None:
            raise DBOSNotLaunchedError("create DBOS(config={...}) before calling DBOS.launch()")
        instance._launch(bool(management_only))

    @classmethod
    def _runs_no_work(cls) -> bool:
        instance = cls._instance
        return instance is not None and instance._management_only

    def _launch(self, management_only: bool) -> None:
        if self._engine is not None:
            if management_only != self._management_only:
                raise DBOSException(
                    f"DBOS is already launched with management_only={self._management_only}; "
                    f"DBOS.launch(management_only={management_only}) cannot change that (call "
                    "DBOS.destroy() first)"
                )
            return
        settings = self._settings
        from ._debouncer import register_debouncer  # the face's own module, after DBOS exists

        register_debouncer()
        # At launch rather than in DBOS(): once per launch, where the services would start.
        for key in settings.missing_services:
            logger.warning(missing_service_warning(key))
        hooks = Hooks(plugin_manager())
        options = StorageOptions(
            system_schema=settings.system_schema,
            pool_size=settings.pool_size,
            application_name=settings.name,
            connect_timeout_s=attempt_timeout(settings.retry_timeout_s),
            use_listen_notify=settings.use_listen_notify,
            idle_transaction_timeout_s=settings.idle_transaction_timeout_s,
            observability_query_timeout_s=settings.observability_query_timeout_s,
        )
        storage = backend_for_url(settings.system_database_url, options)
        try:
            if settings.run_migrations:
                storage.setup()
            else:  # DBOS's run_migrations=False: check, change nothing
                require_current_schema(storage)
                storage.listen()
        except BaseException as exc:
            storage.close()
            scrub_exception(exc, settings.system_database_url)
            raise
        storage = ResilientStorage(storage, hooks, settings.retry_timeout_s).as_storage()
        version = settings.application_version or _registry.application_version()
        engine = Engine(
            storage,
            hooks,
            configured_codec(settings.serializer),
            settings.executor_id,
            version,
            settings.max_executor_threads,
            settings.lease_s,
            settings.notification_poll_s,
            application_name=settings.name,
        )
        engine.scheduler.configure(settings.name, settings.scheduler_poll_s, engine.codec)
        engine.scheduler.on_enqueued(engine.work_enqueued)
        self._storage, self._engine = storage, engine
        self._management_only = management_only
        set_launched_engine(engine)
        try:
            self._observability = start_observability(
                settings.observability, settings.name, engine, hooks, management_only
            )
        except BaseException:
            set_launched_engine(None)
            self._storage = self._engine = None
            engine.close(0)
            storage.close()
            raise
        logger.info(
            "DBOS %s launching%s: system database %s, executor %s, application version %s",
            library_version(),
            " for management only" if management_only else "",
            mask_password(storage.url_for_display),
            settings.executor_id,
            version,
        )
        if management_only:
            logger.info("DBOS launched: no recovery, queue worker or scheduler in this process")
            return
        # Only a process that serves its version registers it (not a management script).
        run_sync(register_version(storage, version, settings.name))
        engine.queue_worker.application_name = settings.name
        store_declared_queues(engine)
        engine.recover_pending()
        engine.start_background()
        logger.info("DBOS launched")

    @classmethod
    def destroy(
        cls, *, destroy_registry: bool = False, workflow_completion_timeout_sec: float = 0
    ) -> None:
        """Shut down. Workflows still running stay PENDING and are recovered at the next
        launch. `workflow_completion_timeout_sec` waits that long for them first;
        `destroy_registry` also forgets every registered workflow, step, schedule, queue,
        ``@DBOS.dbos_class`` class and configured instance, and every datasource (for
        tests)."""
        with cls._instance_lock:
            instance, cls._instance = cls._instance, None
            set_launched_engine(None)
        if instance is not None:
            if instance._engine is not None:
                instance._engine.close(workflow_completion_timeout_sec)
            if instance._observability is not None:
                instance._observability.stop()
            if instance._storage is not None:
                instance._storage.close()
            instance._engine = instance._storage = None
        listen_to(None)  # `DBOS.listen_queues` holds for one launch
        if destroy_registry:
            _registry.clear()
            _classes.clear()
            clear_queues()
            datasources.forget()

    @classmethod
    def _launched_engine(cls) -> Engine:
        return launched_engine()

    @classmethod
    def recover_pending_workflows(cls) -> list[WorkflowHandle[Any]]:
        """Resume this executor's PENDING workflows now (launch does this already).

        Raises:
            DBOSException: DBOS was launched with ``management_only=True``.
        """
        engine = cls._launched_engine()
        if cls._runs_no_work():
            raise DBOSException(
                "DBOS was launched with management_only=True: this process recovers no "
                "workflows (launch it without management_only to run the app)"
            )
        return [WorkflowHandle(engine, workflow_id) for workflow_id in engine.recover_pending()]

    # --- decorators -------------------------------------------------------------------------

    @classmethod
    def workflow(
        cls,
        *,
        name: str | None = None,
        max_recovery_attempts: int | None = None,
        serialization_type: WorkflowSerializationFormat | None = None,
        validate_args: ValidateArgs | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Make a function a durable workflow.

        Args:
            name: Registered name (default: the function's qualified name). Stored with
                every execution; recovery finds the function by it.
            max_recovery_attempts: How often a crashed execution is resumed before it is
                marked MAX_RECOVERY_ATTEMPTS_EXCEEDED (default 100).
            serialization_type: ``WorkflowSerializationFormat.PORTABLE`` stores its inputs,
                result and error as portable JSON that any language's SDK (and SQL) can read;
                NATIVE or None (the default) the configured format (DBOS 3.4).
            validate_args: ``(args, kwargs) -> (args, kwargs)``, called with the arguments
                read back from storage (a queued task, a recovery, a start from another
                language or SQL), without a method's ``self``/``cls``; what it returns is
                what the function gets, and an exception it raises fails the workflow with
                that error. `pydantic_args_validator` builds one from the type hints (DBOS
                3.4). Without it, portable arguments are coerced to the hints where JSON
                lost their type (datetimes, dates, Decimals, tuples).

        Raises:
            DBOSConfigError: a bad `max_recovery_attempts` or `serialization_type`.
            ImportError: `pydantic_args_validator` without pydantic installed.
        """
        try:
            serialization = serialization_for(serialization_type)
        except DBOSSerializationError as exc:
            raise DBOSConfigError(str(exc)) from None
        if max_recovery_attempts is not None and (
            type(max_recovery_attempts) is not int or max_recovery_attempts < 0
        ):
            raise DBOSConfigError(
                "max_recovery_attempts must be a non-negative integer, "
                f"got {max_recovery_attempts!r}"
            )

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            binding = _classes.MethodBinding(func)
            registration = WorkflowRegistration(
                name=name or function_name(func),
                function=func,
                max_recovery_attempts=(
                    DEFAULT_MAX_RECOVERY_ATTEMPTS
                    if max_recovery_attempts is None
                    else max_recovery_attempts
                ),
                is_async=inspect.iscoroutinefunction(func),
                binding=binding,
                serialization=serialization,
                validate_args=(
                    make_pydantic_args_validator(
                        func, skip_first=lambda: binding.kind in (_classes.INSTANCE, _classes.CLASS)
                    )
                    if validate_args is pydantic_args_validator
                    else validate_args
                ),
                roles=requirement_for(func),
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
            setattr(wrapper, REGISTRATION_ATTR, registration)
            setattr(wrapper, ROLES_ATTR, registration.roles)
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
        should_retry: ShouldRetry | None = None,
        preemptible: bool = False,
        timeout_seconds: float | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Make a function a checkpointed step: inside a workflow it runs once, and its
        recorded result is returned when the workflow is replayed.

        Args:
            name: Recorded name (default: the function's qualified name).
            retries_allowed: Retry the step when it raises.
            interval_seconds: Wait before the first retry.
            max_attempts: Attempts in all, the first included.
            backoff_rate: Factor applied to the wait after each retry.
            should_retry: With retries allowed, called with each failed attempt's exception:
                False ends the step at once with that exception (not wrapped in
                `DBOSMaxStepRetriesExceeded`). May be async for an async step. DBOS Transact
                3.4 semantics.
            preemptible: DBOS Transact 3.4's cancel-with-the-workflow option for async steps:
                not supported yet (True raises `DBOSException`).
            timeout_seconds: Async steps only: an attempt running longer (seconds, > 0) is
                cancelled and fails with `DBOSStepTimeoutError`, which is retried like any
                error when retries are allowed, and recorded and replayed as the step's
                outcome otherwise. Each attempt gets a fresh timeout; inert outside a
                workflow. DBOS Transact 3.4 semantics.

        Raises:
            DBOSConfigError: a number out of range; a timeout or an async `should_retry` on a
                sync function (DBOS Transact refuses them too).
        """
        policy = step_policy(
            retries_allowed=retries_allowed,
            interval_seconds=interval_seconds,
            max_attempts=max_attempts,
            backoff_rate=backoff_rate,
            should_retry=should_retry,
            preemptible=preemptible,
            timeout_seconds=timeout_seconds,
        )

        def decorator(func: Callable[P, R]) -> Callable[P, R]:
            registration = StepRegistration(
                name=name or function_name(func),
                function=func,
                policy=policy,
                is_async=inspect.iscoroutinefunction(func),
                roles=requirement_for(func),
            )
            check_policy_fits(policy, registration.name, registration.is_async)
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
                binding=_classes.MethodBinding(func),
                roles=registration.roles,
            )
            _registry.register_workflow(as_workflow)
            setattr(wrapper, REGISTRATION_ATTR, as_workflow)
            setattr(wrapper, ROLES_ATTR, registration.roles)
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
            registration = getattr(func, REGISTRATION_ATTR, None)
            if not isinstance(registration, WorkflowRegistration):
                raise DBOSConfigError(
                    f"@DBOS.scheduled needs a workflow: put it above @DBOS.workflow() on "
                    f"{function_name(func)}"
                )
            check_scheduled_signature(registration)
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
        `func` may be a bound method (``inst.method``, ``Cls.class_method``): the run records
        its class and instance by name (see `DBOS.dbos_class`).

        Raises:
            DBOSException: called inside `SetEnqueueOptions`, whose options only apply to
                tasks enqueued on a queue (use ``queue.enqueue(...)``); or `func` is a method
                on an instance recovery could not find again (no ``config_name``, or not the
                `DBOSConfiguredInstance` registered under it), or of a class not decorated
                with ``@DBOS.dbos_class()``.
        """
        refuse_enqueue_options("DBOS.start_workflow")
        engine = cls._launched_engine()
        call_args = _classes.with_bound_self(func, args)
        started = run_sync(engine.start(registration_of(func), call_args, kwargs))
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
        """Start a workflow from async code; the handle's `get_result` is awaitable.

        Raises:
            DBOSException: called inside `SetEnqueueOptions` (see `start_workflow`).
        """
        refuse_enqueue_options("DBOS.start_workflow_async")
        engine = cls._launched_engine()
        call_args = _classes.with_bound_self(func, args)
        started = await run_async(engine.start(registration_of(func), call_args, kwargs))
        engine.dispatch(started, on_running_loop=True)
        return WorkflowHandleAsync(engine, started.workflow_id, started.active)

    # --- inside workflows -------------------------------------------------------------------

    @classmethod
    def sleep(cls, seconds: float) -> None:
        """Sleep durably: inside a workflow, a recovered execution sleeps only what is left."""
        check_seconds(seconds)
        refuse_on_running_loop("sleep")
        run_sync(sleep_procedure(float(seconds)))

    @classmethod
    async def sleep_async(cls, seconds: float) -> None:
        """`DBOS.sleep` for async workflows."""
        check_seconds(seconds)
        await run_async(sleep_procedure(float(seconds)))
