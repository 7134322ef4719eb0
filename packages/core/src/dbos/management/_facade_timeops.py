"""The Facade's calls that move workflows in time (DBOS Transact 3.4's rewind and delay),
shared by `DBOS` and `DBOSClient` through `Facade`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._engine.effects import Procedure, run_async, run_sync
from .._engine.recorded_management import REWIND_NAME, SET_DELAY_NAME, recorded_management_call
from ._fork import check_no_shard_key
from ._forms import async_form as _async_form
from ._forms import sync_form as _sync_form
from ._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from ._queue_names import warn_if_undeclared_queue
from ._timeops import rewind, set_delay

if TYPE_CHECKING:
    from .._engine.operations import Recorder
    from ._management import Management


class TimeOpsFacade:
    """`rewind_workflow` and `set_workflow_delay` (+ ``_async``), over the accessors `Facade`
    declares and each side provides."""

    def _facade_management(self) -> Management:
        raise NotImplementedError

    def _facade_enqueued(self, queue_name: str) -> None:
        raise NotImplementedError

    def _facade_handle_source(self) -> HandleSource:
        raise NotImplementedError

    def _facade_recorder(self) -> Recorder | None:
        return None

    # --- moving workflows in time (DBOS Transact 3.4) -----------------------------------------

    def rewind_workflow(
        self,
        workflow_id: str,
        *,
        start_step: int | None = None,
        application_version: str | None = None,
        queue_name: str | None = None,
        queue_partition_key: str | None = None,
        shard_key: str | None = None,
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
                shows it (counted from 1, as in DBOS Transact); None: the whole workflow.
                Past the last step: every step replays. 0 is taken too (ours; DBOS
                Transact refuses it): the first step of a workflow an earlier release
                numbered from 0 (docs/guides/upgrading.md).
            application_version: Run it on processes of this version (None: its own).
            queue_name: The queue it waits on (None: the internal queue, as in DBOS). A
                name no process has declared (no stored queue has it) is accepted, as in
                DBOS Transact 3.4, with a WARNING: the workflow waits until a process
                declares that queue.
            queue_partition_key: Its partition key on a partitioned `queue_name`.
            shard_key: DBOS Transact 3.4's sharding; accepted only as None.

        Called from a workflow body (`DBOS` only), the rewind is a recorded operation of
        that workflow (DBOS Transact 3.4's ``DBOS.rewindWorkflow``): a replay does not
        rewind again, and raises again the error the first execution got.

        Raises:
            DBOSNonExistentWorkflowError: no workflow has this ID.
            DBOSException: the workflow is ENQUEUED or PENDING (cancel it first), or
                `start_step` is not a step ID (an int >= 1, or 0 as above); a `shard_key`.
        """
        check_no_shard_key(shard_key, "rewind_workflow")
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
        shard_key: str | None = None,
    ) -> WorkflowHandleAsync[Any]:
        """`rewind_workflow` for async code; the handle is a `WorkflowHandleAsync`."""
        check_no_shard_key(shard_key, "rewind_workflow")
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
        # In a workflow body (`DBOS`), recorded as DBOS Transact 3.4's ``DBOS.rewindWorkflow``
        # with the queue the rewound workflow waits on, so a replay does not rewind again.
        recorder = self._facade_recorder()
        return recorded_management_call(
            recorder,
            REWIND_NAME,
            lambda: self._rewind_now(
                workflow_id, start_step, application_version, queue_name, queue_partition_key
            ),
        )

    def _rewind_now(
        self,
        workflow_id: str,
        start_step: int | None,
        application_version: str | None,
        queue_name: str | None,
        queue_partition_key: str | None,
    ) -> Procedure[str]:
        storage = self._facade_management().storage
        queue: str = yield from rewind(
            storage,
            workflow_id,
            start_step,
            application_version=application_version,
            queue_name=queue_name,
            queue_partition_key=queue_partition_key,
        )
        if queue_name is not None:
            # DBOS Transact 3.4 accepts any name; a queue no process declares would hold the
            # workflow silently, so say so (ours).
            context = f"rewind of workflow {workflow_id!r}"
            yield from warn_if_undeclared_queue(storage, queue_name, context, "the workflow")
        return queue

    def _set_workflow_delay(
        self,
        workflow_id: str,
        *,
        delay_seconds: float | None = None,
        delay_until_epoch_ms: int | None = None,
        shard_key: str | None = None,
    ) -> Procedure[bool]:
        """Change when a delayed workflow may start: `delay_seconds` from now, or at
        `delay_until_epoch_ms` (epoch milliseconds); give exactly one. A time in the past lets
        it start at once.

        As in DBOS Transact 3.4, only a delayed workflow changes: one enqueued with a delay
        (``SetEnqueueOptions(delay_seconds=...)``, a `DBOSClient` enqueue's ``delay_seconds``)
        whose delay has not passed yet. Any other workflow, or an unknown ID, is left as it
        is. Returns whether the workflow was delayed and so changed (ours: DBOS Transact
        returns None). Called from a workflow body (`DBOS` only), the change is a recorded
        operation of that workflow (DBOS Transact 3.4's ``DBOS.setWorkflowDelay``), and a
        replay returns the recorded answer.

        Raises:
            DBOSException: both or neither of `delay_seconds` and `delay_until_epoch_ms`,
                or a negative or non-number value; a `shard_key` (DBOS Transact 3.4's
                sharding: only None).
        """
        check_no_shard_key(shard_key, "set_workflow_delay")
        storage = self._facade_management().storage
        return recorded_management_call(
            self._facade_recorder(),
            SET_DELAY_NAME,
            lambda: set_delay(storage, workflow_id, delay_seconds, delay_until_epoch_ms),
        )

    set_workflow_delay = _sync_form(_set_workflow_delay)
    set_workflow_delay_async = _async_form(_set_workflow_delay)
