"""Managing stored workflows: one implementation behind `DBOS`'s management calls and
`DBOSClient` (and through it the `dbos` command line).

Every operation is a procedure (see `_effects`), so the sync and async forms of each call
share it. A `Management` needs only a storage and a codec, never the app's code: workflows
are found by ID and name, and what must run is left for a process that has the code (forks
and resumes from outside the app wait on the internal queue).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError, DBOSWorkflowConflictIDError
from .._base.ids import check_texts, check_workflow_id
from .._base.portable import WorkflowSerializationFormat, codec_for, serialization_for
from .._base.serialization import Codec
from .._engine.batch import check_calls, check_workflow_ids, create_batch
from .._engine.context import with_trace_carrier
from .._engine.effects import Blocking, Procedure
from .._engine.outcome import Outcome, now_ms, outcome_from_row
from .._engine.queues import INTERNAL_QUEUE_NAME
from .._engine.registry import DEFAULT_MAX_RECOVERY_ATTEMPTS
from .._engine.roles import check_roles_list, encode_roles
from .._engine.starting import (
    REJECT,
    DuplicationPolicy,
    WorkflowIDReusePolicy,
    check_duplication_policy,
    check_reuse_policy,
    create_workflow,
    encode_attributes,
)
from .._engine.step import SLEEP_NAME
from ..storage._protocol import SystemStorage
from ..storage._records import (
    NewWorkflow,
    StepRecord,
    WorkflowQuery,
    WorkflowRow,
    WorkflowStatusString,
)
from ._fork import fork_request
from ._listing import to_epoch_ms
from ._recorded_forms import StepRow
from ._resume_queue import resume_queue
from ._status import WorkflowStatus
from ._wait_times import RecordedTimes, wait_completions

if TYPE_CHECKING:
    from .._engine.operations import Recorder


class StepInfo(TypedDict):
    """One recorded step (or other operation) of a workflow, as `list_workflow_steps` returns
    it. `function_id` is the step ID: operations count from 1 in the order the workflow runs
    them, as in DBOS Transact 3.4 (from 0 in a workflow stored under this library's earlier
    numbering: see `WorkflowRow.first_function_id`). `error` is the exception the step
    raised, rebuilt where its class is importable, else a `DBOSRemoteError` carrying its type
    name, message and traceback text.

    An internal wait (``DBOS.sleep``, and the timeout of ``DBOS.recv`` / ``DBOS.get_event``,
    as in DBOS Transact) has its wake-up time, in epoch seconds, as `output`; its
    `completed_at_epoch_ms` is when the wait ended (the wake-up time, or earlier when the
    awaited message or event came first) and None while it is still waiting (ours: the
    checkpoint time would show every wait as taking no time). `child_shard_key` is DBOS
    Transact 3.4's shard of the child workflow: always None here (no sharding). Exported
    as `dbos.StepInfo`, 3.4's name."""

    function_id: int
    function_name: str
    output: Any
    error: BaseException | None
    child_workflow_id: str | None
    child_shard_key: str | None
    started_at_epoch_ms: int | None
    completed_at_epoch_ms: int | None


class _RequiredEnqueueOptions(TypedDict):
    workflow_name: str
    queue_name: str


