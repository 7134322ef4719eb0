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

from collections.abc import AsyncGenerator, Generator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.portable import WorkflowSerializationFormat, serialization_for
from .._engine.attributes import check_update, write_attributes
from .._engine.effects import Procedure, run_async, run_sync
from .._engine.fork_fanout import check_send_to_forks
from .._engine.messaging import MessagingHost, check_timeout
from .._engine.recorded_management import (
    LIST_QUEUED_NAME,
    LIST_WORKFLOWS_NAME,
)
from .._engine.sending import SendMessage
from .._engine.stream_reads import (
    READ_STREAM_NAME,
    StreamCursor,
    next_stream_value,
    read_stream_offset_procedure,
)
from .._engine.wait_first import DEFAULT_POLLING_INTERVAL_S, check_wait_first, wait_first_procedure
from ._facade_changes import ChangesFacade
from ._facade_queues import QueuesFacade
from ._facade_schedules import SchedulesFacade
from ._facade_timeops import TimeOpsFacade
from ._fork import check_no_shard_key
from ._forms import async_form as _async_form
from ._forms import sync_form as _sync_form
from ._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from ._listing import build_query, build_queued_query
from ._recorded import recorded_listing, recorded_status, recorded_steps
from ._status import WorkflowStatus
from ._stranded import StrandedCount, count_stranded, move_to_version
from ._versions import VersionInfo, latest_version, list_versions, set_latest_version

if TYPE_CHECKING:
    from .._engine.execution import ActiveWorkflow
    from .._engine.operations import Recorder
    from ._management import Management, StepInfo

P = ParamSpec("P")
R = TypeVar("R")


H = TypeVar("H")


def _pick(by_id: dict[str, H], chosen: str) -> H:
    if chosen not in by_id:
        raise DBOSException(
            f"wait_first: the recorded choice {chosen!r} is not among the handles given; "
            "a workflow must wait on the same workflows when it is recovered"
        )
    return by_id[chosen]


def _workflow_id_of(workflow: str | WorkflowStatus) -> str:
    return workflow.workflow_id if isinstance(workflow, WorkflowStatus) else workflow


