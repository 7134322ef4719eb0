"""`Queue` and `SetEnqueueOptions`: durable queues with flow control."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypedDict, TypeVar, overload

from ._base.errors import DBOSConfigError, DBOSException
from ._base.ids import check_text, check_texts
from ._context import ContextSetting
from ._engine.classes import with_bound_self
from ._engine.effects import run_async, run_sync
from ._engine.execution import QueuePlacement
from ._engine.outcome import now_ms
from ._engine.queues import (
    DEFAULT_POLLING_INTERVAL_S,
    ENQUEUE_OPTIONS,
    INTERNAL_QUEUE_NAME,
    EnqueueOptions,
    current_enqueue_options,
    declare_queue,
    find_declared_queue,
)
from ._engine.registry import registration_of
from ._engine.starting import DuplicationPolicy, check_duplication_policy
from ._launched import launched_engine
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .storage._records import QueueSpec

P = ParamSpec("P")
R = TypeVar("R")


class QueueRateLimit(TypedDict):
    """``limiter={"limit": N, "period": seconds}``: at most N starts per period."""

    limit: int
    period: float


def _positive_int_or_none(value: object, field: str, queue: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise DBOSConfigError(f"queue {queue!r}: {field} must be a positive integer, got {value!r}")
    return value


def _positive_number(value: object, field: str, queue: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DBOSConfigError(f"queue {queue!r}: {field} must be a number > 0, got {value!r}")
    return float(value)


class Queue:
    """A durable queue. Tasks enqueued on it run in the background on whichever process of
    the app has room, within the queue's limits, and survive crashes.

    Args:
        name: The queue's name (unique in the app).
        concurrency: Most tasks running at once across all processes.
        limiter: ``{"limit": N, "period": seconds}``: most tasks started per period, across
            all processes.
        worker_concurrency: Most tasks running at once in one process.
        priority_enabled: Allow `SetEnqueueOptions(priority=...)`; lower numbers start first.
        partition_queue: Every task carries a partition key
            (`SetEnqueueOptions(queue_partition_key=...)`); `concurrency` and `limiter` apply
            to each partition on its own, and partitions are served round robin.
        polling_interval_sec: How often an idle worker looks for work that was enqueued by
            another process.
    """

    def __init__(
        self,
        name: str,
        concurrency: int | None = None,
        limiter: QueueRateLimit | None = None,
        *,
        worker_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise DBOSConfigError(f"a queue needs a non-empty string name, got {name!r}")
        if name == INTERNAL_QUEUE_NAME:
            raise DBOSConfigError(f"queue name {name!r} is reserved for DBOS's own use")
        concurrency = _positive_int_or_none(concurrency, "concurrency", name)
        worker_concurrency = _positive_int_or_none(worker_concurrency, "worker_concurrency", name)
        # On a partitioned queue `concurrency` bounds each partition, while
        # `worker_concurrency` bounds the whole queue in one process: one process may well run
        # more tasks than one partition may.
        if (
            not partition_queue
            and concurrency is not None
            and (worker_concurrency or 0) > concurrency
        ):
            raise DBOSConfigError(
                f"queue {name!r}: worker_concurrency ({worker_concurrency}) cannot exceed "
                f"concurrency ({concurrency})"
            )
        limit: int | None = None
        period: float | None = None
        if limiter is not None:
            if not isinstance(limiter, dict) or set(limiter) != {"limit", "period"}:
                raise DBOSConfigError(
                    f"queue {name!r}: limiter must be {{'limit': N, 'period': seconds}}, "
                    f"got {limiter!r}"
                )
            limit = _positive_int_or_none(limiter["limit"], "limiter['limit']", name)
            period = _positive_number(limiter["period"], "limiter['period']", name)
        check_text(name, "the queue name")
        self.name = name
        self.concurrency = concurrency
        self.worker_concurrency = worker_concurrency
        self.limiter = limiter
        self.priority_enabled = bool(priority_enabled)
        self.partition_queue = bool(partition_queue)
        self.polling_interval_sec = _positive_number(
            polling_interval_sec, "polling_interval_sec", name
        )
        self.spec = QueueSpec(
            name=name,
            concurrency=concurrency,
            worker_concurrency=worker_concurrency,
            limit=limit,
            period_s=period,
            priority_enabled=self.priority_enabled,
            partitioned=self.partition_queue,
        )
        declare_queue(self)

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
        return WorkflowHandle(engine, started.workflow_id, started.active)

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
        return WorkflowHandleAsync(engine, started.workflow_id, started.active)


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
        check_duplication_policy(duplication_policy, deduplication_id, "SetEnqueueOptions")
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
    if queue.partition_queue and partition_key is None:
        raise DBOSException(
            f"queue {queue.name!r} is partitioned: enqueue on it inside "
            "SetEnqueueOptions(queue_partition_key=...)"
        )
    if partition_key is not None and not queue.partition_queue:
        raise DBOSException(
            f"queue {queue.name!r} was not declared with partition_queue=True, so tasks on it "
            f"cannot have a partition key (got {partition_key!r})"
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
