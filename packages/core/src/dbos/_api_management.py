"""`DBOS`'s own management calls: the shared ones (list, cancel, resume, delete, ...) are
`Facade`'s (`_facade`), which `DBOS`'s metaclass provides; fork is here because its
signature differs from the client's (keyword-only `application_version`, no
`forked_workflow_id`: an enclosing `SetWorkflowID` names the new workflow)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._engine.context import take_assigned_workflow_id
from ._engine.effects import Procedure, run_async, run_sync
from ._engine.queues import INTERNAL_QUEUE_NAME
from .management._handle import WorkflowHandle, WorkflowHandleAsync
from .management._management import Management

if TYPE_CHECKING:
    from ._engine.engine import Engine


class ManagementAPI:
    """Workflow management on the launched app's system database."""

    @classmethod
    def _launched_engine(cls) -> Engine:
        raise NotImplementedError  # DBOS provides it

    @classmethod
    def get_result(cls, workflow_id: str, *, timeout_seconds: float | None = None) -> Any:
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

        Raises:
            DBOSAwaitedWorkflowCancelledError: the workflow was cancelled.
            DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded: it ended in
                MAX_RECOVERY_ATTEMPTS_EXCEEDED.
            TimeoutError: `timeout_seconds` passed first (the workflow keeps running).
            DBOSException: `workflow_id` is blank or not valid text.
        """
        engine = cls._launched_engine()
        handle: WorkflowHandle[Any] = WorkflowHandle(engine, workflow_id)
        return handle.get_result(timeout_seconds=timeout_seconds)

    @classmethod
    async def get_result_async(
        cls, workflow_id: str, *, timeout_seconds: float | None = None
    ) -> Any:
        """`get_result` for async code: waits without blocking the event loop."""
        engine = cls._launched_engine()
        handle: WorkflowHandleAsync[Any] = WorkflowHandleAsync(engine, workflow_id)
        return await handle.get_result(timeout_seconds=timeout_seconds)

    @classmethod
    def fork_workflow(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
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

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSException: `start_step` is not an int >= 0.
        """
        engine = cls._launched_engine()
        forked = run_sync(_fork(engine, workflow_id, start_step, application_version))
        engine.work_enqueued(INTERNAL_QUEUE_NAME)
        return WorkflowHandle(engine, forked)

    @classmethod
    async def fork_workflow_async(
        cls, workflow_id: str, start_step: int, *, application_version: str | None = None
    ) -> WorkflowHandleAsync[Any]:
        """`fork_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        engine = cls._launched_engine()
        forked = await run_async(_fork(engine, workflow_id, start_step, application_version))
        engine.work_enqueued(INTERNAL_QUEUE_NAME)
        return WorkflowHandleAsync(engine, forked)


def _fork(
    engine: Engine, workflow_id: str, start_step: int, application_version: str | None
) -> Procedure[str]:
    return Management(engine.storage, engine.codec, engine.application_name).fork(
        workflow_id,
        start_step,
        forked_workflow_id=take_assigned_workflow_id(),
        application_version=application_version,
    )