class Facade(ChangesFacade, TimeOpsFacade, QueuesFacade, SchedulesFacade):
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

    def _facade_refuse_blocking(self, call: str) -> None:
        """Called before each call that waits (`get_event`, `wait_first`, `read_stream`):
        `DBOS` raises `RuntimeError` in a coroutine (DBOS Transact 3.4 semantics, narrowed:
        see `blocking_calls`); a client allows it."""

    def _facade_recorder(self) -> Recorder | None:
        """What records reads made in a workflow body (`DBOS`'s; a client records none)."""
        return None

    def _facade_resume(self, workflow_ids: list[str]) -> Procedure[Sequence[ActiveWorkflow | None]]:
        """Resume each workflow; the execution of each in this process, if it runs here."""
        raise NotImplementedError

    def _facade_send(
        self,
        destination_id: str,
        message: Any,
        topic: str | None,
        serialization: str | None,
        idempotency_key: str | None,
        to_forks: bool,
    ) -> Procedure[None]:
        raise NotImplementedError

    def _facade_send_bulk(
        self, messages: list[SendMessage], serialization: str | None, to_forks: bool
    ) -> Procedure[None]:
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
        self, workflow_id: str, existing_workflow: bool = True, *, shard_key: str | None = None
    ) -> WorkflowHandle[Any]:
        """A handle to a workflow by ID. Raises `DBOSNonExistentWorkflowError` if there is no
        such workflow, unless `existing_workflow` is False. The existence check is a
        `get_workflow_status` (recorded as ``DBOS.getStatus`` in a workflow body).
        `shard_key`: DBOS Transact 3.4's sharding, accepted only as None (`DBOSException`)."""
        check_no_shard_key(shard_key, "retrieve_workflow")
        handle: WorkflowHandle[Any] = WorkflowHandle(self._facade_handle_source(), workflow_id)
        if existing_workflow:
            run_sync(self._existing(workflow_id))
        return handle

    async def retrieve_workflow_async(
        self, workflow_id: str, existing_workflow: bool = True, *, shard_key: str | None = None
    ) -> WorkflowHandleAsync[Any]:
        """`retrieve_workflow` for async code: the handle is a `WorkflowHandleAsync`, and the
        existence check (unless `existing_workflow` is False) does not block the event loop."""
        check_no_shard_key(shard_key, "retrieve_workflow")
        source = self._facade_handle_source()
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(source, workflow_id)
        if existing_workflow:
            await run_async(self._existing(workflow_id))
        return handle

    def _existing(self, workflow_id: str) -> Procedure[None]:
        # Read as `get_workflow_status` reads it (recorded in a workflow body, as DBOS
        # Transact 3.4's retrieve_workflow records ``DBOS.getStatus``).
        status = yield from self._get_workflow_status(workflow_id)
        if status is None:
            raise DBOSNonExistentWorkflowError(workflow_id)

    # --- waiting on many (DBOS Transact 3.4) --------------------------------------------

    def _wait_first_id(self, workflow_ids: list[str], interval_s: object) -> Procedure[str]:
        interval = check_wait_first(workflow_ids, interval_s)
        return wait_first_procedure(self._facade_messaging_host(), workflow_ids, interval)

    def wait_first(
        self,
        handles: list[WorkflowHandle[Any]],
        *,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> WorkflowHandle[Any]:
        """Wait until one of the workflows of `handles` has finished (SUCCESS, ERROR, CANCELLED
        or MAX_RECOVERY_ATTEMPTS_EXCEEDED) and return its handle (DBOS semantics); its result
        is then ready (``handle.get_result()``). Of several already finished, one of them.

        In a workflow body (`DBOS` only) the choice is a recorded operation, so a recovered
        workflow gets the same handle back, even if another workflow finished first since;
        a cancel of the waiting workflow ends the wait at once (ours). Waits hold no
        connection: a finish in this process wakes the wait, and storage is re-read at least
        every `polling_interval_sec` seconds (a finish in another process).

        Raises:
            ValueError: `handles` is empty or names a workflow twice (as DBOS Transact does).
            DBOSException: `polling_interval_sec` is not a finite number > 0; or a replay
                recorded a workflow that is not among `handles` (the workflow is not
                deterministic).
            DBOSWorkflowCancelledError: the waiting workflow was cancelled.
        """
        self._facade_refuse_blocking("wait_first")
        by_id = {handle.workflow_id: handle for handle in handles}
        ids = [handle.workflow_id for handle in handles]
        return _pick(by_id, run_sync(self._wait_first_id(ids, polling_interval_sec)))

    async def wait_first_async(
        self,
        handles: list[WorkflowHandleAsync[Any]],
        *,
        polling_interval_sec: float = DEFAULT_POLLING_INTERVAL_S,
    ) -> WorkflowHandleAsync[Any]:
        """`wait_first` for async code, over `WorkflowHandleAsync` handles (waits without
        blocking the event loop)."""
        by_id = {handle.workflow_id: handle for handle in handles}
        ids = [handle.workflow_id for handle in handles]
        return _pick(by_id, await run_async(self._wait_first_id(ids, polling_interval_sec)))

    # --- reading ----------------------------------------------------------------------------

    def _get_workflow_status(
        self, workflow_id: str, *, shard_key: str | None = None
    ) -> Procedure[WorkflowStatus | None]:
        """The stored status of a workflow, or None if there is no such workflow.
        `shard_key`: DBOS Transact 3.4's sharding, accepted only as None (`DBOSException`).

        Called from a workflow body (`DBOS` only), this and the other calls of this class
        that read or change workflows (listings, step listings, cancel, resume, delete,
        rewind, set_workflow_delay; and `DBOS.fork_workflow`) are recorded operations of
        the workflow, under DBOS Transact 3.4's step names (``DBOS.getStatus``,
        ``DBOS.listWorkflows``, ...): a recovered, forked or rewound execution gets the
        recorded result back, or the recorded error raised again, and does not make the call
        again. See docs/guides/management.md for what a replay returns."""
        check_no_shard_key(shard_key, "get_workflow_status")
        return recorded_status(self._facade_management(), self._facade_recorder(), workflow_id)

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
        user: str | list[str] | None = None,
        completed_after: datetime | str | None = None,
        completed_before: datetime | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
        load_output: bool = True,
        stranded: bool = False,
        attributes: dict[str, Any] | None = None,
        dequeued_after: datetime | str | None = None,
        dequeued_before: datetime | str | None = None,
        was_forked_from: bool | None = None,
        application_name: str | list[str] | None = None,
        queues_only: bool = False,
        shard_key: str | list[str] | None = None,
        parent_shard_key: str | list[str] | None = None,
    ) -> Procedure[list[WorkflowStatus]]:
        """Workflows matching every given filter, oldest first (newest with `sort_desc`).

        The filters are those of DBOS Transact 3.4 (a string filter may be a list: any of
        its values; `queues_only=True`: only workflows enqueued on a queue), and ours:
        `stranded=True` keeps only PENDING and ENQUEUED workflows whose application version
        no live process serves (see `count_stranded_workflows`). See
        `dbos.management.build_query` for what each accepts. `shard_key` and
        `parent_shard_key` (DBOS Transact 3.4's sharding) are accepted only as None. Raises
        `DBOSException` for a filter it refuses.
        """
        check_no_shard_key(shard_key, "list_workflows")
        check_no_shard_key(parent_shard_key, "list_workflows", "parent_shard_key")
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
            user=user,
            completed_after=completed_after,
            completed_before=completed_before,
            limit=limit,
            offset=offset,
            sort_desc=sort_desc,
            load_input=load_input,
            load_output=load_output,
            stranded=stranded,
            attributes=attributes,
            dequeued_after=dequeued_after,
            dequeued_before=dequeued_before,
            was_forked_from=was_forked_from,
            application_name=application_name,
            queues_only=queues_only,
        )
        return recorded_listing(
            self._facade_management(), self._facade_recorder(), LIST_WORKFLOWS_NAME, query
        )

    list_workflows = _sync_form(_list_workflows)
    list_workflows_async = _async_form(_list_workflows)

    def _list_queued_workflows(
        self,
        *,
        queue_name: str | list[str] | None = None,
        status: str | list[str] | None = None,
        name: str | list[str] | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        sort_desc: bool = False,
        load_input: bool = True,
        dequeued_after: datetime | str | None = None,
        dequeued_before: datetime | str | None = None,
        application_name: str | list[str] | None = None,
        workflow_ids: list[str] | None = None,
        completed_after: datetime | str | None = None,
        completed_before: datetime | str | None = None,
        app_version: str | list[str] | None = None,
        forked_from: str | list[str] | None = None,
        parent_workflow_id: str | list[str] | None = None,
        user: str | list[str] | None = None,
        workflow_id_prefix: str | list[str] | None = None,
        load_output: bool = True,
        executor_id: str | list[str] | None = None,
        is_fork: bool | None = None,
        has_parent: bool | None = None,
        attributes: dict[str, Any] | None = None,
        shard_key: str | list[str] | None = None,
        parent_shard_key: str | list[str] | None = None,
    ) -> Procedure[list[WorkflowStatus]]:
        """Tasks of queues (all, or `queue_name`): workflows enqueued on one, ENQUEUED or
        PENDING unless `status` says otherwise. The other filters are `list_workflows`'
        (DBOS semantics; `shard_key` and `parent_shard_key` only None)."""
        check_no_shard_key(shard_key, "list_queued_workflows")
        check_no_shard_key(parent_shard_key, "list_queued_workflows", "parent_shard_key")
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
            dequeued_after=dequeued_after,
            dequeued_before=dequeued_before,
            application_name=application_name,
            workflow_ids=workflow_ids,
            completed_after=completed_after,
            completed_before=completed_before,
            app_version=app_version,
            forked_from=forked_from,
            parent_workflow_id=parent_workflow_id,
            user=user,
            workflow_id_prefix=workflow_id_prefix,
            load_output=load_output,
            executor_id=executor_id,
            is_fork=is_fork,
            has_parent=has_parent,
            attributes=attributes,
        )
        return recorded_listing(
            self._facade_management(), self._facade_recorder(), LIST_QUEUED_NAME, query
        )

    list_queued_workflows = _sync_form(_list_queued_workflows)
    list_queued_workflows_async = _async_form(_list_queued_workflows)

    def _list_workflow_steps(
        self,
        workflow_id: str | WorkflowStatus,
        *,
        load_output: bool = True,
        limit: int | None = None,
        offset: int | None = None,
        shard_key: str | None = None,
    ) -> Procedure[list[StepInfo]]:
        """The recorded steps of a workflow (given by ID or status), in step-ID order: step IDs
        count from 1 in the order the workflow ran them, as in DBOS Transact 3.4 (from 0 for a
        workflow started before the upgrade that introduced this numbering). Each has its
        function name, output, error (the exception), start and end times and child workflow
        ID.

        Args:
            workflow_id: The workflow's ID (DBOS Transact 3.4's name), or its status (ours).
            load_output: False leaves each step's `output` and `error` None, undecoded (as
                in DBOS Transact 3.4).
            limit: At most this many steps (a non-negative int), from `offset` on.
            offset: Skip this many steps first (a non-negative int).
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSException: a negative or non-int `limit` / `offset`, or a `shard_key`.
        """
        check_no_shard_key(shard_key, "list_workflow_steps")
        management, recorder = self._facade_management(), self._facade_recorder()
        target = _workflow_id_of(workflow_id)
        return recorded_steps(management, recorder, target, load_output, limit, offset)

    list_workflow_steps = _sync_form(_list_workflow_steps)
    list_workflow_steps_async = _async_form(_list_workflow_steps)

    # --- changing ---------------------------------------------------------------------------

    def _update_workflow_attributes(
        self,
        workflow_id: str,
        attributes: dict[str, Any] | None,
        *,
        merge: bool = False,
        shard_key: str | None = None,
    ) -> Procedure[None]:
        """Replace a workflow's custom attributes with `attributes` (None clears them), or with
        ``merge=True`` write the given top-level keys over the stored ones, keeping the
        others (a nested dict is replaced whole; a None value is stored as JSON null). A
        merge is atomic: concurrent merges of different keys all land. DBOS semantics.

        Called in a workflow body (`DBOS` only), the update is recorded as an operation of
        that workflow, so a recovery does not repeat it.

        Raises:
            DBOSException: attributes that are not a dict of JSON values, ``merge=True``
                with None, or a `shard_key` (DBOS Transact 3.4's sharding: only None).
            DBOSNonExistentWorkflowError: there is no such workflow (DBOS Transact changes
                nothing and says nothing).
        """
        check_no_shard_key(shard_key, "update_workflow_attributes")
        text = check_update(workflow_id, attributes, merge)
        return self._facade_update_attributes(workflow_id, text, merge)

    update_workflow_attributes = _sync_form(_update_workflow_attributes)
    update_workflow_attributes_async = _async_form(_update_workflow_attributes)

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

    def _set_latest_application_version(
        self, version_name: str, *, application_name: str | None = None
    ) -> Procedure[None]:
        """Make registered version `version_name` the latest (its timestamp becomes now, or
        just past the greatest stored one), e.g. to roll back to it. With
        `application_name` (DBOS Transact 3.4), only a version that application registered
        (or one registered with no name) may be promoted. Ours: None (the default) promotes
        the version whoever registered it (3.4 acts as the caller's application).

        Raises:
            DBOSException: no version of that name is registered (DBOS Transact silently
                changes nothing); it was registered by another application than
                `application_name`; an empty name.
        """
        storage = self._facade_management().storage
        return set_latest_version(storage, version_name, application_name)

    set_latest_application_version = _sync_form(_set_latest_application_version)
    set_latest_application_version_async = _async_form(_set_latest_application_version)

    # --- messages, events, streams ---------------------------------------------------------

    def _send(
        self,
        destination_id: str,
        message: Any,
        topic: str | None = None,
        # Positional too: DBOSClient.send takes it fourth in DBOS Transact 3.4.
        idempotency_key: str | None = None,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
        send_to_forks: bool = False,
        shard_key: str | None = None,
    ) -> Procedure[None]:
        """Send `message` to the workflow `destination_id`, under `topic` (optional).

        Outside a workflow it is one write. From a workflow (`DBOS` only) the send is
        checkpointed with the message in one transaction, so it happens exactly once however
        often the sender recovers. `serialization_type` PORTABLE writes it as portable JSON
        (DBOS 3.4); the default is the sending workflow's format, or the configured one.

        With `idempotency_key` (DBOS Transact 3.4), a send repeated with the same key for the
        same destination delivers nothing more: from any process, a `DBOSClient` or a retry
        after a crash, and also after the first copy was received (the key is remembered
        until the destination workflow is deleted).

        With ``send_to_forks=True`` (DBOS Transact 3.4) a copy also goes to every workflow
        forked from `destination_id`, recursively (forks of forks), that exists when the
        message is sent; each copy is delivered as the original is (same topic and key). In
        a workflow the forks are found when the send first runs; a replay sends nothing.

        Raises:
            DBOSNonExistentWorkflowError: there is no such workflow.
            DBOSSerializationError: the message cannot be stored in that format, or
                `serialization_type` is not a `WorkflowSerializationFormat`.
            DBOSException: an `idempotency_key` that is not a non-empty string, a
                `send_to_forks` that is not a bool, or a `shard_key` (DBOS Transact 3.4's
                sharding: only None is accepted, there is no sharding).
        """
        check_no_shard_key(shard_key, f"{self._facade_label}.send")
        to_forks = check_send_to_forks(send_to_forks, f"{self._facade_label}.send")
        serialization = serialization_for(serialization_type)
        return self._facade_send(
            destination_id, message, topic, serialization, idempotency_key, to_forks
        )

    send = _sync_form(_send)
    send_async = _async_form(_send)

    def _send_bulk(
        self,
        messages: list[SendMessage],
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
        send_to_forks: bool = False,
    ) -> Procedure[None]:
        """Send several messages (`SendMessage`: destination, message, topic, idempotency key)
        in one transaction and one round trip (DBOS Transact 3.4). Each is delivered as `send`
        delivers it (a message whose idempotency key its destination has seen is skipped);
        from a workflow (`DBOS` only) the whole send is one recorded operation
        (``DBOS.send_bulk``), done exactly once. An empty list sends nothing.
        `serialization_type` and `send_to_forks` mean what they mean for `send`, for every
        message (with forks: the forks are read first, then all copies written at once).

        Raises:
            DBOSNonExistentWorkflowError: a destination does not exist (nothing is sent).
            DBOSSerializationError: a message cannot be stored in that format.
            DBOSException: not a list of `SendMessage`; an idempotency key given twice in one
                call (as DBOS Transact refuses it); a bad destination, topic or key; a
                `SendMessage.shard_key` (only None); a `send_to_forks` that is not a bool.
        """
        to_forks = check_send_to_forks(send_to_forks, f"{self._facade_label}.send_bulk")
        serialization = serialization_for(serialization_type)
        return self._facade_send_bulk(messages, serialization, to_forks)

    send_bulk = _sync_form(_send_bulk)
    send_bulk_async = _async_form(_send_bulk)

    def _get_event(
        self,
        workflow_id: str,
        key: str,
        timeout_seconds: float = 60,
        *,
        shard_key: str | None = None,
    ) -> Procedure[Any]:
        """The value workflow `workflow_id` set under `key`, waiting up to `timeout_seconds`
        for it to be set (None if it was not). Holds no connection while waiting; inside a
        workflow (`DBOS` only) the value read is checkpointed. `shard_key` (DBOS Transact
        3.4's sharding) is accepted only as None (`DBOSException` otherwise)."""
        check_no_shard_key(shard_key, f"{self._facade_label}.get_event")
        timeout = check_timeout(f"{self._facade_label}.get_event", timeout_seconds)
        return self._facade_get_event(workflow_id, key, timeout)

    get_event = _sync_form(_get_event, waits=True)
    get_event_async = _async_form(_get_event)

    def read_stream(
        self,
        workflow_id: str,
        key: str,
        *,
        offset: int = 0,
        polling_interval_sec: float | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> Generator[Any, None, None]:
        """Yield the values of workflow `workflow_id`'s stream `key` from position `offset`
        (0: the start) as they are written, until the stream is closed or the workflow ends.

        Waits hold no connection: a write in this process (on Postgres, in any process) wakes
        the reader; storage is re-read at least every `polling_interval_sec` seconds
        (default: the config's ``notification_listener_polling_interval_sec``).
        `timeout_seconds` bounds the wait for each value (None: no bound). In a workflow body
        (`DBOS` only) each value delivered, the end of the stream and a timeout are recorded
        operations (``DBOS.readStream``), so a recovered workflow reads what it read before.
        DBOS semantics.

        Raises:
            DBOSNonExistentWorkflowError: there is no workflow `workflow_id`.
            DBOSStreamTimeoutError: no value came within `timeout_seconds`.
            ValueError: a negative `offset` or `timeout_seconds`, a `polling_interval_sec`
                under 0.001 (as DBOS Transact raises).
            DBOSException: a `shard_key` (DBOS Transact 3.4's sharding; only None).
        """
        check_no_shard_key(shard_key, f"{self._facade_label}.read_stream")
        self._facade_refuse_blocking("read_stream")
        host, recorder = self._facade_messaging_host(), self._facade_recorder()
        cursor = StreamCursor(workflow_id, key, offset, polling_interval_sec, timeout_seconds)
        while True:
            found, value = run_sync(next_stream_value(host, recorder, cursor, READ_STREAM_NAME))
            if not found:
                return
            yield value

    async def read_stream_async(
        self,
        workflow_id: str,
        key: str,
        *,
        offset: int = 0,
        polling_interval_sec: float | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        """`read_stream` for async code: an async generator (``async for value in ...``) that
        waits without blocking the event loop."""
        check_no_shard_key(shard_key, f"{self._facade_label}.read_stream_async")
        host, recorder = self._facade_messaging_host(), self._facade_recorder()
        cursor = StreamCursor(workflow_id, key, offset, polling_interval_sec, timeout_seconds)
        while True:
            step = next_stream_value(host, recorder, cursor, READ_STREAM_NAME)
            found, value = await run_async(step)
            if not found:
                return
            yield value

    def _read_stream_offset(
        self,
        workflow_id: str,
        key: str,
        offset: int,
        *,
        polling_interval_sec: float | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> Procedure[Any]:
        """The one value at position `offset` of workflow `workflow_id`'s stream `key`,
        waiting for it to be written (DBOS Transact 3.4). Waits as `read_stream` does; in a
        workflow body (`DBOS` only) the read is a recorded operation
        (``DBOS.readStreamOffset``).

        Raises:
            DBOSStreamTimeoutError: no value came within `timeout_seconds` (None: wait as
                long as it takes), or the stream ended before `offset` (its
                `timeout_seconds` attribute is then None).
            DBOSNonExistentWorkflowError: there is no workflow `workflow_id`.
            ValueError: as `read_stream`.
            DBOSException: a `shard_key` (only None).
        """
        check_no_shard_key(shard_key, f"{self._facade_label}.read_stream_offset")
        cursor = StreamCursor(workflow_id, key, offset, polling_interval_sec, timeout_seconds)
        host, recorder = self._facade_messaging_host(), self._facade_recorder()
        return read_stream_offset_procedure(host, recorder, cursor)

    read_stream_offset = _sync_form(_read_stream_offset)
    read_stream_offset_async = _async_form(_read_stream_offset)


#: The public methods `Facade` gives both sides (the names a drift test and `dir(DBOS)` use).
FACADE_METHODS = tuple(
    name
    for klass in (Facade, ChangesFacade, TimeOpsFacade, SchedulesFacade)
    for name, member in vars(klass).items()
    if callable(member) and not name.startswith("_")
)
