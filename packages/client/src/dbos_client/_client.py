"""`DBOSClient`: manage the workflows of an app from a process that has none of its code."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, ClassVar

from dbos import (
    DBOSConfigError,
    JsonPickleSerializer,
    Serializer,
    SystemStorage,
    WorkflowHandle,
    WorkflowHandleAsync,
    WorkflowSerializationFormat,
)
from dbos.management import (
    DEFAULT_RETRY_TIMEOUT_S,
    Codec,
    EnqueueCall,
    EnqueueOptions,
    LenientCodec,
    Management,
    Procedure,
    QueueConflictResolution,
    QueueRateLimit,
    QueueSettings,
    RemoteWaiter,
    ResilientStorage,
    SendMessage,
    Wakeups,
    attempt_timeout,
    get_event_from_outside,
    queue_from_arguments,
    retry_timeout,
    run_async,
    run_sync,
    send_bulk_from_outside,
    send_from_outside,
    sqlalchemy_engine_url,
    store_procedure,
    take_assigned_workflow_id,
    validate_url,
)
from dbos.plugins import Hooks, backend_for_url, plugin_manager
from dbos.storage import StorageOptions, StoredQueue, require_current_schema, scrub_exception

from ._in_transaction import check_format, check_send_options, enqueue_in, send_bulk_in, send_in
from ._schedules import ClientSchedules

_ENV_URL = "DBOS_SYSTEM_DATABASE_URL"


def open_storage(
    url: str,
    *,
    system_schema: str = "dbos",
    retry_timeout_s: float = DEFAULT_RETRY_TIMEOUT_S,
    options: StorageOptions | None = None,
) -> SystemStorage:
    """A storage backend for `url` whose schema is checked but not changed.

    Its calls retry connection errors for up to `retry_timeout_s` seconds from their first
    failure, then raise `DBOSConnectionError`. The first connection is not retried: a wrong
    URL fails at once. `options` gives the pool size and timeouts (default: a pool of 4).

    Raises `DBOSConfigError` for a URL no installed backend handles, `DBOSConnectionError`
    for a database that cannot be reached, `DBOSMigrationError` for one not (fully) set up.
    """
    validate_url(url, "the database URL")
    options = replace(
        options or StorageOptions(pool_size=4),
        system_schema=system_schema,
        application_name="dbos",
        connect_timeout_s=attempt_timeout(retry_timeout_s),
    )
    storage = backend_for_url(url, options)
    try:
        require_current_schema(storage)
    except BaseException as exc:
        storage.close()
        scrub_exception(exc, url)
        raise
    return ResilientStorage(storage, Hooks(plugin_manager()), retry_timeout_s).as_storage()


#: The workflow ID `check_connection` reads (any ID would do: the read is the check).
_CONNECTION_PROBE_ID = "dbos-check-connection"


class DBOSClient(ClientSchedules):
    """Enqueue, inspect and manage an app's workflows from outside the app.

    The calls it shares with `DBOS` (list, cancel, resume, delete, send, get_event,
    read_stream, ...) are `dbos.management.Facade`'s; what is the client's own is said here.

    Example:
        client = DBOSClient("postgresql://user:password@host:5432/app")
        handle = client.enqueue({"workflow_name": "process_order", "queue_name": "orders"}, 42)
        print(handle.get_result())

    Args:
        database_url: The app's system database URL (``postgresql://...`` or
            ``sqlite:///path``); default: ``DBOS_SYSTEM_DATABASE_URL``.
        system_database_url: Takes precedence over `database_url` (DBOS Transact's name).
        dbos_system_schema: The Postgres schema of the system tables (default ``dbos``).
        serializer: The app's `Serializer`, if it uses a custom one.
        strict_serialization: Never unpickle stored values (they come back as
            `UnreadableValue`, errors as `DBOSRemoteError`).
        sys_db_retry_timeout_sec: Seconds a call keeps retrying while the database is
            unreachable, from its first failure, before it raises `DBOSConnectionError`
            (default 60; the app's config key of the same name). Opening the client does not
            retry: a wrong URL fails at once.
        retry_connection_errors: False raises `DBOSConnectionError` at a call's first
            connection error (DBOS Transact's switch; the same as a retry timeout of 0).
        application_name: The application this client acts for (DBOS Transact 3.4's
            keyword): stored as the `WorkflowStatus.application_name` of the workflows it
            enqueues (None: they have none). Give the app's config ``name`` when several
            apps share one system database.
        system_database_engine: DBOS Transact 3.4's: a SQLAlchemy engine, whose URL is used
            when no URL is given (the client opens its own connections).
        system_database_pool_size: Connections in the client's pool (default 4).
        use_listen_notify: False: no Postgres LISTEN connection; waits for events and
            streams poll instead (DBOS Transact 3.4's keyword; its default is False, ours
            True, which wakes them at once).
        observability_query_timeout_sec: Statement timeout of listings, in seconds (None:
            none; default 30), as the app's config key of the same name.
        sys_db_idle_transaction_timeout_sec: Postgres ``idle_in_transaction_session_timeout``
            of the client's connections, in seconds (None: the server's; default 60).
        system_database_polling_concurrency: Accepted for DBOS Transact 3.4 and unused: a
            wait here holds no pool connection while it waits.
        lazy: Accepted for DBOS Transact 3.4 and unused: the client connects (and checks the
            database's schema) when it is created.
        sharding: Only False (sharded system databases are not provided).

    The client never creates or migrates the database: it must have been set up by the app
    (or ``dbos migrate``). Stored values whose class is not importable in this process come
    back as `UnreadableValue`; recorded exceptions as `DBOSRemoteError` (type, message,
    traceback).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        system_database_url: str | None = None,
        dbos_system_schema: str = "dbos",
        serializer: Serializer | None = None,
        strict_serialization: bool = False,
        sys_db_retry_timeout_sec: float = DEFAULT_RETRY_TIMEOUT_S,
        retry_connection_errors: bool = True,
        application_name: str | None = None,
        system_database_engine: Any = None,
        system_database_pool_size: int | None = None,
        system_database_polling_concurrency: int | None = None,
        use_listen_notify: bool = True,
        lazy: bool = False,
        observability_query_timeout_sec: float | None = 30.0,
        sys_db_idle_transaction_timeout_sec: float | None = 60.0,
        sharding: bool = False,
    ) -> None:
        del system_database_polling_concurrency, lazy  # DBOS Transact 3.4's; see Args
        if sharding:
            raise DBOSConfigError(
                "DBOSClient: sharding=True: sharded system databases are not provided"
            )
        pool_size = 4 if system_database_pool_size is None else system_database_pool_size
        if type(pool_size) is not int or pool_size < 1:  # as the app's sys_db_pool_size
            raise DBOSConfigError(
                "DBOSClient: system_database_pool_size must be a positive int, got "
                f"{system_database_pool_size!r}"
            )
        if application_name is not None and (
            not isinstance(application_name, str) or not application_name
        ):
            raise DBOSConfigError(
                f"application_name must be a non-empty string or None, got {application_name!r}"
            )
        url = (
            system_database_url
            or database_url
            or sqlalchemy_engine_url(system_database_engine, "DBOSClient: system_database_engine")
            or os.environ.get(_ENV_URL)
        )
        if not url:
            raise DBOSConfigError(f"DBOSClient needs a database URL (argument or ${_ENV_URL})")
        budget = retry_timeout(sys_db_retry_timeout_sec, "sys_db_retry_timeout_sec")
        self._system_schema = dbos_system_schema
        self._application_name = application_name
        self._storage = open_storage(
            url,
            system_schema=dbos_system_schema,
            retry_timeout_s=budget if retry_connection_errors else 0.0,
            options=StorageOptions(
                pool_size=pool_size,
                use_listen_notify=bool(use_listen_notify),
                observability_query_timeout_s=observability_query_timeout_sec,
                idle_transaction_timeout_s=sys_db_idle_transaction_timeout_sec,
            ),
        )
        self._codec = LenientCodec(serializer or JsonPickleSerializer(strict=strict_serialization))
        self._management = Management(self._storage, self._codec, application_name)
        self._waiter = RemoteWaiter(self._storage, self._codec)
        # Waiters for events and streams are woken by the app's writes (LISTEN on Postgres).
        self._wakeups = Wakeups()
        self._storage.on_wakeup(self._wakeups.notify)
        self._storage.listen()

    @property
    def storage(self) -> SystemStorage:
        """The client's system database storage, already wrapped with connection retries (a
        `ResilientStorage` typed as `SystemStorage`). Part of the `MessagingHost` shape that the
        messaging procedures of `dbos.management` take."""
        return self._storage

    @property
    def codec(self) -> Codec:
        """The codec values are read and written with: a `LenientCodec`, so values this process
        cannot rebuild come back as `UnreadableValue`."""
        return self._codec

    @property
    def wakeups(self) -> Wakeups:
        """The in-process wake-ups that `get_event` and `read_stream` wait on; the storage's
        notifications (``LISTEN`` on Postgres) fire them."""
        return self._wakeups

    # --- the client's side of `Facade` ------------------------------------------------------

    _facade_label: ClassVar[str] = "DBOSClient"

    def _facade_management(self) -> Management:
        return self._management

    def _facade_handle_source(self) -> RemoteWaiter:
        return self._waiter

    def _facade_messaging_host(self) -> DBOSClient:
        return self

    def _facade_resume(self, workflow_ids: list[str]) -> Procedure[list[None]]:
        # An app process with the workflow's code runs it: no execution here to bind to.
        yield from self._management.requeue(workflow_ids)
        return [None] * len(workflow_ids)

    def _facade_send(
        self,
        destination_id: str,
        message: Any,
        topic: str | None,
        serialization: str | None,
        idempotency_key: str | None,
        to_forks: bool,
    ) -> Procedure[None]:
        return send_from_outside(
            self, destination_id, message, topic, serialization, idempotency_key, to_forks
        )

    def _facade_send_bulk(
        self, messages: list[SendMessage], serialization: str | None, to_forks: bool
    ) -> Procedure[None]:
        return send_bulk_from_outside(self, messages, serialization, to_forks)

    def _facade_get_event(self, workflow_id: str, key: str, timeout_s: float) -> Procedure[Any]:
        return get_event_from_outside(self, workflow_id, key, timeout_s)

    def _facade_queue_of(self, stored: StoredQueue) -> QueueSettings:
        return QueueSettings(stored, lambda: self._storage)

    # --- queues (DBOS Transact 3.4) ---------------------------------------------------------

    def register_queue(
        self,
        name: str,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: QueueRateLimit | None = None,
        limiter: QueueRateLimit | None = None,
        priority_enabled: bool = False,
        polling_interval_sec: float = 1.0,
        on_conflict: QueueConflictResolution = "always_update",
        concurrency: int | None = None,
        application_name: str | None = None,
    ) -> QueueSettings:
        """Store a queue in the app's system database (DBOS Transact 3.4) with the settings
        `dbos.Queue` takes, and return its stored settings (getters and setters; enqueue
        with `enqueue`). Every app process works on it within its polling interval.

        `on_conflict` when the name is stored already: ``"always_update"`` (the default)
        overwrites, ``"never_update"`` leaves it; ``"update_if_latest_version"`` is refused,
        as in DBOS Transact: a client runs no application version. `application_name` is
        stored as the queue's application (DBOS Transact 3.4's owner; here it only labels
        the queue, for `list_queues(application_name=...)`: every process works on every
        stored queue); None (the default) stores none, a client having no application name.

        Raises:
            DBOSConfigError: bad or contradictory settings (see `dbos.Queue`), or
                ``on_conflict="update_if_latest_version"``.
        """
        if on_conflict == "update_if_latest_version":
            raise DBOSConfigError(
                "DBOSClient.register_queue: on_conflict='update_if_latest_version' needs an "
                "application version, which a client does not run; use 'always_update' or "
                "'never_update'"
            )
        declared = queue_from_arguments(
            name,
            concurrency,
            limiter,
            worker_concurrency=worker_concurrency,
            global_concurrency=global_concurrency,
            priority_enabled=priority_enabled,
            partition_concurrency=partition_concurrency,
            partition_worker_concurrency=partition_worker_concurrency,
            partition_limiter=partition_limiter,
            polling_interval_sec=polling_interval_sec,
            on_conflict=on_conflict,
        )
        if application_name is not None:
            if not isinstance(application_name, str) or not application_name:
                raise DBOSConfigError(
                    "DBOSClient.register_queue: application_name must be a non-empty string, "
                    f"got {application_name!r}"
                )
            declared = replace(declared, application_name=application_name)
        stored = run_sync(store_procedure(self._storage, declared, on_conflict, False))
        return QueueSettings(stored, lambda: self._storage)

    async def register_queue_async(
        self,
        name: str,
        *,
        worker_concurrency: int | None = None,
        global_concurrency: int | None = None,
        partition_concurrency: int | None = None,
        partition_worker_concurrency: int | None = None,
        partition_limiter: QueueRateLimit | None = None,
        limiter: QueueRateLimit | None = None,
        priority_enabled: bool = False,
        polling_interval_sec: float = 1.0,
        on_conflict: QueueConflictResolution = "always_update",
        concurrency: int | None = None,
        application_name: str | None = None,
    ) -> QueueSettings:
        """`register_queue` for async code (storing runs in a worker thread)."""
        return await asyncio.to_thread(
            functools.partial(
                self.register_queue,
                name,
                worker_concurrency=worker_concurrency,
                global_concurrency=global_concurrency,
                partition_concurrency=partition_concurrency,
                partition_worker_concurrency=partition_worker_concurrency,
                partition_limiter=partition_limiter,
                limiter=limiter,
                priority_enabled=priority_enabled,
                polling_interval_sec=polling_interval_sec,
                on_conflict=on_conflict,
                concurrency=concurrency,
                application_name=application_name,
            )
        )

    def check_connection(self) -> None:
        """Check that the client reaches its system database: one read through its
        connections, now, not retried (DBOS Transact 3.4 makes one attempt too). Returns None
        when it does.

        Raises:
            DBOSConnectionError: the database cannot be reached (the message says why); at
                most the connect timeout (10 s) after the call, never the retry budget.
            DBOSStorageError: the read failed otherwise, or the client was destroyed.
        """
        # The backend itself, not the retrying wrapper: a check that waited out an outage
        # (sys_db_retry_timeout_sec, 60 s by default) would answer too late to be one.
        backend: SystemStorage = getattr(self._storage, "backend", self._storage)
        backend.get_workflow(_CONNECTION_PROBE_ID)

    async def check_connection_async(self) -> None:
        """`check_connection` for async code (the read does not block the event loop)."""
        await asyncio.to_thread(self.check_connection)

    def destroy(self) -> None:
        """Close the client's connections. Idempotent."""
        self._storage.close()

    close = destroy

    def __enter__(self) -> DBOSClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.destroy()

    # --- enqueueing and handles -------------------------------------------------------------

    def enqueue(self, options: EnqueueOptions, *args: Any, **kwargs: Any) -> WorkflowHandle[Any]:
        """Enqueue the workflow registered as ``options["workflow_name"]`` on
        ``options["queue_name"]``; an app process that has both runs it. Returns its handle.

        The name and queue are not checked against any app (this process has none): a task
        whose name or queue no running app knows waits, ENQUEUED, until one does.
        """
        workflow_id = run_sync(self._management.enqueue(options, args, kwargs))
        return WorkflowHandle(self._waiter, workflow_id)

    def enqueue_many(
        self,
        options: EnqueueOptions,
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
    ) -> list[WorkflowHandle[Any]]:
        """Enqueue many tasks of the workflow ``options["workflow_name"]`` on
        ``options["queue_name"]`` in one round trip (one statement on Postgres, one
        transaction on SQLite) and return a handle per task, in order. Our extension of
        DBOS's API (see `dbos.Queue.enqueue_many`, whose rules it follows).

        `calls` holds one item per task: a tuple of positional arguments, or an `EnqueueCall`
        (with keyword arguments, and the task's own ``deduplication_id`` and ``priority``).
        `options` apply to every task; ``workflow_id`` and ``deduplication_id`` name one task
        and are refused (give `workflow_ids`, one per task, and
        `EnqueueCall.deduplication_id`). Atomic: when a task is refused, none is stored.

        Raises:
            DBOSException: bad options, calls or workflow_ids; a ``"reject"`` ID reuse policy.
            DBOSQueueDeduplicatedError: a task's deduplication ID is held (``"reject"``).
            DBOSWorkflowConflictIDError: a task's ID belongs to a workflow of another name.
        """
        ids = run_sync(self._management.enqueue_many(options, calls, workflow_ids))
        return [WorkflowHandle(self._waiter, workflow_id) for workflow_id in ids]

    async def enqueue_many_async(
        self,
        options: EnqueueOptions,
        calls: Sequence[tuple[Any, ...] | EnqueueCall],
        *,
        workflow_ids: Sequence[str] | None = None,
    ) -> list[WorkflowHandleAsync[Any]]:
        """`enqueue_many` for async code; the handles are `WorkflowHandleAsync`."""
        ids = await run_async(self._management.enqueue_many(options, calls, workflow_ids))
        return [WorkflowHandleAsync(self._waiter, workflow_id) for workflow_id in ids]

    def enqueue_in_transaction(
        self, conn_or_session: Any, options: EnqueueOptions, *args: Any, **kwargs: Any
    ) -> WorkflowHandle[Any]:
        """Enqueue inside the caller's SQLAlchemy transaction (a `Connection` or `Session` on
        the Postgres system database, which is also the app's): the workflow exists if and
        only if that transaction commits, with the app's own writes (DBOS Transact 3.4). The
        caller commits or rolls back; the handle is good once committed. Arguments are
        written as portable JSON (the ``dbos.enqueue_workflow`` SQL function), whatever
        `serialization_type` says (None, DEFAULT or PORTABLE). Options as `enqueue`'s, with
        `queue_partition_key`; a `workflow_id` already used by the same workflow returns
        its handle and changes nothing.

        Raises (before any statement, the caller's transaction left usable):
            DBOSException: ``duplication_policy="return-existing"`` (its retry cannot run in
                a transaction the caller owns, as in 3.4), options this path does not carry
                (`attributes`, identities, a reuse policy, ``NATIVE``), an option of the
                wrong type (an empty workflow ID, partition key or deduplication ID, a
                negative priority, `instance_name` without `class_name`), arguments that
                are not JSON, or a connection that is not Postgres.

        Raises (after the statement):
            DBOSWorkflowConflictIDError: `workflow_id` belongs to another workflow (nothing
                written; the transaction stays usable).
            DBOSConflictingWorkflowError: it belongs to this workflow of another class or
                instance (the same).
            DBOSQueueDeduplicatedError: the queue has an unfinished task with this
                `deduplication_id` (the caller's transaction is aborted, as in 3.4).
            DBOSException: the connection is not to the DBOS system database (aborted).
        """
        workflow_id = enqueue_in(
            conn_or_session, self._system_schema, options, args, kwargs, self._application_name
        )
        return WorkflowHandle(self._waiter, workflow_id)

    def send_in_transaction(
        self,
        conn_or_session: Any,
        destination_id: str,
        message: Any,
        topic: str | None = None,
        idempotency_key: str | None = None,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
        send_to_forks: bool = False,
        shard_key: str | None = None,
    ) -> None:
        """Send a message inside the caller's SQLAlchemy transaction (see
        `enqueue_in_transaction`): the destination sees it once the transaction commits, and
        never if it rolls back. The message is written as portable JSON. With an
        `idempotency_key` it is delivered once per destination and key, as `DBOS.send`.
        DBOS Transact 3.4's keywords are accepted with the values this library supports:
        `serialization_type` None, DEFAULT or PORTABLE, no `shard_key`. With
        ``send_to_forks=True`` a copy also goes to every workflow forked from the
        destination, recursively, as the caller's transaction sees them (DBOS Transact 3.4).

        Raises:
            DBOSException: a message that is not JSON, an empty topic or key, another
                `serialization_type`, a `send_to_forks` that is not a bool, a `shard_key`, or
                a connection that is not Postgres (before any statement).
            DBOSNonExistentWorkflowError: no workflow `destination_id` (the caller's
                transaction is then aborted).
        """
        check_format(serialization_type, "send_in_transaction")
        to_forks = check_send_options("send_in_transaction", send_to_forks, shard_key)
        send_in(
            conn_or_session,
            self._system_schema,
            destination_id,
            message,
            topic,
            idempotency_key,
            to_forks,
        )

    def send_bulk_in_transaction(
        self,
        conn_or_session: Any,
        messages: list[SendMessage],
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
        send_to_forks: bool = False,
    ) -> None:
        """Send many messages inside the caller's SQLAlchemy transaction (see
        `send_in_transaction`; DBOS Transact 3.4): each destination sees its message once the
        transaction commits, none if it rolls back. Every message is checked before the first
        is written. Messages are written as portable JSON.

        Raises:
            DBOSException: `messages` is not a list of `SendMessage`, one idempotency key
                given twice, a message that is not JSON, a bad destination ID, another
                `serialization_type`, a `send_to_forks` that is not a bool, a
                `SendMessage.shard_key`, or a connection that is not Postgres (before any
                statement). With ``send_to_forks=True``, as `send_in_transaction`.
            DBOSNonExistentWorkflowError: a destination that does not exist (the caller's
                transaction is then aborted).
        """
        check_format(serialization_type, "send_bulk_in_transaction")
        to_forks = check_send_options("send_bulk_in_transaction", send_to_forks, None)
        send_bulk_in(conn_or_session, self._system_schema, messages, to_forks)

    async def enqueue_async(
        self, options: EnqueueOptions, *args: Any, **kwargs: Any
    ) -> WorkflowHandleAsync[Any]:
        """`enqueue` for async code: the write does not block the event loop, and the handle is a
        `WorkflowHandleAsync`."""
        workflow_id = await run_async(self._management.enqueue(options, args, kwargs))
        return WorkflowHandleAsync(self._waiter, workflow_id)

    def fork_workflow(
        self,
        workflow_id: str,
        start_step: int,
        application_version: str | None = None,
        *,
        forked_workflow_id: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> WorkflowHandle[Any]:
        """Start a new workflow that re-runs `workflow_id` from step `start_step`, reusing the
        recorded outputs of the steps before it (see `DBOS.fork_workflow`, which documents
        DBOS Transact 3.4's `queue_name`, `queue_partition_key`, `replacement_children`,
        `timeout_seconds` and `shard_key`, and their errors). An app process of
        `application_version` (default: the original's) runs it. `forked_workflow_id` (ours;
        default: an enclosing `SetWorkflowID`, else a random UUID) is the new workflow's ID.
        A `queue_partition_key` is checked against the stored queue (`queue_name`)."""
        forked = run_sync(
            self._fork(
                workflow_id,
                start_step,
                application_version=application_version,
                forked_workflow_id=forked_workflow_id,
                queue_name=queue_name,
                queue_partition_key=queue_partition_key,
                replacement_children=replacement_children,
                timeout_seconds=timeout_seconds,
                shard_key=shard_key,
            )
        )
        return WorkflowHandle(self._waiter, forked)

    async def fork_workflow_async(
        self,
        workflow_id: str,
        start_step: int,
        application_version: str | None = None,
        *,
        forked_workflow_id: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> WorkflowHandleAsync[Any]:
        """`fork_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        forked = await run_async(
            self._fork(
                workflow_id,
                start_step,
                application_version=application_version,
                forked_workflow_id=forked_workflow_id,
                queue_name=queue_name,
                queue_partition_key=queue_partition_key,
                replacement_children=replacement_children,
                timeout_seconds=timeout_seconds,
                shard_key=shard_key,
            )
        )
        return WorkflowHandleAsync(self._waiter, forked)

    def _fork(
        self, workflow_id: str, start_step: int, forked_workflow_id: str | None, **options: Any
    ) -> Procedure[str]:
        return self._management.fork(
            workflow_id,
            start_step,
            forked_workflow_id=(
                take_assigned_workflow_id() if forked_workflow_id is None else forked_workflow_id
            ),
            **options,
        )
