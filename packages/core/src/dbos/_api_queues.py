"""`DBOS`'s queue calls (DBOS Transact 3.4's names): declaring and finding queues, and
enqueueing by queue name, with a function or with only a workflow's name.

In DBOS Transact 3.4 queues are rows in the system database; here (until queues are stored as
data) they are declared in each process, as `Queue(...)` declares them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar, overload

from ._base.errors import DBOSConfigError, DBOSException
from ._engine.classes import with_bound_self
from ._engine.context import assigned_timeout
from ._engine.effects import Procedure, run_async, run_sync
from ._engine.queues import DEFAULT_POLLING_INTERVAL_S, current_enqueue_options
from ._engine.registry import registration_of
from ._engine.roles import current_identity
from ._engine.starting import check_duplication_policy, check_reuse_policy
from ._engine.starts import StartPosition, enqueue_named
from ._launched import launched_engine
from ._queue import Queue, QueueRateLimit, check_fits, check_queue_name, find_queue, placement
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import EnqueueOptions, Management
from .storage._records import NewWorkflow

P = ParamSpec("P")
R = TypeVar("R")


def _enqueue_with_options(
    options: EnqueueOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Procedure[str]:
    """The enqueue `enqueue_workflow_with_options` makes: the options first, then the enclosing
    `SetWorkflowID`, `SetEnqueueOptions` and `SetWorkflowTimeout`, then the parent's deadline
    (DBOS Transact 3.4's order)."""
    if not isinstance(options, dict):
        raise DBOSException(f"enqueue options must be a dict (EnqueueOptions), got {options!r}")
    name = options.get("workflow_name")
    if not isinstance(name, str) or not name:
        raise DBOSException("enqueue options need 'workflow_name': a non-empty string")
    queue_name = check_queue_name(options.get("queue_name"))
    engine = launched_engine()
    management = Management(engine.storage, engine.codec)
    ambient = current_enqueue_options()
    timeout = assigned_timeout()
    identity = current_identity()

    def build(position: StartPosition) -> NewWorkflow:
        resolved: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        resolved.setdefault("workflow_id", position.workflow_id)
        for key, value in (
            ("deduplication_id", ambient.deduplication_id),
            ("priority", ambient.priority),
            ("app_version", ambient.app_version),
            ("delay_seconds", ambient.delay_seconds),
            ("workflow_timeout", timeout),
            # The caller's identity, where the options name none (DBOS semantics).
            ("authenticated_user", identity.user),
            ("authenticated_roles", None if identity.roles is None else list(identity.roles)),
        ):
            if value is not None:
                resolved.setdefault(key, value)
        check_fits(find_queue(queue_name), resolved.get("priority"), ambient.queue_partition_key)
        new = management._enqueued_workflow(resolved, args, kwargs)  # type: ignore[arg-type]
        parent = position.parent
        return replace(
            new,
            queue_partition_key=ambient.queue_partition_key,
            parent_workflow_id=None if parent is None else parent.workflow_id,
            deadline_ms=(
                new.deadline_ms
                if new.deadline_ms is not None or parent is None
                else parent.deadline_ms
            ),
        )

    where = "enqueue options"
    reuse = check_reuse_policy(options.get("workflow_id_reuse_policy"), where)
    duplication = check_duplication_policy(
        options.get("duplication_policy") or ambient.duplication_policy,
        options.get("deduplication_id") or ambient.deduplication_id,
        where,
    )
    workflow_id = yield from enqueue_named(engine.recorder, name, build, (reuse, duplication))
    engine.work_enqueued(queue_name)
    return workflow_id


class QueuesAPI:
    """Queues by name: declare, find, enqueue."""

    @classmethod
    def register_queue(
        cls,
        name: str,
        concurrency: int | None = None,
        limiter: QueueRateLimit | None = None,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> Queue:
        """Declare a queue in this process, the same as constructing ``Queue(...)``, and return
        it. `global_concurrency` is DBOS Transact 3.4's name for `concurrency` (give one).

        DBOS Transact 3.4 stores the queue in the system database; here it lives in the
        process, like every queue until queues are stored as data.

        Raises:
            DBOSConfigError: bad settings, both `concurrency` and `global_concurrency`, or the
                name already declared with other settings.
        """
        if concurrency is not None and global_concurrency is not None:
            raise DBOSConfigError(
                f"queue {name!r}: give global_concurrency or concurrency (its older name), not both"
            )
        return Queue(
            name,
            global_concurrency if global_concurrency is not None else concurrency,
            limiter,
            worker_concurrency=worker_concurrency,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
            polling_interval_sec=polling_interval_sec,
        )

    @classmethod
    async def register_queue_async(
        cls,
        name: str,
        concurrency: int | None = None,
        limiter: QueueRateLimit | None = None,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        priority_enabled: bool = False,
        partition_queue: bool = False,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> Queue:
        """`register_queue` for async code (it does no I/O here)."""
        return cls.register_queue(
            name,
            concurrency,
            limiter,
            worker_concurrency=worker_concurrency,
            global_concurrency=global_concurrency,
            priority_enabled=priority_enabled,
            partition_queue=partition_queue,
            polling_interval_sec=polling_interval_sec,
        )

    @classmethod
    def retrieve_queue(cls, name: str) -> Queue | None:
        """The queue declared in this process under `name` (by ``Queue(...)`` or
        `register_queue`), or None when there is none (DBOS Transact 3.4 semantics, which looks
        in the system database)."""
        return find_queue(name)

    @classmethod
    async def retrieve_queue_async(cls, name: str) -> Queue | None:
        """`retrieve_queue` for async code (it does no I/O here)."""
        return find_queue(name)

    @overload
    @classmethod
    def enqueue_workflow(
        cls,
        queue_name: str,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> WorkflowHandle[R]: ...

    @overload
    @classmethod
    def enqueue_workflow(
        cls, queue_name: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[R]: ...

    @classmethod
    def enqueue_workflow(
        cls, queue_name: str, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandle[Any]:
        """Enqueue `func` (a workflow or a step) on the queue named `queue_name`, as
        ``queue.enqueue(func, ...)`` does, and return a handle to the task. DBOS Transact 3.4.

        A queue declared in this process checks the enclosing `SetEnqueueOptions` (priority,
        partition key); a queue not declared here is not checked: the task waits, ENQUEUED,
        for a process that declares it.

        Raises:
            DBOSException: an empty or reserved queue name; `func` is not a workflow or step;
                options the declared queue does not take.
        """
        engine = launched_engine()
        name = check_queue_name(queue_name)
        started = run_sync(
            engine.enqueue(
                registration_of(func),
                with_bound_self(func, args),
                kwargs,
                placement(name, find_queue(name)),
            )
        )
        return WorkflowHandle(engine, started.workflow_id, started.active)

    @overload
    @classmethod
    async def enqueue_workflow_async(
        cls,
        queue_name: str,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> WorkflowHandleAsync[R]: ...

    @overload
    @classmethod
    async def enqueue_workflow_async(
        cls, queue_name: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[R]: ...

    @classmethod
    async def enqueue_workflow_async(
        cls, queue_name: str, func: Callable[P, Any], *args: P.args, **kwargs: P.kwargs
    ) -> WorkflowHandleAsync[Any]:
        """`enqueue_workflow` for async code; the handle's `get_result` is awaitable."""
        engine = launched_engine()
        name = check_queue_name(queue_name)
        started = await run_async(
            engine.enqueue(
                registration_of(func),
                with_bound_self(func, args),
                kwargs,
                placement(name, find_queue(name)),
            )
        )
        return WorkflowHandleAsync(engine, started.workflow_id, started.active)

    @classmethod
    def enqueue_workflow_with_options(
        cls, options: EnqueueOptions, *args: Any, **kwargs: Any
    ) -> WorkflowHandle[Any]:
        """Enqueue a workflow by name, without its function (it may be another process's).

        The workflow registered as ``options["workflow_name"]`` waits on
        ``options["queue_name"]``; the options are those `DBOSClient.enqueue` takes
        (`EnqueueOptions`). DBOS Transact 3.4 semantics:

        - what the options leave unset comes from the enclosing `SetWorkflowID`,
          `SetEnqueueOptions` and `SetWorkflowTimeout`, then from the parent's deadline;
        - ``app_version`` stays unset unless given, so a process of any version may run it;
        - inside a workflow the enqueue is the parent's operation, recorded (under the
          workflow's name) with the child's ID, which defaults to the deterministic child ID;
          a replay returns a handle to the recorded child and enqueues nothing.

        Neither the name nor the queue is checked against this process's registrations;
        a queue declared here checks the priority and partition key.

        Raises:
            DBOSException: bad options (see `DBOSClient.enqueue`).
            DBOSQueueDeduplicatedError: the queue holds a task with this deduplication ID.
            DBOSWorkflowConflictIDError: the ID belongs to a workflow of another name.
        """
        engine = launched_engine()
        workflow_id = run_sync(_enqueue_with_options(options, args, kwargs))
        return WorkflowHandle(engine, workflow_id)

    @classmethod
    async def enqueue_workflow_with_options_async(
        cls, options: EnqueueOptions, *args: Any, **kwargs: Any
    ) -> WorkflowHandleAsync[Any]:
        """`enqueue_workflow_with_options` for async code; the handle's `get_result` is
        awaitable."""
        engine = launched_engine()
        workflow_id = await run_async(_enqueue_with_options(options, args, kwargs))
        return WorkflowHandleAsync(engine, workflow_id)