class EnqueueOptions(_RequiredEnqueueOptions, total=False):
    """What `DBOSClient.enqueue` needs to know, as the app has no function object to give.

    Keys:
        workflow_name: The workflow's registered name (for a function decorated without
            ``name=``, its qualified name, e.g. ``"process_order"``).
        queue_name: The queue to wait on; an app process that declares it runs the task.
        workflow_id: The new workflow's ID (default: a random UUID). Idempotent.
        app_version: Only processes of this application version may run it.
        workflow_timeout: Seconds until the workflow is cancelled (waiting counts).
        deduplication_id: Refuse the task while the queue holds another with this ID.
        priority: Lower runs first, on a queue declared with ``priority_enabled=True``.
        queue_partition_key: The partition it waits in, on a queue declared with
            ``partition_queue=True`` (a non-empty string).
        delay_seconds: Do not start it before this many seconds have passed.
        class_name: For a workflow that is a method: the registered name of its class
            (``@DBOS.dbos_class(class_name=...)``, default the class's qualified name). With
            it alone, the worker calls a class method with that class first (a static
            method, without).
        instance_name: For an instance method: the ``config_name`` of the
            `DBOSConfiguredInstance` to run it on (needs `class_name`).
        workflow_id_reuse_policy: ``"return-existing"`` (default) or ``"reject"``: what an
            enqueue under a `workflow_id` that is already used does (see `SetWorkflowID`).
        duplication_policy: ``"reject"`` (default) or ``"return-existing"``: what an enqueue
            refused for its `deduplication_id` does (see `SetEnqueueOptions`).
        attributes: Custom attributes of the workflow, a dict of JSON values (see
            `SetWorkflowAttributes`).
        serialization_type: ``WorkflowSerializationFormat.PORTABLE`` stores the arguments
            (and later the outcome) as portable JSON, for a workflow any language's SDK can
            run and read (DBOS 3.4); the default is this library's own format.
        authenticated_user: The user the workflow runs as (see `DBOSContextSetAuth`).
        authenticated_roles: The roles granted to that user, a list of strings; a workflow
            requiring roles (``@DBOS.required_roles``) is checked against them when it runs,
            and refused (ERROR, `DBOSNotAuthorizedError`) if none matches. DBOS semantics.
    """

    workflow_id: str
    app_version: str
    workflow_timeout: float
    deduplication_id: str
    priority: int
    queue_partition_key: str
    delay_seconds: float
    class_name: str
    instance_name: str
    workflow_id_reuse_policy: WorkflowIDReusePolicy
    duplication_policy: DuplicationPolicy
    attributes: dict[str, Any]
    serialization_type: WorkflowSerializationFormat
    authenticated_user: str
    authenticated_roles: list[str]


def step_info(codec: Codec, step: StepRow) -> StepInfo:
    """The `StepInfo` of a listed step: its output and error decoded with `codec`."""
    return StepInfo(
        function_id=step.function_id,
        function_name=step.function_name,
        output=None if step.error is not None else codec.decode_value(step.output),
        error=None if step.error is None else codec.decode_error(step.error),
        child_workflow_id=step.child_workflow_id,
        child_shard_key=None,
        started_at_epoch_ms=step.started_at_ms,
        completed_at_epoch_ms=step.completed_at_ms,
    )


def _wait_times(codec: Codec, record: StepRecord) -> RecordedTimes:
    # Only an internal wait's output (its wake-up time) matters to the derivation: the
    # others are not decoded here (a listing without outputs decodes none of them).
    output = codec.decode_value(record.output) if record.function_name == SLEEP_NAME else None
    times = (record.started_at_ms, record.completed_at_ms)
    return RecordedTimes(record.function_id, record.function_name, output, *times)


@dataclass(frozen=True)
class ActionResult:
    """What a management action (cancel, resume, delete) did to one workflow (ours: DBOS's
    calls return nothing). The `dbos` command reports these, one per ID.

    Attributes:
        workflow_id: The workflow.
        outcome: One of ``cancelled``, ``already_cancelled``, ``already_finished`` (cancel);
            ``resumed``, ``already_queued_or_running``, ``not_resumable`` (resume: it
            SUCCEEDED); ``deleted``, ``deleted_child`` (delete); ``not_found`` (any).
        status: The workflow's status after the action; None once deleted or if not found.
        ok: Whether the workflow ended where the action aims (cancel: CANCELLED; resume:
            ENQUEUED or PENDING; delete: gone). False for an unknown ID.
    """

    workflow_id: str
    outcome: str
    status: str | None
    ok: bool


def _cancel_result(workflow_id: str, before: str | None, after: str | None) -> ActionResult:
    if after is None:
        return ActionResult(workflow_id, "not_found", None, False)
    if after != WorkflowStatusString.CANCELLED.value:
        return ActionResult(workflow_id, "already_finished", after, False)
    outcome = "already_cancelled" if before == after else "cancelled"
    return ActionResult(workflow_id, outcome, after, True)


