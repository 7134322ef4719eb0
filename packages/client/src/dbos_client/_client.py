"""`DBOSClient`: manage the workflows of an app from a process that has none of its code."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Generator
from datetime import datetime
from types import TracebackType
from typing import Any

from dbos import (
    DBOSConfigError,
    DBOSMigrationError,
    JsonPickleSerializer,
    Serializer,
    SystemStorage,
    WorkflowHandle,
    WorkflowHandleAsync,
    WorkflowStatus,
)
from dbos.management import (
    DEFAULT_RETRY_TIMEOUT_S,
    Codec,
    EnqueueOptions,
    LenientCodec,
    Management,
    Procedure,
    RemoteWaiter,
    ResilientStorage,
    StepInfo,
    Wakeups,
    attempt_timeout,
    build_query,
    build_queued_query,
    check_timeout,
    get_event_from_outside,
    retry_timeout,
    run_async,
    run_sync,
    send_from_outside,
    stream_batch_procedure,
    take_assigned_workflow_id,
    validate_url,
)
from dbos.plugins import Hooks, backend_for_url, plugin_manager
from dbos.storage import StorageOptions, WorkflowQuery, scrub_exception

_ENV_URL = "DBOS_SYSTEM_DATABASE_URL"


def open_storage(
    url: str,
    *,
    system_schema: str = "dbos",
    retry_timeout_s: float = DEFAULT_RETRY_TIMEOUT_S,
) -> SystemStorage:
    """A storage backend for `url` whose schema is checked but not changed.

    Its calls retry connection errors for up to `retry_timeout_s` seconds from their first
    failure, then raise `DBOSConnectionError`. The first connection is not retried: a wrong
    URL fails at once.

    Raises `DBOSConfigError` for a URL no installed backend handles, `DBOSConnectionError`
    for a database that cannot be reached, `DBOSMigrationError` for one not (fully) set up.
    """
    validate_url(url, "the database URL")
    options = StorageOptions(
        system_schema=system_schema,
        pool_size=4,
        application_name="dbos",
        connect_timeout_s=attempt_timeout(retry_timeout_s),
    )
    storage = backend_for_url(url, options)
    try:
        pending = storage.verify_schema()
    except BaseException as exc:
        storage.close()
        scrub_exception(exc, url)
        raise
    if pending:
        storage.close()
        raise DBOSMigrationError(
            f"the system database {storage.url_for_display!r} lacks {len(pending)} DBOS "
            f"migration(s) ({', '.join(pending)}): launch the app on it once, or run "
            "`dbos migrate`"
        )
    return ResilientStorage(storage, Hooks(plugin_manager()), retry_timeout_s).as_storage()


def _workflow_id_of(workflow: str | WorkflowStatus) -> str:
    return workflow.workflow_id if isinstance(workflow, WorkflowStatus) else workflow


class DBOSClient:
    """Enqueue, inspect and manage an app's workflows from outside the app.

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
    ) -> None:
        url = system_database_url or database_url or os.environ.get(_ENV_URL)
        if not url:
            raise DBOSConfigError(f"DBOSClient needs a database URL (argument or ${_ENV_URL})")
        budget = retry_timeout(sys_db_retry_timeout_sec, "sys_db_retry_timeout_sec")
        self._storage = open_storage(
            url,
            system_schema=dbos_system_schema,
            retry_timeout_s=budget if retry_connection_errors else 0.0,
        )
        self._codec = LenientCodec(serializer or JsonPickleSerializer(strict=strict_serialization))
        self._management = Management(self._storage, self._codec)
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

    async def enqueue_async(
        self, options: EnqueueOptions, *args: Any, **kwargs: Any
    ) -> WorkflowHandleAsync[Any]:
        """`enqueue` for async code: the write does not block the event loop, and the handle is a
        `WorkflowHandleAsync`."""
        workflow_id = await run_async(self._management.enqueue(options, args, kwargs))
        return WorkflowHandleAsync(self._waiter, workflow_id)

    def retrieve_workflow(
        self, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandle[Any]:
        """A handle to a workflow; raises `DBOSNonExistentWorkflowError` for an unknown ID
        unless `existing_workflow` is False."""
        handle: WorkflowHandle[Any] = WorkflowHandle(self._waiter, workflow_id)
        if existing_workflow:
            handle.get_status()
        return handle

    async def retrieve_workflow_async(
        self, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandleAsync[Any]:
        """`retrieve_workflow` for async code: the handle is a `WorkflowHandleAsync`, and the
        existence check (unless `existing_workflow` is False) does not block the event loop."""
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(self._waiter, workflow_id)
        if existing_workflow:
            await handle.get_status()
        return handle

    # --- reading ----------------------------------------------------------------------------

    def get_workflow_status(self, workflow_id: str) -> WorkflowStatus | None:
        """The stored status of a workflow, or None."""
        return run_sync(self._management.get_status(workflow_id))

    async def get_workflow_status_async(self, workflow_id: str) -> WorkflowStatus | None:
        """`get_workflow_status` for async code: the stored status of a workflow, or None."""
        return await run_async(self._management.get_status(workflow_id))

    def list_workflows(
        self,
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
        """Workflows matching every given filter, oldest first (see `DBOS.list_workflows`)."""
        return run_sync(self._management.list_workflows(_query(locals())))

    async def list_workflows_async(
        self,
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
        """`list_workflows` for async code: same filters, same order, same errors."""
        return await run_async(self._management.list_workflows(_query(locals())))

    def list_queued_workflows(
        self,
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
        return run_sync(self._management.list_workflows(_queued_query(locals())))

    async def list_queued_workflows_async(
        self,
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
        """`list_queued_workflows` for async code: same filters, same order, same errors."""
        return await run_async(self._management.list_workflows(_queued_query(locals())))

    def list_workflow_steps(self, workflow: str | WorkflowStatus) -> list[StepInfo]:
        """The recorded steps of a workflow (by ID or status) in step-ID order, from 0."""
        return run_sync(self._management.list_steps(_workflow_id_of(workflow)))

    async def list_workflow_steps_async(self, workflow: str | WorkflowStatus) -> list[StepInfo]:
        """`list_workflow_steps` for async code. Raises `DBOSNonExistentWorkflowError` for an
        unknown ID."""
        return await run_async(self._management.list_steps(_workflow_id_of(workflow)))

    # --- changing ---------------------------------------------------------------------------

    def cancel_workflow(self, workflow_id: str) -> None:
        """Cancel a queued or running workflow (it stops at its next step boundary)."""
        run_sync(self._management.cancel([workflow_id]))

    async def cancel_workflow_async(self, workflow_id: str) -> None:
        """`cancel_workflow` for async code."""
        await run_async(self._management.cancel([workflow_id]))

    def cancel_workflows(self, workflow_ids: list[str]) -> None:
        """Cancel several queued or running workflows (finished ones are left as they are).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are
                cancelled.
        """
        run_sync(self._management.cancel(workflow_ids))

    async def cancel_workflows_async(self, workflow_ids: list[str]) -> None:
        """`cancel_workflows` for async code."""
        await run_async(self._management.cancel(workflow_ids))

    def resume_workflow(self, workflow_id: str) -> WorkflowHandle[Any]:
        """Continue a cancelled or failed workflow from its last completed step, in an app
        process that has its code and application version. Other statuses are left alone."""
        run_sync(self._management.requeue([workflow_id]))
        return WorkflowHandle(self._waiter, workflow_id)

    async def resume_workflow_async(self, workflow_id: str) -> WorkflowHandleAsync[Any]:
        """`resume_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        await run_async(self._management.requeue([workflow_id]))
        return WorkflowHandleAsync(self._waiter, workflow_id)

    def resume_workflows(self, workflow_ids: list[str]) -> list[WorkflowHandle[Any]]:
        """Resume several cancelled or failed workflows (see `resume_workflow`); others are left
        alone. Returns a handle for every ID given, in order, resumed or not.

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are resumed.
        """
        run_sync(self._management.requeue(workflow_ids))
        return [WorkflowHandle(self._waiter, workflow_id) for workflow_id in workflow_ids]

    async def resume_workflows_async(
        self, workflow_ids: list[str]
    ) -> list[WorkflowHandleAsync[Any]]:
        """`resume_workflows` for async code; the handles are `WorkflowHandleAsync`."""
        await run_async(self._management.requeue(workflow_ids))
        return [WorkflowHandleAsync(self._waiter, workflow_id) for workflow_id in workflow_ids]

    def fork_workflow(
        self,
        workflow_id: str,
        start_step: int,
        application_version: str | None = None,
        *,
        forked_workflow_id: str | None = None,
    ) -> WorkflowHandle[Any]:
        """Start a new workflow that re-runs `workflow_id` from step `start_step`, reusing the
        recorded outputs of the steps before it (see `DBOS.fork_workflow`). An app process of
        `application_version` (default: the original's) runs it."""
        forked = run_sync(
            self._fork(workflow_id, start_step, application_version, forked_workflow_id)
        )
        return WorkflowHandle(self._waiter, forked)

    async def fork_workflow_async(
        self,
        workflow_id: str,
        start_step: int,
        application_version: str | None = None,
        *,
        forked_workflow_id: str | None = None,
    ) -> WorkflowHandleAsync[Any]:
        """`fork_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        forked = await run_async(
            self._fork(workflow_id, start_step, application_version, forked_workflow_id)
        )
        return WorkflowHandleAsync(self._waiter, forked)

    def _fork(
        self,
        workflow_id: str,
        start_step: int,
        application_version: str | None,
        forked_workflow_id: str | None,
    ) -> Procedure[str]:
        return self._management.fork(
            workflow_id,
            start_step,
            forked_workflow_id=(
                take_assigned_workflow_id() if forked_workflow_id is None else forked_workflow_id
            ),
            application_version=application_version,
        )

    def delete_workflow(self, workflow_id: str, *, delete_children: bool = False) -> None:
        """Delete a workflow and everything recorded for it (and its children, if asked)."""
        run_sync(self._management.delete([workflow_id], delete_children=delete_children))

    async def delete_workflow_async(
        self, workflow_id: str, *, delete_children: bool = False
    ) -> None:
        """`delete_workflow` for async code."""
        await run_async(self._management.delete([workflow_id], delete_children=delete_children))

    def delete_workflows(self, workflow_ids: list[str], *, delete_children: bool = False) -> None:
        """Delete several workflows and everything recorded for them (and, with
        `delete_children`, their child workflows, recursively).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are deleted.
        """
        run_sync(self._management.delete(workflow_ids, delete_children=delete_children))

    async def delete_workflows_async(
        self, workflow_ids: list[str], *, delete_children: bool = False
    ) -> None:
        """`delete_workflows` for async code."""
        await run_async(self._management.delete(workflow_ids, delete_children=delete_children))

    def garbage_collect(self, before: datetime | str | int) -> int:
        """Delete finished workflows created before `before`; returns how many."""
        return run_sync(self._management.garbage_collect(before))

    async def garbage_collect_async(self, before: datetime | str | int) -> int:
        """`garbage_collect` for async code: deletes finished workflows created before `before` (a
        datetime, an ISO 8601 string or epoch milliseconds); returns how many."""
        return await run_async(self._management.garbage_collect(before))

    # --- messages, events, streams ---------------------------------------------------------

    def send(self, destination_id: str, message: Any, topic: str | None = None) -> None:
        """Send `message` to workflow `destination_id` under `topic`, as `DBOS.send` does
        from outside a workflow. Raises `DBOSNonExistentWorkflowError` if there is none."""
        run_sync(send_from_outside(self, destination_id, message, topic))

    async def send_async(self, destination_id: str, message: Any, topic: str | None = None) -> None:
        """`send` for async code. Raises `DBOSNonExistentWorkflowError` if there is no workflow
        `destination_id`."""
        await run_async(send_from_outside(self, destination_id, message, topic))

    def get_event(self, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """The value workflow `workflow_id` set under `key`, waiting up to `timeout_seconds`
        for it (None if it was not set in time). Holds no connection while waiting."""
        timeout = check_timeout("DBOSClient.get_event", timeout_seconds)
        return run_sync(get_event_from_outside(self, workflow_id, key, timeout))

    async def get_event_async(self, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """`get_event` for async code: the wait does not block the event loop; None if the event
        was not set within `timeout_seconds`."""
        timeout = check_timeout("DBOSClient.get_event", timeout_seconds)
        return await run_async(get_event_from_outside(self, workflow_id, key, timeout))

    def read_stream(self, workflow_id: str, key: str) -> Generator[Any, None, None]:
        """Yield the values of workflow `workflow_id`'s stream `key` as they are written,
        until the stream is closed or the workflow ends."""
        offset, done = 0, False
        while not done:
            values, offset, done = run_sync(stream_batch_procedure(self, workflow_id, key, offset))
            yield from values

    async def read_stream_async(self, workflow_id: str, key: str) -> AsyncGenerator[Any, None]:
        """`read_stream` for async code: an async generator (``async for value in ...``) that yields
        the stream's values as they are written, until the stream is closed or the workflow ends.
        Raises `DBOSNonExistentWorkflowError` if there is no workflow `workflow_id`."""
        offset, done = 0, False
        while not done:
            values, offset, done = await run_async(
                stream_batch_procedure(self, workflow_id, key, offset)
            )
            for value in values:
                yield value


def _query(arguments: dict[str, Any]) -> WorkflowQuery:
    filters = {key: value for key, value in arguments.items() if key != "self"}
    return build_query(**filters)


def _queued_query(arguments: dict[str, Any]) -> WorkflowQuery:
    filters = {key: value for key, value in arguments.items() if key != "self"}
    return build_queued_query(**filters)
