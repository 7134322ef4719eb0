"""`Facade`: the calls that `DBOS` and `DBOSClient` both make, written once.

Each is written against a few accessors that each side provides: the `Management` to call,
what handles wait through, what messaging waits through, and the side's own forms of resume,
send and get_event (inside a workflow `DBOS` checkpoints them; a client never runs in one).
`DBOSClient` subclasses `Facade`; `DBOS`'s metaclass does, so `DBOS.list_workflows(...)` binds
the class itself as `self`, as its classmethods do.

Most calls are one procedure (see `_effects`): the procedure is written once, with the
signature and the docstring, and `_sync_form` and `_async_form` make its two public methods
(``list_workflows`` and ``list_workflows_async``), which type checkers see with the same
parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar

from .._engine.attributes import check_update, write_attributes
from .._engine.effects import Procedure, run_async, run_sync
from .._engine.messaging import MessagingHost, check_timeout, stream_batch_procedure
from ._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from ._listing import build_query, build_queued_query
from ._status import WorkflowStatus
from ._stranded import StrandedCount, count_stranded, move_to_version
from ._timeops import rewind, set_delay
from ._versions import VersionInfo, latest_version, list_versions, set_latest_version

if TYPE_CHECKING:
    from .._engine.execution import ActiveWorkflow
    from ._management import Management, StepInfo

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound="Facade")


def _public(procedure: Callable[..., Any], wrapper: Callable[..., Any], suffix: str) -> None:
    """Name `wrapper` for the public method it is (``_list_workflows`` makes ``list_workflows``
    and ``list_workflows_async``) and give it the procedure's signature with the result type it
    returns, so that `help()` and `inspect.signature` show what callers pass and get."""
    name = procedure.__name__.lstrip("_") + suffix
    wrapper.__name__ = name
    wrapper.__qualname__ = f"{procedure.__qualname__.rpartition('.')[0]}.{name}"
    signature = inspect.signature(procedure)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Procedure[") and returns.endswith("]"):
        returns = returns[len("Procedure[") : -1]
    wrapper.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]


def _sync_form(
    procedure: Callable[Concatenate[F, P], Procedure[R]],
) -> Callable[Concatenate[F, P], R]:
    """The blocking method that runs `procedure` in the calling thread."""

    @functools.wraps(procedure)
    def method(self: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return run_sync(procedure(self, *args, **kwargs))

    _public(procedure, method, "")
    return method


def _async_form(
    procedure: Callable[Concatenate[F, P], Procedure[R]],
) -> Callable[Concatenate[F, P], Coroutine[Any, Any, R]]:
    """The coroutine method that runs `procedure` without blocking the event loop."""

    @functools.wraps(procedure)
    async def method(self: F, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await run_async(procedure(self, *args, **kwargs))

    _public(procedure, method, "_async")
    return method


def _discard(procedure: Procedure[Any]) -> Procedure[None]:
    yield from procedure


def _workflow_id_of(workflow: str | WorkflowStatus) -> str:
    return workflow.workflow_id if isinstance(workflow, WorkflowStatus) else workflow


class Facade:
    """The management and messaging calls of both `DBOS` (on the class) and `DBOSClient` (on an
    instance): read statuses, list workflows and steps, cancel, resume, delete, collect
    garbage, send messages, read events and streams. Each has a sync and an ``_async`` form.

    A side provides the accessors (``_facade_*``); where behaviour differs it is theirs:
    `DBOS` raises `DBOSNotLaunchedError` before `DBOS.launch`, resumes a workflow in its own
    process and checkpoints `send` and `get_event` called inside a workflow; a `DBOSClient`
    hands a resumed workflow to an app process, and its handles poll the database.
    """

    #: The name error messages give the caller (``DBOS`` or ``DBOSClient``).
    _facade_label: ClassVar[str] = "Facade"

    # --- what each side provides ------------------------------------------------------------

    def _facade_management(self) -> Management:
        raise NotImplementedError

    def _facade_handle_source(self) -> HandleSource:
        raise NotImplementedError

    def _facade_messaging_host(self) -> MessagingHost:
        raise NotImplementedError

    def _facade_resume(self, workflow_ids: list[str]) -> Procedure[Sequence[ActiveWorkflow | None]]:
        """Resume each workflow; the execution of each in this process, if it runs here."""
        raise NotImplementedError

    def _facade_send(self, destination_id: str, message: Any, topic: str | None) -> Procedure[None]:
        raise NotImplementedError

    def _facade_get_event(self, workflow_id: str, key: str, timeout_s: float) -> Procedure[Any]:
        raise NotImplementedError

    def _facade_enqueued(self, queue_name: str) -> None:
        """Work was just queued on `queue_name` (`DBOS` wakes its queue worker at once)."""

    def _facade_update_attributes(
        self, workflow_id: str, text: str | None, merge: bool
    ) -> Procedure[None]:
        """Write checked attributes (`DBOS` records the write inside a workflow)."""
        return write_attributes(self._facade_management().storage, workflow_id, text, merge)

    # --- handles ----------------------------------------------------------------------------

    def retrieve_workflow(
        self, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandle[Any]:
        """A handle to a workflow by ID. Raises `DBOSNonExistentWorkflowError` if there is no
        such workflow, unless `existing_workflow` is False."""
        handle: WorkflowHandle[Any] = WorkflowHandle(self._facade_handle_source(), workflow_id)
        if existing_workflow:
            handle.get_status()
        return handle

    async def retrieve_workflow_async(
        self, workflow_id: str, existing_workflow: bool = True
    ) -> WorkflowHandleAsync[Any]:
        """`retrieve_workflow` for async code: the handle is a `WorkflowHandleAsync`, and the
        existence check (unless `existing_workflow` is False) does not block the event loop."""
        source = self._facade_handle_source()
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(source, workflow_id)
        if existing_workflow:
            await handle.get_status()
        return handle

    # --- reading ----------------------------------------------------------------------------

    def _get_workflow_status(self, workflow_id: str) -> Procedure[WorkflowStatus | None]:
        """The stored status of a workflow, or None if there is no such workflow."""
        return self._facade_management().get_status(workflow_id)

    get_workflow_status = _sync_form(_get_workflow_status)
    get_workflow_status_async = _async_form(_get_workflow_status)

    def _list_workflows(
        self,
        *,
        workflow_ids: list[str] | None = None,
        status: str | list[str] | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        name: str | list[str] | None = None,
        app_version: str | list[str] | None = None,
        executor_id: str | list[str] | None = None,
        queue_name: str | list[str] | None = None,
        workflow_id_prefix: str | list[str] | None = None,
        parent_workflow_id: str | list[str] | None = None,
        has_parent: bool | None = None,
        forked_from: str | list[str] | None = None,
        is_fork: bool | None = None,
        schedule_name: str | list[str] | None = None,
        completed_after: datetime | str | None = None,
        completed_before: datetime | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
        load_output: bool = True,
        stranded: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> Procedure[list[WorkflowStatus]]:
        """Workflows matching every given filter, oldest first (newest with `sort_desc`).

        The filters are those of DBOS Transact 3.4 (a string filter may be a list: any of
        its values), and ours: `stranded=True` keeps only PENDING and ENQUEUED workflows whose
        application version no live process serves (see `count_stranded_workflows`). See
        `dbos.management.build_query` for what each accepts. Raises `DBOSException` for a
        filter it refuses.
        """
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
            parent_workflow_id=parent_workflow_id,
            has_parent=has_parent,
            forked_from=forked_from,
            is_fork=is_fork,
            schedule_name=schedule_name,
            completed_after=completed_after,
            completed_before=completed_before,
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
            load_output=load_output,
            stranded=stranded,
            attributes=attributes,
        )
        return self._facade_management().list_workflows(query)

    list_workflows = _sync_form(_list_workflows)
    list_workflows_async = _async_form(_list_workflows)

    def _list_queued_workflows(
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
    ) -> Procedure[list[WorkflowStatus]]:
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
        return self._facade_management().list_workflows(query)

    list_queued_workflows = _sync_form(_list_queued_workflows)
    list_queued_workflows_async = _async_form(_list_queued_workflows)

    def _list_workflow_steps(
        self,
        workflow: str | WorkflowStatus,
        *,
        load_output: bool = True,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Procedure[list[StepInfo]]:
        """The recorded steps of a workflow (given by ID or status), in step-ID order: step IDs
        count from 0 in the order the workflow ran them. Each has its function name, output,
        error (the exception), start and end times and child workflow ID.

        Args:
            workflow: The workflow's ID or status.
            load_output: False leaves each step's `output` and `error` None, undecoded (as
                in DBOS Transact 3.4).
            limit: At most this many steps (a non-negative int), from `offset` on.
            offset: Skip this many steps first (a non-negative int).

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSException: a negative or non-int `limit` / `offset`.
        """
        return self._facade_management().list_steps(
            _workflow_id_of(workflow), load_output=load_output, limit=limit, offset=offset
        )

    list_workflow_steps = _sync_form(_list_workflow_steps)
    list_workflow_steps_async = _async_form(_list_workflow_steps)

    # --- changing ---------------------------------------------------------------------------

    def _cancel_workflow(self, workflow_id: str) -> Procedure[None]:
        """Cancel a workflow that is queued or running. A queued one never starts; a running
        one stops at its next step boundary (status CANCELLED; waiters get
        `DBOSWorkflowCancelledError`). A finished workflow is left as it is. Raises
        `DBOSNonExistentWorkflowError` for an unknown ID."""
        return self._facade_management().cancel([workflow_id])

    cancel_workflow = _sync_form(_cancel_workflow)
    cancel_workflow_async = _async_form(_cancel_workflow)

    def _cancel_workflows(self, workflow_ids: list[str]) -> Procedure[None]:
        """`cancel_workflow` for many workflows at once (finished ones are left as they are).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are
                cancelled.
        """
        return self._facade_management().cancel(workflow_ids)

    cancel_workflows = _sync_form(_cancel_workflows)
    cancel_workflows_async = _async_form(_cancel_workflows)

    def _update_workflow_attributes(
        self, workflow_id: str, attributes: dict[str, Any] | None, *, merge: bool = False
    ) -> Procedure[None]:
        """Replace a workflow's custom attributes with `attributes` (None clears them), or with
        ``merge=True`` write the given top-level keys over the stored ones, keeping the
        others (a nested dict is replaced whole; a None value is stored as JSON null). A
        merge is atomic: concurrent merges of different keys all land. DBOS semantics.

        Called in a workflow body (`DBOS` only), the update is recorded as an operation of
        that workflow, so a recovery does not repeat it.

        Raises:
            DBOSException: attributes that are not a dict of JSON values, or ``merge=True``
                with None.
            DBOSNonExistentWorkflowError: there is no such workflow (DBOS Transact changes
                nothing and says nothing).
        """
        text = check_update(workflow_id, attributes, merge)
        return self._facade_update_attributes(workflow_id, text, merge)

    update_workflow_attributes = _sync_form(_update_workflow_attributes)
    update_workflow_attributes_async = _async_form(_update_workflow_attributes)

    def resume_workflow(self, workflow_id: str) -> WorkflowHandle[Any]:
        """Continue a cancelled or failed workflow from its last completed step; other statuses
        are left alone. Returns its handle.

        `DBOS` runs it in this process (an enqueued one starts now, bypassing its queue); a
        `DBOSClient` hands it to an app process that has its code and application version.
        Raises `DBOSNonExistentWorkflowError` for an unknown ID.
        """
        return self.resume_workflows([workflow_id])[0]

    async def resume_workflow_async(self, workflow_id: str) -> WorkflowHandleAsync[Any]:
        """`resume_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        return (await self.resume_workflows_async([workflow_id]))[0]

    def resume_workflows(self, workflow_ids: list[str]) -> list[WorkflowHandle[Any]]:
        """`resume_workflow` for each of several workflows. Returns a handle for every ID
        given, in order, resumed or not.

        Raises:
            DBOSNonExistentWorkflowError: for an unknown ID (`DBOS` has resumed the IDs before
                it, a `DBOSClient` all the others).
        """
        actives = run_sync(self._facade_resume(workflow_ids))
        source = self._facade_handle_source()
        return [
            WorkflowHandle(source, id_, active)
            for id_, active in zip(workflow_ids, actives, strict=True)
        ]

    async def resume_workflows_async(
        self, workflow_ids: list[str]
    ) -> list[WorkflowHandleAsync[Any]]:
        """`resume_workflows` for async code; the handles are `WorkflowHandleAsync`."""
        actives = await run_async(self._facade_resume(workflow_ids))
        source = self._facade_handle_source()
        return [
            WorkflowHandleAsync(source, id_, active)
            for id_, active in zip(workflow_ids, actives, strict=True)
        ]

    # --- moving workflows in time (DBOS Transact 3.4) -----------------------------------------

    def rewind_workflow(
        self,
        workflow_id: str,
        *,
        start_step: int | None = None,
        application_version: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
    ) -> WorkflowHandle[Any]:
        """Run a finished workflow again, in place, from step `start_step` (DBOS Transact
        3.4's rewind; unlike `fork_workflow`, no new workflow: the same ID, so its callers,
        senders and readers keep addressing it).

        Only a workflow in a terminal state (SUCCESS, ERROR, CANCELLED,
        MAX_RECOVERY_ATTEMPTS_EXCEEDED) is rewound; the check and every change are one
        transaction holding the workflow's row, so no execution of it overlaps the rewind.
        Then, in that transaction: its recorded steps from `start_step` on are deleted
        (the steps before it replay, the others run again); events set from there get back
        the value they had before (or none); stream entries stay but a close from there is
        undone, so the new run writes on; every message still waiting for it is deleted, and
        a message a deleted `recv` consumed goes with it; the workflow is ENQUEUED again
        with its output, error, deadline and deduplication ID cleared. Returns its handle.

        Args:
            workflow_id: The workflow's ID.
            start_step: The first step to run again: a step ID as `list_workflow_steps`
                shows it, counted from 0 (DBOS Transact counts from 1); None: 0, the whole
                workflow. Past the last step: every step replays.
            application_version: Run it on processes of this version (None: its own).
            queue_name: The queue it waits on (None: the internal queue, as in DBOS).
            queue_partition_key: Its partition key on a partitioned `queue_name`.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSException: the workflow is ENQUEUED or PENDING (cancel it first), or
                `start_step` is not an int >= 0.
        """
        queue = run_sync(
            self._rewind(
                workflow_id, start_step, application_version, queue_name, queue_partition_key
            )
        )
        self._facade_enqueued(queue)
        return WorkflowHandle(self._facade_handle_source(), workflow_id)

    async def rewind_workflow_async(
        self,
        workflow_id: str,
        *,
        start_step: int | None = None,
        application_version: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
    ) -> WorkflowHandleAsync[Any]:
        """`rewind_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        queue = await run_async(
            self._rewind(
                workflow_id, start_step, application_version, queue_name, queue_partition_key
            )
        )
        self._facade_enqueued(queue)
        return WorkflowHandleAsync(self._facade_handle_source(), workflow_id)

    def _rewind(
        self,
        workflow_id: str,
        start_step: int | None,
        application_version: str | None,
        queue_name: str | None,
        queue_partition_key: str | None,
    ) -> Procedure[str]:
        return rewind(
            self._facade_management().storage,
            workflow_id,
            start_step,
            application_version=application_version,
            queue_name=queue_name,
            queue_partition_key=queue_partition_key,
        )

    def _set_workflow_delay(
        self,
        workflow_id: str,
        *,
        delay_seconds: float | None = None,
        delay_until_epoch_ms: int | None = None,
    ) -> Procedure[bool]:
        """Change when a delayed workflow may start: `delay_seconds` from now, or at
        `delay_until_epoch_ms` (epoch milliseconds); give exactly one. A time in the past lets
        it start at once.

        As in DBOS Transact 3.4, only a delayed workflow changes: one enqueued with a delay
        (``SetEnqueueOptions(delay_seconds=...)``, a `DBOSClient` enqueue's ``delay_seconds``)
        whose delay has not passed yet. Any other workflow, or an unknown ID, is left as it
        is. Returns whether the workflow was delayed and so changed (ours: DBOS Transact
        returns None).

        Raises:
            DBOSException: both or neither of `delay_seconds` and `delay_until_epoch_ms`,
                or a negative or non-number value.
        """
        return set_delay(
            self._facade_management().storage, workflow_id, delay_seconds, delay_until_epoch_ms
        )

    set_workflow_delay = _sync_form(_set_workflow_delay)
    set_workflow_delay_async = _async_form(_set_workflow_delay)

    def _delete_workflow(
        self, workflow_id: str, *, delete_children: bool = False
    ) -> Procedure[None]:
        """Delete a workflow and everything recorded for it (with `delete_children`, its
        child workflows too, recursively). Raises `DBOSNonExistentWorkflowError` for an unknown
        ID."""
        return _discard(
            self._facade_management().delete([workflow_id], delete_children=delete_children)
        )

    delete_workflow = _sync_form(_delete_workflow)
    delete_workflow_async = _async_form(_delete_workflow)

    def _delete_workflows(
        self, workflow_ids: list[str], *, delete_children: bool = False
    ) -> Procedure[None]:
        """`delete_workflow` for many workflows at once (one transaction).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are deleted.
        """
        return _discard(
            self._facade_management().delete(workflow_ids, delete_children=delete_children)
        )

    delete_workflows = _sync_form(_delete_workflows)
    delete_workflows_async = _async_form(_delete_workflows)

    def _garbage_collect(self, before: datetime | str | int) -> Procedure[int]:
        """Retention: delete finished workflows created before `before` (a datetime, ISO 8601
        string or epoch ms) with their steps; queued and running ones are kept. Returns how
        many were deleted."""
        return self._facade_management().garbage_collect(before)

    garbage_collect = _sync_form(_garbage_collect)
    garbage_collect_async = _async_form(_garbage_collect)

    # --- stranded work (ours) ---------------------------------------------------------------

    def _count_stranded_workflows(self) -> Procedure[list[StrandedCount]]:
        """Stranded workflows by application version: PENDING and ENQUEUED workflows of a
        version that no process with an unexpired lease serves (after a rolling deploy
        stopped its last process), so that nothing will run them until they are moved
        (`move_workflows_to_version`). One `StrandedCount` per version, ordered by version
        (None first: version-less queued workflows, which only processes of the latest
        version take); empty when nothing is stranded. Ours, not DBOS Transact's."""
        return count_stranded(self._facade_management().storage)

    count_stranded_workflows = _sync_form(_count_stranded_workflows)
    count_stranded_workflows_async = _async_form(_count_stranded_workflows)

    def _move_workflows_to_version(
        self, workflow_ids: list[str], application_version: str
    ) -> Procedure[list[str]]:
        """Hand workflows to the processes of `application_version`, which must be served by a
        live process; returns the IDs moved (unknown IDs and IDs that could not be moved are
        left out).

        An ENQUEUED workflow stays in its queue and only changes version. A PENDING workflow
        whose process is gone (its lease expired) is queued on the internal queue, and the
        process that claims it continues it from its last recorded step, as after a
        recovery. Any other workflow is left as it is: one that a live process runs, or that
        finished, is never moved, so no workflow runs twice. Use it for stranded workflows
        (`list_workflows(stranded=True)`), whose code the new version still has (a changed
        step order is what `DBOS.patch` is for). Ours, not DBOS Transact's (whose way to
        move work is `fork_workflow(..., application_version=...)`, a new workflow).

        Raises:
            DBOSException: `application_version` is not a non-empty string, or no live
                process serves it; `workflow_ids` is not a list of workflow IDs.
        """
        return move_to_version(self._facade_management().storage, workflow_ids, application_version)

    move_workflows_to_version = _sync_form(_move_workflows_to_version)
    move_workflows_to_version_async = _async_form(_move_workflows_to_version)

    # --- application versions (DBOS Transact 3.4) ------------------------------------------

    def _list_application_versions(self) -> Procedure[list[VersionInfo]]:
        """Every application version registered in the system database (each app process
        registers its own when it launches), the latest first."""
        return list_versions(self._facade_management().storage)

    list_application_versions = _sync_form(_list_application_versions)
    list_application_versions_async = _async_form(_list_application_versions)

    def _get_latest_application_version(self) -> Procedure[VersionInfo]:
        """The latest application version: the last registered, unless another was promoted
        with `set_latest_application_version` since. Raises `DBOSException` if none is
        registered."""
        return latest_version(self._facade_management().storage)

    get_latest_application_version = _sync_form(_get_latest_application_version)
    get_latest_application_version_async = _async_form(_get_latest_application_version)

    def _set_latest_application_version(self, version_name: str) -> Procedure[None]:
        """Make registered version `version_name` the latest (its timestamp becomes now, or
        just past the greatest stored one), e.g. to roll back to it. Raises `DBOSException` if
        no version of that name is registered (DBOS Transact silently changes nothing)."""
        return set_latest_version(self._facade_management().storage, version_name)

    set_latest_application_version = _sync_form(_set_latest_application_version)
    set_latest_application_version_async = _async_form(_set_latest_application_version)

    # --- messages, events, streams ---------------------------------------------------------

    def _send(self, destination_id: str, message: Any, topic: str | None = None) -> Procedure[None]:
        """Send `message` to the workflow `destination_id`, under `topic` (optional).

        Outside a workflow it is one write. From a workflow (`DBOS` only) the send is
        checkpointed with the message in one transaction, so it happens exactly once however
        often the sender recovers. Raises `DBOSNonExistentWorkflowError` if there is no such
        workflow.
        """
        return self._facade_send(destination_id, message, topic)

    send = _sync_form(_send)
    send_async = _async_form(_send)

    def _get_event(self, workflow_id: str, key: str, timeout_seconds: float = 60) -> Procedure[Any]:
        """The value workflow `workflow_id` set under `key`, waiting up to `timeout_seconds`
        for it to be set (None if it was not). Holds no connection while waiting; inside a
        workflow (`DBOS` only) the value read is checkpointed."""
        timeout = check_timeout(f"{self._facade_label}.get_event", timeout_seconds)
        return self._facade_get_event(workflow_id, key, timeout)

    get_event = _sync_form(_get_event)
    get_event_async = _async_form(_get_event)

    def read_stream(self, workflow_id: str, key: str) -> Generator[Any, None, None]:
        """Yield the values of workflow `workflow_id`'s stream `key` as they are written, until
        the stream is closed or the workflow ends."""
        host = self._facade_messaging_host()
        offset, done = 0, False
        while not done:
            values, offset, done = run_sync(stream_batch_procedure(host, workflow_id, key, offset))
            yield from values

    async def read_stream_async(self, workflow_id: str, key: str) -> AsyncGenerator[Any, None]:
        """`read_stream` for async code: an async generator (``async for value in ...``).
        Raises `DBOSNonExistentWorkflowError` if there is no workflow `workflow_id`."""
        host = self._facade_messaging_host()
        offset, done = 0, False
        while not done:
            batch = stream_batch_procedure(host, workflow_id, key, offset)
            values, offset, done = await run_async(batch)
            for value in values:
                yield value


#: The public methods `Facade` gives both sides (the names a drift test and `dir(DBOS)` use).
FACADE_METHODS = tuple(
    name for name, member in vars(Facade).items() if callable(member) and not name.startswith("_")
)