def _resume_result(
    workflow_id: str, requeued: bool, before: str | None, after: str | None
) -> ActionResult:
    if after is None:
        return ActionResult(workflow_id, "not_found", None, False)
    if requeued:
        return ActionResult(workflow_id, "resumed", after, True)
    running = (WorkflowStatusString.ENQUEUED.value, WorkflowStatusString.PENDING.value)
    if (before or after) in running:
        return ActionResult(workflow_id, "already_queued_or_running", after, True)
    return ActionResult(workflow_id, "not_resumable", after, False)


def check_step_listing(workflow_id: str, limit: int | None, offset: int | None) -> None:
    """Raise `DBOSException` for an invalid workflow ID or a negative or non-int `limit` /
    `offset` of a step listing."""
    check_workflow_id(workflow_id)
    for field, number in (("limit", limit), ("offset", offset)):
        if number is not None and (type(number) is not int or number < 0):
            raise DBOSException(f"{field} must be a non-negative integer, got {number!r}")


def _ids(workflow_ids: Iterable[str]) -> tuple[str, ...]:
    ids = tuple(workflow_ids)
    for workflow_id in ids:
        check_workflow_id(workflow_id)
    return ids


def _first_missing(wanted: tuple[str, ...], found: Iterable[str]) -> None:
    present = set(found)
    for workflow_id in wanted:
        if workflow_id not in present:
            raise DBOSNonExistentWorkflowError(workflow_id)


