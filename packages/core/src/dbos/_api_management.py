"""`DBOS`'s own management calls: the shared ones (list, cancel, resume, delete, ...) are
`Facade`'s (`_facade`), which `DBOS`'s metaclass provides; fork is here because its
signature differs from the client's (keyword-only `application_version`, no
`forked_workflow_id`: an enclosing `SetWorkflowID` names the new workflow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base.errors import DBOSNonExistentWorkflowError
from ._engine.blocking_calls import refuse_on_running_loop
from ._engine.context import in_workflow_body, take_assigned_workflow_id
from ._engine.effects import Procedure, run_async, run_sync
from ._engine.queues import INTERNAL_QUEUE_NAME
from ._engine.recorded_management import FORK_NAME, recorded_management_call
from .management._fork import check_no_shard_key
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import Management
from .management._recorded import recorded_status

if TYPE_CHECKING:
    from ._engine.engine import Engine


class ManagementAPI:
    """Workflow management on the launched app's system database."""

    @classmethod
    def _launched_engine(cls) -> Engine:
        raise NotImplementedError  # DBOS provides it

    @classmethod
    def get_result(
        cls,
        workflow_id: str,
        *,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> Any:
        """Wait for workflow `workflow_id` to finish; return its result or raise its error
        (DBOS Transact 3.4's ``DBOS.get_result``; the same as
        ``DBOS.retrieve_workflow(workflow_id, existing_workflow=False).get_result()``).

        As in DBOS Transact, an ID with no workflow yet is waited for (it may be about to
        start), not refused. Inside a workflow's body the wait is a recorded operation,
        ``DBOS.getResult``, as in DBOS Transact (a replay returns what it returned; a wait that
        times out records nothing).

        Args:
            workflow_id: The workflow's ID.
            timeout_seconds: Ours: give up after this many seconds (None: wait as long as it
                takes).
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Raises:
            DBOSAwaitedWorkflowCancelledError: the workflow was cancelled.
            DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded: it ended in
                MAX_RECOVERY_ATTEMPTS_EXCEEDED.
            TimeoutError: `timeout_seconds` passed first (the workflow keeps running).
            DBOSException: `workflow_id` is blank or not valid text, or a `shard_key`.
        """
        check_no_shard_key(shard_key, "get_result")
        refuse_on_running_loop("get_result")
        engine = cls._launched_engine()
        handle: WorkflowHandle[Any] = WorkflowHandle(engine, workflow_id)
        return handle.get_result(timeout_seconds=timeout_seconds)

    @classmethod
    async def get_result_async(
        cls,
        workflow_id: str,
        *,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> Any:
        """`get_result` for async code: waits without blocking the event loop."""
        check_no_shard_key(shard_key, "get_result")
        engine = cls._launched_engine()
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(engine, workflow_id)
        return await handle.get_result(timeout_seconds=timeout_seconds)

    @classmethod
    def fork_workflow(
        cls,
        workflow_id: str,
        start_step: int,
        *,
        application_version: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> WorkflowHandle[Any]:
        """Start a new workflow that re-runs `workflow_id` from step `start_step`.

        The new workflow has the original's name and inputs and a new ID (or the one set by an
        enclosing `SetWorkflowID`). The steps before `start_step` are not run again: their
        recorded outputs are copied to it. It runs on a process of `application_version`
        (default: the original's version, whose code recorded those steps). The original is
        not changed. `start_step` is a step ID as `list_workflow_steps` shows it, counted
        from 1 (DBOS Transact 3.4): 1 re-runs the whole workflow. A workflow an earlier
        release numbered from 0 shows its first step as 0, and 0 re-runs it whole (see
        docs/guides/upgrading.md). A `start_step` past the last recorded step replays every
        recorded step (as in DBOS Transact).

        Called from a workflow body, the fork is a recorded operation of that workflow, as
        in DBOS Transact 3.4: ``DBOS.forkWorkflow`` (the new workflow's ID, or the error)
        then ``DBOS.getStatus`` (the new workflow's status, read once). A recovered, forked
        or rewound execution of the caller gets a handle to the same fork back and makes no
        new one.

        Args:
            workflow_id: The workflow to fork.
            start_step: The first step to run again (see above).
            application_version: Run the fork on processes of this version (None: the
                original's).
            queue_name: DBOS Transact 3.4: the queue the fork waits on (None: DBOS's internal
                queue, which every launched process works on). Its limits then apply to the
                fork. A name no process declares is accepted, as in DBOS Transact, with a
                WARNING: the fork waits until a process declares that queue.
            queue_partition_key: DBOS Transact 3.4: the fork's partition on a partitioned
                `queue_name`. Checked as an enqueue checks it (ours) against the queue
                declared in this process or stored: required on a partitioned queue,
                refused on another one and on the internal queue.
            replacement_children: DBOS Transact 3.4: old child workflow ID -> new child
                workflow ID. A copied step that started or awaited an old child names the
                new one instead, so the fork's replay addresses the new child (a copied
                result of awaiting it stays as recorded).
            timeout_seconds: DBOS Transact 3.4: the fork's own timeout in seconds (> 0;
                None: none, the original's is not inherited), shown as
                `WorkflowStatus.workflow_timeout_ms`. Its deadline counts from the fork's
                creation, as for a workflow enqueued with `SetWorkflowTimeout` (ours; DBOS
                Transact counts from when a worker dequeues it).
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSWorkflowConflictIDError: the fork's ID (`SetWorkflowID`) is taken.
            DBOSException: `start_step` is not an int >= 0, a blank queue name or partition
                key, a partition key that does not fit the queue, a `timeout_seconds` that
                is not > 0, a `replacement_children` that is not a dict of workflow IDs, or a
                `shard_key` (nothing is written).
        """
        engine = cls._launched_engine()
        forked = run_sync(
            _fork(
                engine,
                workflow_id,
                start_step,
                application_version=application_version,
                queue_name=queue_name,
                queue_partition_key=queue_partition_key,
                replacement_children=replacement_children,
                timeout_seconds=timeout_seconds,
                shard_key=shard_key,
            )
        )
        engine.work_enqueued(INTERNAL_QUEUE_NAME if queue_name is None else queue_name)
        return WorkflowHandle(engine, forked)

    @classmethod
    async def fork_workflow_async(
        cls,
        workflow_id: str,
        start_step: int,
        *,
        application_version: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        replacement_children: dict[str, str] | None = None,
        timeout_seconds: float | None = None,
        shard_key: str | None = None,
    ) -> WorkflowHandleAsync[Any]:
        """`fork_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        engine = cls._launched_engine()
        forked = await run_async(
            _fork(
                engine,
                workflow_id,
                start_step,
                application_version=application_version,
                queue_name=queue_name,
                queue_partition_key=queue_partition_key,
                replacement_children=replacement_children,
                timeout_seconds=timeout_seconds,
                shard_key=shard_key,
            )
        )
        engine.work_enqueued(INTERNAL_QUEUE_NAME if queue_name is None else queue_name)
        return WorkflowHandleAsync(engine, forked)


def _fork(engine: Engine, workflow_id: str, start_step: int, **options: Any) -> Procedure[str]:
    # Taken first, replay or not: the ID belongs to this fork, never to a later start.
    forked_id = take_assigned_workflow_id()
    management = Management(engine.storage, engine.codec, engine.application_name)
    forked: str = yield from recorded_management_call(
        engine.recorder,
        FORK_NAME,
        lambda: management.fork(workflow_id, start_step, forked_workflow_id=forked_id, **options),
    )
    if in_workflow_body() is not None:
        # As DBOS Transact 3.4 does in a workflow: the fork's status is read, as the recorded
        # operation ``DBOS.getStatus`` (so the operation IDs after it are 3.4's too).
        status = yield from recorded_status(management, engine.recorder, forked)
        if status is None:
            raise DBOSNonExistentWorkflowError(forked)
    return forked
