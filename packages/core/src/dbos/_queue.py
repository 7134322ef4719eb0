"""`Queue` and `SetEnqueueOptions`: durable queues with flow control."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from ._base.errors import DBOSConfigError, DBOSException
from ._base.ids import check_text, check_texts
from ._context import ContextSetting
from ._engine.batch import (
    EnqueueCall,
    check_calls,
    check_workflow_ids,
    enqueue_batch,
    refuse_assigned_id,
    task_rows,
)
from ._engine.classes import with_bound_self
from ._engine.effects import Procedure, run_async, run_sync
from ._engine.execution import QueuePlacement
from ._engine.outcome import now_ms
from ._engine.queues import (
    DEFAULT_POLLING_INTERVAL_S,
    ENQUEUE_OPTIONS,
    INTERNAL_QUEUE_NAME,
    EnqueueOptions,
    check_partition_fit,
    current_enqueue_options,
    declare_queue,
    declared_queues,
    find_declared_queue,
)
from ._engine.registry import registration_of
from ._engine.starting import DuplicationPolicy, check_duplication_policy
from ._launched import engine_if_launched, launched_engine
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._queue_settings import (
    QueueConflictResolution,
    QueueRateLimit,
    QueueSettings,
    queue_from_arguments,
    store_procedure,
)
from .storage._protocol import SystemStorage
from .storage._queue_records import StoredQueue
from .storage._records import QueueSpec

if TYPE_CHECKING:
    from ._engine.engine import Engine

P = ParamSpec("P")
R = TypeVar("R")


class Queue(QueueSettings):
    """A durable queue. Tasks enqueued on it run in the background on whichever process of
    the app has room, within the queue's limits, and survive crashes.

    Constructing one declares the queue, as `DBOS.register_queue` does: it is stored in the
    system database when DBOS launches (at once if DBOS is launched), and every process then
    works from the stored settings, which the setters (`set_concurrency`, ...) change live
    for all of them. When the name is stored already with other settings, `on_conflict`
    decides (DBOS Transact 3.4's rule): by default a process of the latest application
    version overwrites them, an older one leaves them.

    Args:
        name: The queue's name (unique in the app).
        concurrency: Most tasks running at once across all processes. On a queue declared
            with ``partition_queue=True`` and none of `global_concurrency`,
            `partition_concurrency`, `partition_worker_concurrency` and `partition_limiter`
            it is the limit of each partition (this project's older form of
            `partition_concurrency`).
        limiter: ``{"limit": N, "period": seconds}``: most tasks started per period, across
            all processes (per partition in that same older form: `partition_limiter`).
        worker_concurrency: Most tasks running at once in one process.
        global_concurrency: DBOS Transact 3.4's name for `concurrency` (give one).
        priority_enabled: Allow `SetEnqueueOptions(priority=...)`; lower numbers start first.
        partition_queue: Every task carries a partition key
            (`SetEnqueueOptions(queue_partition_key=...)`); partitions are served round robin.
        partition_concurrency: Most tasks of one partition running at once, across all
            processes; makes the queue partitioned.
        partition_limiter: A rate limit applied to each partition on its own; makes the queue
            partitioned.
        partition_worker_concurrency: Most tasks of one partition running at once in one
            process; makes the queue partitioned. On a partitioned queue,
            `global_concurrency`, `worker_concurrency` and `limiter` still bound the whole
            queue (DBOS Transact 3.4's meaning) when given with the ``partition_*`` ones.
        polling_interval_sec: How often an idle worker looks for work that was enqueued by
            another process.
        on_conflict: ``"update_if_latest_version"`` (default), ``"always_update"`` or
            ``"never_update"``: whether declaring overwrites a stored queue of that name.

    Raises:
        DBOSConfigError: bad or contradictory settings (see `check_queue`), or the name
            declared in this process already with other settings.
    """

    def __init__(
        self,
        name: str,
        concurrency: int | None = None,
        limiter: QueueRateLimit | None = None,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: QueueRateLimit | None = None,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
        on_conflict: QueueConflictResolution = "update_if_latest_version",
    ) -> None:
        if name == INTERNAL_QUEUE_NAME:
            raise DBOSConfigError(f"queue name {name!r} is reserved for DBOS's own use")
        declared = queue_from_arguments(
            name,
            concurrency,
            limiter,
            worker_concurrency=worker_concurrency,
            global_concurrency=global_concurrency,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
            partition_concurrency=partition_concurrency,
            partition_worker_concurrency=partition_worker_concurrency,
            partition_limiter=partition_limiter,
            polling_interval_sec=polling_interval_sec,
            on_conflict=on_conflict,
        )
        super().__init__(declared, _launched_storage, _stored_queue_changed)
        self.declared = declared
        self.on_conflict = on_conflict
        self.priority_enabled = declared.priority_enabled
        self.partition_queue = declared.partition_queue
        declare_queue(self)
        engine = engine_if_launched()
        if engine is not None:  # declared after launch: store it now
            store_declared(engine, self)

    @property
    def spec(self) -> QueueSpec:
        """The limits this process declared, as a claim applies them (the queue worker uses
        the stored ones)."""
        return self.declared.spec()

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    @overload
    def enqueue(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @overload
    def enqueue(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    def enqueue(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> Any:
        """Durably enqueue `func` (a workflow or a step) and return a handle to the task.

        Inside a workflow the enqueue is itself checkpointed: a recovered workflow does not
        enqueue the task a second time. `func` may be a bound method (``inst.method``,
        ``Cls.class_method``): the worker that runs the task calls it on the instance (or
        class) registered under the names the task records (see `DBOS.dbos_class`).

        Raises:
            DBOSException: `func` is a method on an instance recovery could not find again,
                or of a class not decorated with ``@DBOS.dbos_class()`` (as for
                `DBOS.start_workflow`).
        """
        engine = launched_engine()
        call_args = with_bound_self(func, args)
        started = run_sync(
            engine.enqueue(registration_of(func), call_args, kwargs, placement(self.name, self))
        )
        return WorkflowHandle(engine, started.workflow_id, started.active, stored_form=True)

    @overload
    async def enqueue_async(
        self, func: Callable[P, Coroutine[Any, Any, R]], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    async def enqueue_async(
        self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    async def enqueue_async(self, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs) -> Any:
        """`enqueue` for async code; the handle's `get_result` is awaitable."""
        engine = launched_engine()
        call_args = with_bound_self(func, args)
        started = await run_async(
            engine.enqueue(registration_of(func), call_args, kwargs, placement(self.name, self))
        )
        return WorkflowHandleAsync(engine, started.workflow_id, started.active, stored_form=True)

    @overload
    def enqueue_many(
        self,
        func: Callable[..., Coroutine[Any, Any, R]],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandle[R]]: ...

    @overload
    def enqueue_many(
        self,
        func: Callable[..., R],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandle[R]]: ...

    def enqueue_many(
        self,
        func: Callable[..., Any],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandle[Any]]:
        """Enqueue many tasks of `func` at once and return a handle per task, in order. Our
        extension of DBOS's API (DBOS Transact 3.4 enqueues one task per call): one round
        trip and one commit for the whole batch (one statement on Postgres, one transaction
        on SQLite).

        Args:
            func: A workflow or step, as `enqueue` takes.
            calls: One item per task: a tuple of positional arguments, or an `EnqueueCall`
                (arguments, keyword arguments, and the task's own ``deduplication_id`` and
                ``priority``).
            workflow_ids: One ID per task (default: random IDs; in a workflow body,
                ``<parent ID>-<operation ID>-<index>``). `SetWorkflowID` names one workflow
                and is refused around a batch.
            duplication_policy: What a task refused for its deduplication ID does:
                ``"reject"`` (default) raises `DBOSQueueDeduplicatedError`,
                ``"return-existing"`` returns the holder's handle. It is a keyword of this
                call: `SetEnqueueOptions` takes ``"return-existing"`` only with a
                ``deduplication_id``, which names one task and is refused around a batch.

        The enclosing `SetEnqueueOptions` applies to every task (priority, partition key,
        delay, app version) except a deduplication ID, which names one task (give it per
        task). Each task behaves as a single enqueue of it would, in order: an ID stored
        already (or repeated in the batch) returns that workflow's handle; a held
        deduplication ID raises or returns the holder by the policy. Atomic: when any task
        is refused, none is stored. Inside a workflow the batch is one recorded operation
        (``DBOS.enqueue_many``): a recovered workflow enqueues nothing again.

        Raises:
            DBOSException: bad `calls` or `workflow_ids` (not one per task), a `SetWorkflowID`
                around the call, options the declared queue does not take.
            DBOSQueueDeduplicatedError: a task's deduplication ID is held by an unfinished
                task (or an earlier task of the batch), under ``"reject"``; nothing stored.
            DBOSWorkflowConflictIDError: a task's ID belongs to a workflow of another name;
                nothing stored.
        """
        engine = launched_engine()
        ids = run_sync(
            enqueue_many_procedure(engine, self, func, calls, workflow_ids, duplication_policy)
        )
        return [WorkflowHandle(engine, workflow_id) for workflow_id in ids]

    @overload
    async def enqueue_many_async(
        self,
        func: Callable[..., Coroutine[Any, Any, R]],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandleAsync[R]]: ...

    @overload
    async def enqueue_many_async(
        self,
        func: Callable[..., R],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandleAsync[R]]: ...

    async def enqueue_many_async(
        self,
        func: Callable[..., Any],
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> list[WorkflowHandleAsync[Any]]:
        """`enqueue_many` for async code; the handles' `get_result` is awaitable."""
        engine = launched_engine()
        ids = await run_async(
            enqueue_many_procedure(engine, self, func, calls, workflow_ids, duplication_policy)
        )
        return [WorkflowHandleAsync(engine, workflow_id) for workflow_id in ids]


def enqueue_many_procedure(
    engine: Engine,
    queue: Queue,
    func: Callable[..., Any],
    calls: object,
    workflow_ids: object,
    duplication_policy: object,
) -> Procedure[list[str]]:
    """`Queue.enqueue_many`'s work, for the sync and async forms: check the batch, build
    each task's placement from the enclosing `SetEnqueueOptions` and the task's own options,
    create the tasks (see `_engine.batch`), then wake this process's worker."""
    where = "Queue.enqueue_many"
    refuse_assigned_id(where)
    checked = check_calls(calls, where)
    ids = check_workflow_ids(workflow_ids, len(checked), where)
    registration = registration_of(func)
    base = placement(queue.name, queue)
    if base.deduplication_id is not None:
        raise DBOSException(
            f"{where}: SetEnqueueOptions(deduplication_id=...) names one task; give each task "
            "its own with EnqueueCall(deduplication_id=...)"
        )
    policy = base.duplication_policy
    if duplication_policy is not None:
        keyed = next((c.deduplication_id for c in checked if c.deduplication_id), None)
        policy = check_duplication_policy(duplication_policy, keyed, where)
    placements = []
    for call in checked:
        if call.priority is not None:
            check_fits(queue, call.priority, base.partition_key)
        placements.append(
            replace(
                base,
                priority=base.priority if call.priority is None else call.priority,
                deduplication_id=call.deduplication_id,
                duplication_policy=policy,
            )
        )
    pairs = [(with_bound_self(func, call.args), call.kwargs) for call in checked]
    build = task_rows(engine, registration, pairs, placements)
    policies = [policy] * len(checked)
    created = yield from enqueue_batch(
        engine.storage, engine.codec, len(checked), ids, build, policies
    )
    engine.work_enqueued(queue.name)
    return created


def _launched_storage() -> SystemStorage | None:
    engine = engine_if_launched()
    return None if engine is None else engine.storage


def _stored_queue_changed(name: str) -> None:
    engine = engine_if_launched()
    if engine is not None:  # this process's worker reads the change at once
        engine.queue_worker.settings_changed()


def store_declared(engine: Engine, queue: Queue, latest: bool | None = None) -> StoredQueue:
    """Store `queue` as declared (its `on_conflict` rule, judged by whether this process runs
    the latest application version: `latest`, or as liveness last read it) and return what
    is stored then."""
    stored = replace(queue.declared, application_name=engine.queue_worker.application_name)
    if latest is None:
        latest = engine.queue_worker.runs_latest_version()
    found = run_sync(store_procedure(engine.storage, stored, queue.on_conflict, latest))
    engine.queue_worker.settings_changed()
    return found


def store_declared_queues(engine: Engine) -> None:
    """At launch: store every queue declared in this process (see `Queue`)."""
    versions = engine.storage.list_application_versions()
    latest = not versions or versions[0].version_name == engine.application_version
    for queue in declared_queues():
        if isinstance(queue, Queue):
            store_declared(engine, queue, latest)


def queue_of_stored(stored: StoredQueue) -> Queue:
    """The `Queue` for a stored queue: the one declared in this process under its name, or
    else one bound to the launched DBOS that declares nothing (it enqueues and reads and
    changes the stored settings)."""
    declared = find_queue(stored.name)
    if declared is not None:
        return declared
    queue = Queue.__new__(Queue)
    QueueSettings.__init__(queue, stored, _launched_storage, _stored_queue_changed)
    queue.declared = stored
    queue.on_conflict = "never_update"
    queue.priority_enabled = stored.priority_enabled
    queue.partition_queue = stored.partition_queue
    return queue


def find_queue(name: str) -> Queue | None:
    """The `Queue` declared under `name` in this process, if any."""
    queue = find_declared_queue(name)
    return queue if isinstance(queue, Queue) else None


class SetEnqueueOptions(ContextSetting[EnqueueOptions]):
    """Options for the tasks enqueued inside the block.

    Args:
        deduplication_id: Refuse a second task with this ID while one is queued or running
            (`DBOSQueueDeduplicatedError`).
        priority: Lower numbers start first (the queue needs ``priority_enabled=True``).
        queue_partition_key: The partition of a partitioned queue (required there, refused
            elsewhere).
        delay_seconds: Do not start the task before this many seconds have passed.
        app_version: Only processes running this application version may run the task.
        duplication_policy: What an enqueue refused for its `deduplication_id` does (DBOS
            semantics): ``"reject"`` (the default) raises `DBOSQueueDeduplicatedError`;
            ``"return-existing"`` returns a handle to the unfinished task holding the ID,
            dropping the new task's arguments. ``"return-existing"`` needs a
            `deduplication_id`.

    Raises:
        DBOSException: an option out of range, or an unknown duplication policy.
    """

    _variable = ENQUEUE_OPTIONS

    def __init__(
        self,
        *,
        deduplication_id: str | None = None,
        priority: int | None = None,
        queue_partition_key: str | None = None,
        delay_seconds: float | None = None,
        app_version: str | None = None,
        duplication_policy: DuplicationPolicy | None = None,
    ) -> None:
        check_duplication_policy(
            duplication_policy,
            deduplication_id,
            "SetEnqueueOptions",
            # A batch takes its policy as a keyword: its deduplication IDs are per task.
            "; for a batch, pass it to enqueue_many(..., duplication_policy=...) and give "
            "each task EnqueueCall(deduplication_id=...)",
        )
        if deduplication_id is not None and (
            not isinstance(deduplication_id, str) or not deduplication_id
        ):
            raise DBOSException(
                f"deduplication_id must be a non-empty string, got {deduplication_id!r}"
            )
        if priority is not None and (type(priority) is not int or priority < 0):
            raise DBOSException(f"priority must be an integer >= 0, got {priority!r}")
        if delay_seconds is not None and (
            isinstance(delay_seconds, bool)
            or not isinstance(delay_seconds, (int, float))
            or not math.isfinite(delay_seconds)
            or delay_seconds < 0
        ):
            raise DBOSException(f"delay_seconds must be a number >= 0, got {delay_seconds!r}")
        if queue_partition_key is not None and (
            not isinstance(queue_partition_key, str) or not queue_partition_key
        ):
            raise DBOSException(
                f"queue_partition_key must be a non-empty string, got {queue_partition_key!r}"
            )
        check_texts(
            (
                ("deduplication_id", deduplication_id),
                ("queue_partition_key", queue_partition_key),
                ("app_version", app_version),
            )
        )
        super().__init__(
            EnqueueOptions(
                deduplication_id,
                priority,
                queue_partition_key,
                delay_seconds,
                app_version,
                duplication_policy,
            )
        )
        self.options = self._value


def check_queue_name(queue_name: object) -> str:
    """`queue_name`, if it may be enqueued on by name. Raises `DBOSException` otherwise."""
    if not isinstance(queue_name, str) or not queue_name:
        raise DBOSException(f"a queue name must be a non-empty string, got {queue_name!r}")
    if queue_name == INTERNAL_QUEUE_NAME:
        raise DBOSException(f"queue {queue_name!r} is reserved for DBOS's own use")
    check_text(queue_name, "the queue name")
    return queue_name


def check_fits(queue: Queue | None, priority: int | None, partition_key: str | None) -> None:
    """Refuse a priority or partition key the queue declared in this process does not take
    (or a missing key on a partitioned queue). A queue not declared here is not checked: the
    process that declares it may be another one."""
    if queue is None:
        return
    if priority is not None and not queue.priority_enabled:
        raise DBOSException(
            f"queue {queue.name!r} was not declared with priority_enabled=True, so tasks on it "
            "cannot have a priority"
        )
    check_partition_fit(
        queue.name,
        queue.partition_queue,
        partition_key,
        "tasks",
        "enqueue on it inside SetEnqueueOptions(queue_partition_key=...)",
    )


def placement(queue_name: str, queue: Queue | None) -> QueuePlacement:
    """Where a task enqueued on `queue_name` (declared here as `queue`, or not) waits, with the
    options of the enclosing `SetEnqueueOptions`."""
    options = current_enqueue_options()
    check_fits(queue, options.priority, options.queue_partition_key)
    delay_until = None
    if options.delay_seconds:
        delay_until = now_ms() + int(options.delay_seconds * 1000)
    return QueuePlacement(
        queue_name=queue_name,
        priority=options.priority or 0,
        deduplication_id=options.deduplication_id,
        delay_until_ms=delay_until,
        application_version=options.app_version,
        partition_key=options.queue_partition_key,
        duplication_policy=options.duplication_policy,
    )
