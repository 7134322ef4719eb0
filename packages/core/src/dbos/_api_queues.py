"""`DBOS`'s queue calls (DBOS Transact 3.4's names): declaring and finding queues, and
enqueueing by queue name, with a function or with only a workflow's name.

Queues are rows in the system database (as in DBOS Transact 3.4): `register_queue` declares
one as ``Queue(...)`` does, and launch stores it; `retrieve_queue`, `list_queues` and
`delete_queue` are the calls shared with `DBOSClient` (`dbos.management.Facade`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar, overload

from ._base.errors import DBOSException
from ._engine.classes import with_bound_self
from ._engine.context import NO_TIMEOUT, assigned_timeout
from ._engine.effects import Procedure, run_async, run_sync
from ._engine.queues import (
    DEFAULT_POLLING_INTERVAL_S,
    current_enqueue_options,
    listen_to,
    listened_queues,
)
from ._engine.registry import registration_of
from ._engine.roles import current_identity
from ._engine.starting import check_duplication_policy, check_reuse_policy
from ._engine.starts import StartPosition, enqueue_named
from ._launched import engine_if_launched, launched_engine
from ._queue import Queue, check_fits, check_queue_name, find_queue, placement
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import EnqueueOptions, Management
from .management._queue_settings import QueueConflictResolution, QueueRateLimit
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
    management = Management(engine.storage, engine.codec, engine.application_name)
    ambient = current_enqueue_options()
    timeout = assigned_timeout()
    no_timeout = timeout == NO_TIMEOUT  # SetWorkflowTimeout(None): no parent's deadline either
    if no_timeout:
        timeout = None
    identity = current_identity()

    def build(position: StartPosition) -> NewWorkflow:
        resolved: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
        resolved.setdefault("workflow_id", position.workflow_id)
        for key, value in (
            ("deduplication_id", ambient.deduplication_id),
            ("priority", ambient.priority),
            ("queue_partition_key", ambient.queue_partition_key),
            ("app_version", ambient.app_version),
            ("delay_seconds", ambient.delay_seconds),
            ("workflow_timeout", timeout),
            # The caller's identity, where the options name none (DBOS semantics).
            ("authenticated_user", identity.user),
            ("authenticated_roles", None if identity.roles is None else list(identity.roles)),
        ):
            if value is not None:
                resolved.setdefault(key, value)
        check_fits(
            find_queue(queue_name), resolved.get("priority"), resolved.get("queue_partition_key")
        )
        new = management._enqueued_workflow(resolved, args, kwargs)  # type: ignore[arg-type]
        parent = position.parent
        return replace(
            new,
            parent_workflow_id=None if parent is None else parent.workflow_id,
            deadline_ms=(
                new.deadline_ms
                if new.deadline_ms is not None or parent is None or no_timeout
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
    """Queues by name: declare, listen, enqueue."""

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
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: QueueRateLimit | None = None,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
        on_conflict: QueueConflictResolution = "update_if_latest_version",
    ) -> Queue:
        """Declare a queue and store it in the system database (DBOS Transact 3.4), the same
        as constructing ``Queue(...)`` with these arguments, and return it. Before
        `DBOS.launch` the queue is stored at launch; after, at once. When the name is stored
        already, `on_conflict` decides whether these settings replace the stored ones
        (default: only from a process of the latest application version).

        Raises:
            DBOSConfigError: bad or contradictory settings (see `Queue`), both `concurrency`
                and `global_concurrency`, or the name already declared in this process with
                other settings.
        """
        return Queue(
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
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: QueueRateLimit | None = None,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
        on_conflict: QueueConflictResolution = "update_if_latest_version",
    ) -> Queue:
        """`register_queue` for async code (storing runs in a worker thread)."""
        return await asyncio.to_thread(
            Queue,
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

    @classmethod
    def listen_queues(cls, queues: Sequence[str]) -> None:
        """Work only on these queues in this process (DBOS Transact 3.4): its queue worker
        claims tasks of the named queues (and of DBOS's internal queue) and no others. By
        default a process works on every stored queue. Call it before `DBOS.launch`, once;
        it holds until `DBOS.destroy`. The names are recorded with the process's lease, so
        `dbos queue list` shows who listens to which queue.

        Raises:
            DBOSException: DBOS is launched already, listen_queues was called already, or
                `queues` is not a sequence of non-empty strings.
        """
        if engine_if_launched() is not None:
            raise DBOSException("DBOS.listen_queues must be called before DBOS.launch()")
        if listened_queues() is not None:
            raise DBOSException("DBOS.listen_queues was called already (call it once)")
        if isinstance(queues, str) or not all(isinstance(q, str) and q for q in queues):
            raise DBOSException(f"DBOS.listen_queues takes a list of queue names, got {queues!r}")
        listen_to(frozenset(queues))

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
