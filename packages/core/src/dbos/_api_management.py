"""`DBOS`'s management calls (list steps, cancel, resume, fork, delete, retention): a base
class of `DBOS`, on the implementation `DBOSClient` shares (`_management.Management`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ._engine.context import take_assigned_workflow_id
from ._engine.effects import Blocking, Procedure, run_async, run_sync
from ._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import Management, StepInfo
from .management._status import WorkflowStatus

if TYPE_CHECKING:
    from ._engine.engine import Engine

T = TypeVar("T")


class ManagementAPI:
    """Workflow management on the launched app's system database."""

    @classmethod
    def _launched_engine(cls) -> Engine:
        raise NotImplementedError  # DBOS provides it

    @classmethod
    def _management(cls) -> Management:
        engine = cls._launched_engine()
        return Management(engine.storage, engine.codec)

    @classmethod
    def list_workflow_steps(cls, workflow: str | WorkflowStatus) -> list[StepInfo]:
        """The recorded steps of a workflow (given by ID or status), in step-ID order: step IDs
        count from 0 in the order the workflow ran them. Each has its function name, output,
        error (the exception), start and end times and child workflow ID. Raises
        `DBOSNonExistentWorkflowError` for an unknown ID."""
        return run_sync(cls._management().list_steps(_workflow_id_of(workflow)))

    @classmethod
    async def list_workflow_steps_async(cls, workflow: str | WorkflowStatus) -> list[StepInfo]:
        return await run_async(cls._management().list_steps(_workflow_id_of(workflow)))

    @classmethod
    def cancel_workflow(cls, workflow_id: str) -> None:
        """Cancel a workflow that is queued or running. A queued one never starts; a running
        one stops at its next step boundary (status CANCELLED; waiters get
        `DBOSWorkflowCancelledError`). A finished workflow is left as it is."""
        cls.cancel_workflows([workflow_id])

    @classmethod
    async def cancel_workflow_async(cls, workflow_id: str) -> None:
        await cls.cancel_workflows_async([workflow_id])

    @classmethod
    def cancel_workflows(cls, workflow_ids: list[str]) -> None:
        """`cancel_workflow` for many workflows at once (one transaction)."""
        run_sync(cls._management().cancel(workflow_ids))

    @classmethod
    async def cancel_workflows_async(cls, workflow_ids: list[str]) -> None:
        await run_async(cls._management().cancel(workflow_ids))

    @classmethod
    def resume_workflow(cls, workflow_id: str) -> WorkflowHandle[Any]:
        """Continue a cancelled or failed workflow from its last completed step, in this
        process (an enqueued one starts now, bypassing its queue). Returns its handle."""
        engine = cls._launched_engine()
        return WorkflowHandle(engine, workflow_id, engine.resume(workflow_id))

    @classmethod
    async def resume_workflow_async(cls, workflow_id: str) -> WorkflowHandleAsync[Any]:
        engine = cls._launched_engine()
        active = await run_async(_blocking_call(engine.resume, workflow_id))
        return WorkflowHandleAsync(engine, workflow_id, active)

    @classmethod
    def resume_workflows(cls, workflow_ids: list[str]) -> list[WorkflowHandle[Any]]:
        """`resume_workflow` for each of several workflows."""
        return [cls.resume_workflow(workflow_id) for workflow_id in workflow_ids]

    @classmethod
    async def resume_workflows_async(
        cls, workflow_ids: list[str]
    ) -> list[WorkflowHandleAsync[Any]]:
        return [await cls.resume_workflow_async(workflow_id) for workflow_id in workflow_ids]

    @classmethod
    def fork_workflow(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
    ) -> WorkflowHandle[Any]:
        """Start a new workflow that re-runs `workflow_id` from step `start_step`.

        The new workflow has the original's name and inputs and a new ID (or the one set by an
        enclosing `SetWorkflowID`). The steps before `start_step` are not run again: their
        recorded outputs are copied to it. It runs on a process of `application_version`
        (default: the original's version, whose code recorded those steps). The original is
        not changed.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSForkStepError: `start_step` is past the workflow's last step + 1.
        """
        engine = cls._launched_engine()
        forked = run_sync(
            cls._management().fork(
                workflow_id,
                start_step,
                forked_workflow_id=take_assigned_workflow_id(),
                application_version=application_version,
            )
        )
        engine.queue_worker.wake()
        return WorkflowHandle(engine, forked)

    @classmethod
    async def fork_workflow_async(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
    ) -> WorkflowHandleAsync[Any]:
        engine = cls._launched_engine()
        forked = await run_async(
            cls._management().fork(
                workflow_id,
                start_step,
                forked_workflow_id=take_assigned_workflow_id(),
                application_version=application_version,
            )
        )
        engine.queue_worker.wake()
        return WorkflowHandleAsync(engine, forked)

    @classmethod
    def delete_workflow(cls, workflow_id: str, *, delete_children: bool = False) -> None:
        """Delete a workflow and everything recorded for it (with `delete_children`, its
        child workflows too). Raises `DBOSNonExistentWorkflowError` for an unknown ID."""
        run_sync(cls._management().delete([workflow_id], delete_children=delete_children))

    @classmethod
    async def delete_workflow_async(
        cls, workflow_id: str, *, delete_children: bool = False
    ) -> None:
        await run_async(cls._management().delete([workflow_id], delete_children=delete_children))

    @classmethod
    def delete_workflows(cls, workflow_ids: list[str], *, delete_children: bool = False) -> None:
        """`delete_workflow` for many workflows at once (one transaction)."""
        run_sync(cls._management().delete(workflow_ids, delete_children=delete_children))

    @classmethod
    async def delete_workflows_async(
        cls, workflow_ids: list[str], *, delete_children: bool = False
    ) -> None:
        await run_async(cls._management().delete(workflow_ids, delete_children=delete_children))

    @classmethod
    def garbage_collect(cls, before: datetime | str | int) -> int:
        """Retention: delete finished workflows created before `before` (a datetime, ISO 8601
        string or epoch ms) with their steps; queued and running ones are kept. Returns how
        many were deleted."""
        return run_sync(cls._management().garbage_collect(before))

    @classmethod
    async def garbage_collect_async(cls, before: datetime | str | int) -> int:
        return await run_async(cls._management().garbage_collect(before))


def _workflow_id_of(workflow: str | WorkflowStatus) -> str:
    return workflow.workflow_id if isinstance(workflow, WorkflowStatus) else workflow


def _blocking_call(fn: Callable[[str], T], arg: str) -> Procedure[T]:
    result: T = yield Blocking(fn, (arg,))
    return result