class Management:
    """Workflow management on one system database (procedures; drive them with
    `run_sync`/`run_async`)."""

    def __init__(
        self, storage: SystemStorage, codec: Codec, application_name: str | None = None
    ) -> None:
        self.storage = storage
        self.codec = codec
        #: Stored as the `application_name` of the workflows it enqueues (DBOS semantics: the
        #: app's configured name, or the one a `DBOSClient` was given).
        self.application_name = application_name

    # --- reading ----------------------------------------------------------------------------

    def get_status(self, workflow_id: str) -> Procedure[WorkflowStatus | None]:
        """The stored status of a workflow, or None if there is no such workflow; values are
        decoded with this `Management`'s codec."""
        check_workflow_id(workflow_id)
        row = yield from self.get_row(workflow_id)
        return None if row is None else WorkflowStatus.from_row(row, self.codec)

    def get_row(self, workflow_id: str) -> Procedure[WorkflowRow | None]:
        """The stored row of a workflow (undecoded), or None if there is no such workflow."""
        row: WorkflowRow | None = yield Blocking(self.storage.get_workflow, (workflow_id,))
        return row

    def list_workflows(self, query: WorkflowQuery) -> Procedure[list[WorkflowStatus]]:
        """The workflows `query` selects (build it with `build_query`), as statuses decoded with
        this `Management`'s codec, in the query's order."""
        rows = yield from self.list_rows(query)
        return [WorkflowStatus.from_row(row, self.codec) for row in rows]

    def list_rows(self, query: WorkflowQuery) -> Procedure[list[WorkflowRow]]:
        """The rows of the workflows `query` selects (undecoded), in the query's order."""
        rows: list[WorkflowRow] = yield Blocking(self.storage.list_workflows, (query,))
        return rows

    def list_steps(
        self,
        workflow_id: str,
        *,
        load_output: bool = True,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Procedure[list[StepInfo]]:
        """The workflow's recorded steps in step-ID order, from `offset` (default 0), at most
        `limit` of them; without `load_output`, `output` and `error` are None. Raises
        `DBOSNonExistentWorkflowError` for an unknown ID, `DBOSException` for a negative or
        non-int `limit` / `offset`."""
        check_step_listing(workflow_id, limit, offset)
        rows = yield from self.list_step_rows(workflow_id, load_output, limit, offset)
        return [step_info(self.codec, row) for row in rows]

    def list_step_rows(
        self, workflow_id: str, load_output: bool, limit: int | None, offset: int | None
    ) -> Procedure[list[StepRow]]:
        """`list_steps` before decoding (arguments checked by `check_step_listing`)."""
        records: list[StepRecord] = yield Blocking(self.storage.load_steps, (workflow_id,))
        if not records:
            row = yield Blocking(self.storage.get_workflow, (workflow_id,))
            if row is None:
                raise DBOSNonExistentWorkflowError(workflow_id)
        # Internal waits are checkpointed before they start: their end comes from their
        # wake-up time (see `_wait_times`), so that a listing shows how long they lasted.
        ends = wait_completions([_wait_times(self.codec, record) for record in records], now_ms())
        # Sliced after the wait times are worked out: a wait's end can depend on the steps
        # after it. The storage reads every step either way (workflows record few).
        start = offset or 0
        records = records[start:] if limit is None else records[start : start + limit]
        return [
            StepRow(
                function_id=record.function_id,
                function_name=record.function_name,
                output=record.output if load_output else None,
                error=record.error if load_output else None,
                child_workflow_id=record.child_workflow_id,
                started_at_ms=record.started_at_ms,
                completed_at_ms=ends.get(record.function_id, record.completed_at_ms),
            )
            for record in records
        ]

    def _statuses(self, ids: tuple[str, ...]) -> Procedure[dict[str, str]]:
        query = WorkflowQuery(workflow_ids=ids, load_inputs=False, load_output=False)
        rows: list[WorkflowRow] = yield Blocking(self.storage.list_workflows, (query,))
        return {row.workflow_id: row.status for row in rows}

    # --- changing ---------------------------------------------------------------------------

    def cancel_each(
        self, workflow_ids: Iterable[str], *, cancel_children: bool = False
    ) -> Procedure[list[ActionResult]]:
        """`cancel`, reporting per ID (in the order given, duplicates once) what happened
        instead of raising for unknown IDs, followed by the descendants cancelled now with
        them (outcome ``cancelled_child``; those already finished or cancelled are not
        listed). The statuses before are read first, to tell a workflow cancelled now from
        one cancelled already."""
        ids = _ids(workflow_ids)
        targets = yield from self._cancel_targets(ids, cancel_children)
        before = yield from self._statuses(targets)
        after: dict[str, str] = yield Blocking(self.storage.cancel_workflows, (targets, now_ms()))
        wanted = list(dict.fromkeys(ids))
        results = [_cancel_result(i, before.get(i), after.get(i)) for i in wanted]
        cancelled = WorkflowStatusString.CANCELLED.value
        named = set(wanted)
        results.extend(
            ActionResult(i, "cancelled_child", cancelled, True)
            for i in dict.fromkeys(targets)
            if i not in named and after.get(i) == cancelled and before.get(i) != cancelled
        )
        return results

    def resume_each(
        self, workflow_ids: Iterable[str], *, queue_name: str | None = None
    ) -> Procedure[list[ActionResult]]:
        """`requeue`, reporting per ID what happened and the status afterwards."""
        ids = _ids(workflow_ids)
        queue = yield from resume_queue(self.storage, queue_name, ids)
        before = yield from self._statuses(ids)
        requeued: list[str] = yield Blocking(self.storage.requeue_workflows, (ids, queue, now_ms()))
        after = yield from self._statuses(ids)
        done = set(requeued)
        return [
            _resume_result(i, i in done, before.get(i), after.get(i)) for i in dict.fromkeys(ids)
        ]

    def delete_each(
        self, workflow_ids: Iterable[str], *, delete_children: bool = False
    ) -> Procedure[list[ActionResult]]:
        """`delete`, reporting per ID whether it was deleted or not found, followed by the
        child workflows deleted with them (outcome ``deleted_child``)."""
        ids = _ids(workflow_ids)
        deleted: list[str] = yield from self._delete(ids, delete_children)
        gone = set(deleted)
        wanted = list(dict.fromkeys(ids))
        results = [
            ActionResult(i, "deleted", None, True)
            if i in gone
            else ActionResult(i, "not_found", None, False)
            for i in wanted
        ]
        children = [i for i in deleted if i not in set(wanted)]
        return results + [ActionResult(i, "deleted_child", None, True) for i in children]

    def cancel(
        self, workflow_ids: Iterable[str], *, cancel_children: bool = False
    ) -> Procedure[None]:
        """Cancel queued and running workflows (finished ones are left as they are); with
        `cancel_children`, their descendants too (DBOS Transact 3.4's ``cancel_children``):
        child workflows found by their parent's ID, level by level, through finished ones
        as well, each once. Raises `DBOSNonExistentWorkflowError` for the first unknown ID
        of `workflow_ids`, after cancelling the others.

        The descendants are found first, then every workflow is cancelled in one
        transaction (ours: DBOS Transact commits each level on its own), so a storage error
        leaves no half-cancelled tree. A child started after the search is not cancelled;
        its cancelled parent stops at its next step boundary, and that child runs on, as a
        child of a workflow cancelled without `cancel_children` does."""
        ids = _ids(workflow_ids)
        targets = yield from self._cancel_targets(ids, cancel_children)
        statuses: dict[str, str] = yield Blocking(
            self.storage.cancel_workflows, (targets, now_ms())
        )
        _first_missing(ids, statuses)

    def _cancel_targets(
        self, ids: tuple[str, ...], cancel_children: bool
    ) -> Procedure[tuple[str, ...]]:
        if not cancel_children:
            return ids
        targets = yield from self._with_descendants(ids)
        return tuple(targets)

    def requeue(
        self, workflow_ids: Iterable[str], *, queue_name: str | None = None
    ) -> Procedure[list[str]]:
        """Resume cancelled and failed workflows in whichever app process has their code:
        they wait on `queue_name` (None: the internal queue; checked by `resume_queue`)
        and continue from their last recorded step. Others are left as they are. Returns
        the IDs requeued; raises for the first unknown ID."""
        ids = _ids(workflow_ids)
        queue = yield from resume_queue(self.storage, queue_name, ids)
        requeued: list[str] = yield Blocking(self.storage.requeue_workflows, (ids, queue, now_ms()))
        if len(requeued) < len(set(ids)):
            rows: list[WorkflowRow] = yield Blocking(
                self.storage.list_workflows,
                (WorkflowQuery(workflow_ids=ids, load_inputs=False, load_output=False),),
            )
            _first_missing(ids, (row.workflow_id for row in rows))
        return requeued

    def fork(self, workflow_id: str, start_step: int, **options: Any) -> Procedure[str]:
        """Start a new workflow that reuses `workflow_id`'s recorded steps before
        `start_step` and runs from `start_step` on; returns the new workflow's ID. `options`
        are `fork_request`'s keywords (DBOS Transact 3.4's; see `DBOS.fork_workflow`)."""
        request = yield from fork_request(self.storage, workflow_id, start_step, **options)
        yield Blocking(self.storage.fork_workflow, (request,))
        return request.forked_workflow_id

    def delete(
        self, workflow_ids: Iterable[str], *, delete_children: bool = False
    ) -> Procedure[list[str]]:
        """Delete workflows with everything recorded for them (and, with `delete_children`,
        their child workflows, recursively). Raises for the first unknown ID, after deleting
        the others. Returns every ID deleted."""
        ids = _ids(workflow_ids)
        deleted: list[str] = yield from self._delete(ids, delete_children)
        _first_missing(ids, deleted)
        return deleted

    def _delete(self, ids: tuple[str, ...], delete_children: bool) -> Procedure[list[str]]:
        targets = list(dict.fromkeys(ids))
        if delete_children:
            targets = yield from self._with_descendants(ids)
        deleted: list[str] = yield Blocking(self.storage.delete_workflows, (tuple(targets),))
        return deleted

    def _with_descendants(self, ids: tuple[str, ...]) -> Procedure[list[str]]:
        """`ids` (each once, in order), then their child workflows, then theirs, level by
        level: one listing per level, by `parent_workflow_id`. A workflow already found is
        not searched again, so a parent link that loops ends the search."""
        targets = list(dict.fromkeys(ids))
        found = set(targets)
        frontier = targets
        query = WorkflowQuery(load_inputs=False, load_output=False)
        while frontier:
            rows: list[WorkflowRow] = yield Blocking(
                self.storage.list_workflows, (replace(query, parent_workflow_id=tuple(frontier)),)
            )
            frontier = [r.workflow_id for r in rows if r.workflow_id not in found]
            frontier = list(dict.fromkeys(frontier))
            found.update(frontier)
            targets.extend(frontier)
        return targets

    def garbage_collect(self, before: Any) -> Procedure[int]:
        """Delete finished workflows created before `before` (a datetime, an ISO 8601 string
        or epoch milliseconds); returns how many were deleted."""
        cutoff = to_epoch_ms(before, "before")
        if cutoff is None:
            raise DBOSException("garbage collection needs a cutoff time (before=...)")
        deleted: int = yield Blocking(self.storage.delete_older_than, (cutoff,))
        return deleted

    def enqueue(
        self, options: EnqueueOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Procedure[str]:
        """Enqueue a workflow by name for an app process to run; returns its ID."""
        workflow = self._enqueued_workflow(options, args, kwargs)
        where = "enqueue options"
        reuse = check_reuse_policy(options.get("workflow_id_reuse_policy"), where)
        duplication = check_duplication_policy(
            options.get("duplication_policy"), workflow.deduplication_id, where
        )
        init = yield from create_workflow(self.storage, workflow, (reuse, duplication))
        if init.row.workflow_id != workflow.workflow_id:
            return init.row.workflow_id  # the task holding the deduplication ID
        if init.row.name != workflow.name:
            raise DBOSWorkflowConflictIDError(workflow.workflow_id, init.row.name, workflow.name)
        return workflow.workflow_id

    def enqueue_many(
        self, options: EnqueueOptions, calls: object, workflow_ids: object
    ) -> Procedure[list[str]]:
        """Enqueue many tasks of one workflow by name in one storage call (our extension of
        DBOS's API; see `_engine.batch`); returns their IDs in order. `options` apply to
        every task except ``workflow_id`` and ``deduplication_id``, which name one task and
        are refused here (give `workflow_ids` and `EnqueueCall.deduplication_id`).

        Raises:
            DBOSException: bad options or calls, or ``workflow_id_reuse_policy="reject"``
                (a batch returns stored IDs, as the default policy does).
            DBOSQueueDeduplicatedError: under ``"reject"``; nothing stored.
            DBOSWorkflowConflictIDError: a task's ID has another name; nothing stored.
        """
        where = "enqueue_many"
        if not isinstance(options, dict):
            raise DBOSException(f"{where}: options must be a dict (EnqueueOptions)")
        for key, instead in (
            ("workflow_id", "workflow_ids=[...]"),
            ("deduplication_id", "EnqueueCall(deduplication_id=...)"),
        ):
            if options.get(key) is not None:
                raise DBOSException(
                    f"{where}: option {key!r} names one task; give each task its own with {instead}"
                )
        if check_reuse_policy(options.get("workflow_id_reuse_policy"), where) == REJECT:
            raise DBOSException(
                f"{where}: workflow_id_reuse_policy 'reject' is not supported for a batch "
                "(a stored ID returns its workflow, the default policy)"
            )
        checked = check_calls(calls, where)
        ids = check_workflow_ids(workflow_ids, len(checked), where)
        rows = []
        for i, call in enumerate(checked):
            task: dict[str, Any] = {
                **options,
                "workflow_id": None if ids is None else ids[i],
                "deduplication_id": call.deduplication_id,
            }
            if call.priority is not None:
                task["priority"] = call.priority
            rows.append(self._enqueued_workflow(task, call.args, call.kwargs))  # type: ignore[arg-type]
        policy = options.get("duplication_policy")
        keyed = next((r.deduplication_id for r in rows if r.deduplication_id), None)
        check_duplication_policy(policy, keyed, where)
        return (yield from create_batch(self.storage, rows, [policy] * len(rows)))

    def _enqueued_workflow(
        self, options: EnqueueOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> NewWorkflow:
        if not isinstance(options, dict):
            raise DBOSException("enqueue options must be a dict (EnqueueOptions)")
        # Unknown keys first: a misspelt 'workflow_name' is named as such, not as missing.
        unknown = sorted(set(options) - set(EnqueueOptions.__annotations__))
        if unknown:
            raise DBOSException(
                f"unknown enqueue option(s) {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(sorted(EnqueueOptions.__annotations__))}"
            )
        name = options.get("workflow_name")
        queue = options.get("queue_name")
        for key, value in (("workflow_name", name), ("queue_name", queue)):
            if not isinstance(value, str) or not value:
                raise DBOSException(f"enqueue options need {key!r}: a non-empty string")
        assert name is not None and queue is not None
        if queue == INTERNAL_QUEUE_NAME:
            raise DBOSException(f"queue {queue!r} is reserved for DBOS's own use")
        priority = options.get("priority")
        if priority is not None and (type(priority) is not int or priority < 0):
            raise DBOSException(
                f"enqueue option 'priority' must be an integer >= 0, got {priority!r}"
            )
        check_texts(
            (f"enqueue option {key!r}", options.get(key))
            for key in (
                "workflow_name",
                "queue_name",
                "deduplication_id",
                "app_version",
                "class_name",
                "instance_name",
                "authenticated_user",
            )
        )
        user = options.get("authenticated_user")
        if user is not None and not isinstance(user, str):
            raise DBOSException(
                f"enqueue option 'authenticated_user' must be a string, got {user!r}"
            )
        roles = options.get("authenticated_roles")
        granted = (
            None
            if roles is None
            else check_roles_list(roles, "enqueue option 'authenticated_roles'")
        )
        if options.get("instance_name") is not None and options.get("class_name") is None:
            raise DBOSException(
                "enqueue option 'instance_name' needs 'class_name' too: a configured instance "
                "is found by its class's registered name and its config_name"
            )
        created = now_ms()
        timeout = options.get("workflow_timeout")
        delay = options.get("delay_seconds")
        for key, number in (("workflow_timeout", timeout), ("delay_seconds", delay)):
            if number is not None and (
                isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0
            ):
                raise DBOSException(f"enqueue option {key!r} must be a number >= 0")
        workflow_id = options.get("workflow_id")
        workflow_id = (
            str(uuid.uuid4())
            if workflow_id is None
            else check_workflow_id(workflow_id, "enqueue option 'workflow_id'")
        )
        serialization = serialization_for(options.get("serialization_type"))
        partition_key = options.get("queue_partition_key")
        if partition_key is not None and (not isinstance(partition_key, str) or not partition_key):
            raise DBOSException(
                f"enqueue option 'queue_partition_key' must be a non-empty string, got "
                f"{partition_key!r}"
            )
        return NewWorkflow(
            workflow_id=workflow_id,
            name=name,
            inputs=codec_for(self.codec, serialization).encode_inputs(args, kwargs, name),
            serialization=serialization,
            executor_id=None,
            application_version=options.get("app_version"),
            created_at_ms=created,
            max_recovery_attempts=DEFAULT_MAX_RECOVERY_ATTEMPTS,
            queue_name=queue,
            status=WorkflowStatusString.ENQUEUED.value,
            priority=priority or 0,
            deduplication_id=options.get("deduplication_id"),
            queue_partition_key=partition_key,
            delay_until_ms=created + int(delay * 1000) if delay else None,
            deadline_ms=created + int(timeout * 1000) if timeout else None,
            timeout_ms=int(timeout * 1000) if timeout else None,
            application_name=self.application_name,
            class_name=options.get("class_name"),
            config_name=options.get("instance_name"),
            attributes=with_trace_carrier(
                encode_attributes(options.get("attributes"), "enqueue option 'attributes'")
            ),
            authenticated_user=options.get("authenticated_user"),
            authenticated_roles=encode_roles(granted),
        )


class RemoteWaiter:
    """The `HandleSource` of handles outside the app: outcomes come from storage only."""

    #: Handles outside the app record nothing (a client never runs in a workflow).
    recorder: Recorder | None = None

    def __init__(
        self, storage: SystemStorage, codec: Codec, application_name: str | None = None
    ) -> None:
        self.storage = storage
        self.codec = codec
        #: Stored as the `application_name` of the workflows it enqueues (DBOS semantics: the
        #: app's configured name, or the one a `DBOSClient` was given).
        self.application_name = application_name

    def wait(
        self,
        workflow_id: str,
        active: object,
        timeout_s: float | None = None,
        *,
        stored_form: bool = True,
    ) -> Procedure[Outcome]:
        """The workflow's outcome once it is terminal, read from storage (no in-process
        wake-up): always in its stored form. `active` is ignored: there are no local
        executions outside the app.

        Raises:
            TimeoutError: the workflow is not terminal after `timeout_s` seconds.
        """
        row: WorkflowRow | None = yield Blocking(
            self.storage.wait_workflow_outcome, (workflow_id, timeout_s)
        )
        if row is None:
            raise TimeoutError(f"workflow {workflow_id!r} did not finish in {timeout_s} s")
        return outcome_from_row(self.codec, row)
