"""The Facade's calls that change workflows' lifecycle (cancel, resume, delete, each with its
bulk and ``_async`` forms), shared by `DBOS` and `DBOSClient` through `Facade`, with DBOS
Transact 3.4's keywords: ``cancel_children``, ``delete_children``, a resume's ``queue_name``,
and ``shard_key`` (accepted only as None: there is no sharding here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._engine.effects import Procedure, run_async, run_sync
from .._engine.recorded_management import (
    CANCEL_NAME,
    DELETE_NAME,
    RESUME_NAME,
    recorded_management_call,
)
from ._fork import check_no_shard_key
from ._forms import async_form as _async_form
from ._forms import discard as _discard
from ._forms import sync_form as _sync_form
from ._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from ._resume_queue import check_resume_queue_name

if TYPE_CHECKING:
    from .._engine.execution import ActiveWorkflow
    from .._engine.operations import Recorder
    from ._management import Management


def _nothing(value: object) -> None:
    return None


class ChangesFacade:
    """`cancel_workflow(s)`, `resume_workflow(s)` and `delete_workflow(s)` (+ ``_async``),
    over the accessors `Facade` declares and each side provides.

    Called from a workflow body (`DBOS` only), each is a recorded operation of that workflow
    under DBOS Transact 3.4's name (``DBOS.cancelWorkflow``, ``DBOS.resumeWorkflow``,
    ``DBOS.deleteWorkflow``), keywords included: a recovered, forked or rewound execution
    does not cancel, resume or delete again, and raises again the error the first execution
    got. A `DBOSClient` never records."""

    def _facade_management(self) -> Management:
        raise NotImplementedError

    def _facade_handle_source(self) -> HandleSource:
        raise NotImplementedError

    def _facade_recorder(self) -> Recorder | None:
        return None

    def _facade_enqueued(self, queue_name: str) -> None:
        raise NotImplementedError

    def _facade_resume(self, workflow_ids: list[str]) -> Procedure[Sequence[ActiveWorkflow | None]]:
        """Resume each workflow; the execution of each in this process, if it runs here."""
        raise NotImplementedError

    # --- cancel -----------------------------------------------------------------------------

    def _cancel_workflow(
        self, workflow_id: str, *, cancel_children: bool = False, shard_key: str | None = None
    ) -> Procedure[None]:
        """Cancel a workflow that is queued or running. A queued one never starts; a running
        one stops at its next step boundary (status CANCELLED; waiters get
        `DBOSWorkflowCancelledError`). A finished workflow is left as it is (DBOS semantics).

        Args:
            workflow_id: The workflow's ID.
            cancel_children: Cancel its descendants too (DBOS Transact 3.4): its child
                workflows, theirs, and so on, found by parent workflow ID, finished ones
                left as they are (their own children are still cancelled). Ours: the whole
                tree is cancelled in one transaction, so a storage error cancels none of it,
                and every running one is told at once, as the workflow itself is; a child
                that starts after the search for descendants is not cancelled.
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Raises:
            DBOSNonExistentWorkflowError: there is no such workflow (ours: DBOS Transact
                says nothing).
            DBOSException: a `shard_key` (nothing is changed).
        """
        return self._cancel([workflow_id], cancel_children, shard_key, "cancel_workflow")

    cancel_workflow = _sync_form(_cancel_workflow)
    cancel_workflow_async = _async_form(_cancel_workflow)

    def _cancel_workflows(
        self,
        workflow_ids: list[str],
        *,
        cancel_children: bool = False,
        shard_key: str | None = None,
    ) -> Procedure[None]:
        """`cancel_workflow` for many workflows at once, in one transaction (with
        `cancel_children`, their descendants too).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are
                cancelled.
            DBOSException: a `shard_key` (nothing is changed).
        """
        return self._cancel(workflow_ids, cancel_children, shard_key, "cancel_workflows")

    cancel_workflows = _sync_form(_cancel_workflows)
    cancel_workflows_async = _async_form(_cancel_workflows)

    def _cancel(
        self, workflow_ids: list[str], cancel_children: bool, shard_key: object, call: str
    ) -> Procedure[None]:
        check_no_shard_key(shard_key, call)
        management = self._facade_management()
        return recorded_management_call(
            self._facade_recorder(),
            CANCEL_NAME,
            lambda: management.cancel(workflow_ids, cancel_children=cancel_children),
        )

    # --- resume -----------------------------------------------------------------------------

    def resume_workflow(
        self, workflow_id: str, *, queue_name: str | None = None, shard_key: str | None = None
    ) -> WorkflowHandle[Any]:
        """Continue a cancelled or failed (ERROR, MAX_RECOVERY_ATTEMPTS_EXCEEDED) workflow
        from its last completed step; other statuses are left alone. Returns its handle.

        Without `queue_name`, `DBOS` runs it in this process (an enqueued one starts now,
        bypassing its queue); a `DBOSClient` puts it on the internal queue, for an app
        process that has its code and application version.

        Args:
            workflow_id: The workflow's ID.
            queue_name: Put it on this queue instead (DBOS Transact 3.4): it waits there,
                bound by the queue's limits, and a process that declares the queue runs it;
                `status.queue_name` shows it. A queue no process declares is accepted with
                a WARNING (the workflow waits until one does), as `fork_workflow` accepts
                it; a declared queue must fit the workflow's partition key (ours).
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Raises:
            DBOSNonExistentWorkflowError: there is no such workflow.
            DBOSException: a blank `queue_name`, one that does not fit the workflow's
                partition key, or a `shard_key` (nothing is changed).
        """
        check_no_shard_key(shard_key, "resume_workflow")
        return self.resume_workflows([workflow_id], queue_name=queue_name)[0]

    async def resume_workflow_async(
        self, workflow_id: str, *, queue_name: str | None = None, shard_key: str | None = None
    ) -> WorkflowHandleAsync[Any]:
        """`resume_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        check_no_shard_key(shard_key, "resume_workflow")
        return (await self.resume_workflows_async([workflow_id], queue_name=queue_name))[0]

    def resume_workflows(
        self,
        workflow_ids: list[str],
        *,
        queue_name: str | None = None,
        shard_key: str | None = None,
    ) -> list[WorkflowHandle[Any]]:
        """`resume_workflow` for each of several workflows. Returns a handle for every ID
        given, in order, resumed or not.

        Raises:
            DBOSNonExistentWorkflowError: for an unknown ID (`DBOS` resuming in this process
                has resumed the IDs before it; onto a queue, or from a `DBOSClient`, all the
                others are resumed).
            DBOSException: as `resume_workflow`.
        """
        actives = run_sync(self._resume(workflow_ids, queue_name, shard_key, "resume_workflows"))
        self._woken(queue_name)
        source = self._facade_handle_source()
        return [
            WorkflowHandle(source, id_, active)
            for id_, active in zip(workflow_ids, actives, strict=True)
        ]

    async def resume_workflows_async(
        self,
        workflow_ids: list[str],
        *,
        queue_name: str | None = None,
        shard_key: str | None = None,
    ) -> list[WorkflowHandleAsync[Any]]:
        """`resume_workflows` for async code; the handles are `WorkflowHandleAsync`."""
        actives = await run_async(
            self._resume(workflow_ids, queue_name, shard_key, "resume_workflows")
        )
        self._woken(queue_name)
        source = self._facade_handle_source()
        return [
            WorkflowHandleAsync(source, id_, active)
            for id_, active in zip(workflow_ids, actives, strict=True)
        ]

    def _woken(self, queue_name: str | None) -> None:
        if queue_name is not None:
            self._facade_enqueued(queue_name)

    def _resume(
        self, workflow_ids: list[str], queue_name: str | None, shard_key: object, call: str
    ) -> Procedure[Sequence[ActiveWorkflow | None]]:
        check_no_shard_key(shard_key, call)
        if queue_name is not None:
            check_resume_queue_name(queue_name)
        # Recorded with no result: a replay's handles read the stored workflows (this
        # process's executions are the first execution's to hand out).
        return recorded_management_call(
            self._facade_recorder(),
            RESUME_NAME,
            lambda: self._resume_now(workflow_ids, queue_name),
            stored_form=_nothing,
            from_stored=lambda _: [None for _ in workflow_ids],
        )

    def _resume_now(
        self, workflow_ids: list[str], queue_name: str | None
    ) -> Procedure[Sequence[ActiveWorkflow | None]]:
        if queue_name is None:
            return (yield from self._facade_resume(workflow_ids))
        # Onto a named queue: the queue's worker runs it, wherever the queue is declared.
        yield from self._facade_management().requeue(workflow_ids, queue_name=queue_name)
        return [None for _ in workflow_ids]

    # --- delete -----------------------------------------------------------------------------

    def _delete_workflow(
        self, workflow_id: str, *, delete_children: bool = False, shard_key: str | None = None
    ) -> Procedure[None]:
        """Delete a workflow and everything recorded for it (with `delete_children`, its
        child workflows too, recursively). `shard_key`: DBOS Transact 3.4's sharding,
        accepted only as None.

        Raises:
            DBOSNonExistentWorkflowError: there is no such workflow.
            DBOSException: a `shard_key` (nothing is deleted).
        """
        return self._delete([workflow_id], delete_children, shard_key, "delete_workflow")

    delete_workflow = _sync_form(_delete_workflow)
    delete_workflow_async = _async_form(_delete_workflow)

    def _delete_workflows(
        self,
        workflow_ids: list[str],
        *,
        delete_children: bool = False,
        shard_key: str | None = None,
    ) -> Procedure[None]:
        """`delete_workflow` for many workflows at once (one transaction).

        Raises:
            DBOSNonExistentWorkflowError: for the first unknown ID, after the others are
                deleted.
            DBOSException: a `shard_key` (nothing is deleted).
        """
        return self._delete(workflow_ids, delete_children, shard_key, "delete_workflows")

    delete_workflows = _sync_form(_delete_workflows)
    delete_workflows_async = _async_form(_delete_workflows)

    def _delete(
        self, workflow_ids: list[str], delete_children: bool, shard_key: object, call: str
    ) -> Procedure[None]:
        check_no_shard_key(shard_key, call)
        management = self._facade_management()
        return recorded_management_call(
            self._facade_recorder(),
            DELETE_NAME,
            lambda: _discard(management.delete(workflow_ids, delete_children=delete_children)),
        )
