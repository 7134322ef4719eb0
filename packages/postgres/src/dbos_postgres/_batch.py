"""Creating workflows on Postgres (`SystemStorage.create_workflow` and `create_workflows`), a
base class of `PostgresStorage`. One workflow is one statement; a scheduler's tick adds the
check, in the same transaction, that its schedule is still active. A batch enqueue is one
statement over a JSON array of the rows, the way `send_many` stores a bulk send in one
statement over arrays, so that a producer with many tasks pays one round trip and one commit
for all of them."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from dbos.storage import (
    DBOSQueueDeduplicatedError,
    DBOSStorageError,
    DBOSWorkflowConflictIDError,
    NewWorkflow,
    ScheduleInactiveError,
    WorkflowInit,
    WorkflowRow,
    as_params,
)

from ._columns import workflow_init, workflow_inits
from ._host import StorageHost


class BatchWorkflows(StorageHost):
    """`create_workflow` and `create_workflows` (see `SystemStorage`)."""

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        raise NotImplementedError  # PostgresStorage's

    def create_workflow(self, workflow: NewWorkflow) -> WorkflowInit:
        """`SystemStorage.create_workflow` on Postgres: one statement (insert-or-keep and read).
        Raises `DBOSQueueDeduplicatedError` when an active task of the queue has the same
        deduplication ID, `ScheduleInactiveError` for a tick whose schedule is not active."""
        params = as_params(workflow)
        try:
            with self._connection() as connection:
                if workflow.schedule_id is None:
                    names, rows = self._lean["create_workflow"].rows(connection, params)
                    found = workflow_init(names, rows[0], workflow) if rows else None
                else:
                    found = self._create_tick(connection, workflow, params)
        except DBOSStorageError as exc:
            cause = exc.__cause__
            if (
                isinstance(cause, psycopg.errors.UniqueViolation)
                and cause.diag.constraint_name == "workflow_status_deduplication"
                and workflow.queue_name is not None
                and workflow.deduplication_id is not None
            ):
                raise DBOSQueueDeduplicatedError(
                    workflow.workflow_id, workflow.queue_name, workflow.deduplication_id
                ) from cause
            raise
        if found is not None:
            return found
        # A concurrent creator committed after this statement's snapshot was taken: the
        # insert saw the conflict but the select could not see the row. Read it now.
        row = self.get_workflow(workflow.workflow_id)
        if row is None:
            raise DBOSStorageError(
                f"workflow {workflow.workflow_id!r} was neither created nor found"
            )
        return WorkflowInit(created=False, row=row)

    def _create_tick(
        self, connection: psycopg.Connection[Any], workflow: NewWorkflow, params: dict[str, Any]
    ) -> WorkflowInit | None:
        """A scheduler's tick: its schedule share-locked while still stored under the planned
        ID and ACTIVE, then the insert, in one transaction. A pause or delete either committed
        first (the lock's re-check sees it: no tick) or waits for this insert to commit."""
        with connection.transaction():
            if connection.execute(self._queries["hold_active_schedule"], params).fetchone() is None:
                raise ScheduleInactiveError(str(workflow.schedule_name), workflow.workflow_id)
            names, rows = self._lean["create_workflow"].rows(connection, params)
            return workflow_init(names, rows[0], workflow) if rows else None

    def create_workflows(self, workflows: tuple[NewWorkflow, ...]) -> list[WorkflowInit]:
        """`SystemStorage.create_workflows` on Postgres: one statement. Raises
        `DBOSQueueDeduplicatedError` (found by a second query, on that error only) or
        `DBOSWorkflowConflictIDError`; either way nothing is stored."""
        if not workflows:
            return []
        batch = [{**as_params(w), "ord": i} for i, w in enumerate(workflows)]
        text = json.dumps(batch, separators=(",", ":"))
        try:
            with self._connection() as connection:
                cursor = connection.cursor(row_factory=workflow_inits)
                found = cursor.execute(
                    self._queries["create_workflows"], {"batch": text}, prepare=True
                ).fetchall()
        except DBOSStorageError as exc:
            cause = exc.__cause__
            if (
                isinstance(cause, psycopg.errors.UniqueViolation)
                and cause.diag.constraint_name == "workflow_status_deduplication"
            ):
                raise self._deduplicated(workflows) from cause
            raise
        by_id = {init.row.workflow_id: init for init in found}
        for workflow in workflows:  # a clash first: the statement then inserted nothing
            clash = by_id.get(workflow.workflow_id)
            if clash is not None and clash.row.name != workflow.name:
                raise DBOSWorkflowConflictIDError(
                    workflow.workflow_id, clash.row.name, workflow.name
                )
        inits: list[WorkflowInit] = []
        for workflow in workflows:
            init = by_id.get(workflow.workflow_id)
            if init is None:
                # A concurrent creator committed after the statement's snapshot: the insert
                # skipped the row, the select could not see it (as in create_workflow).
                row = self.get_workflow(workflow.workflow_id)
                if row is None:
                    raise DBOSStorageError(
                        f"workflow {workflow.workflow_id!r} was neither created nor found"
                    )
                init = WorkflowInit(created=False, row=row)
            if init.row.name != workflow.name:
                # The statement inserted nothing when it saw the clash; a clash it could not
                # see (a concurrent creator of that ID under another name) is reported too.
                raise DBOSWorkflowConflictIDError(
                    workflow.workflow_id, init.row.name, workflow.name
                )
            inits.append(init)
        return inits

    def _deduplicated(self, workflows: tuple[NewWorkflow, ...]) -> DBOSQueueDeduplicatedError:
        """The refusal naming the first workflow of the batch whose deduplication ID is held
        (the first one with a deduplication ID if the holder finished meanwhile)."""
        keyed = [w for w in workflows if w.queue_name is not None and w.deduplication_id]
        params: dict[str, Any] = {
            "queue_names": [w.queue_name for w in keyed],
            "deduplication_ids": [w.deduplication_id for w in keyed],
        }
        with self._connection() as connection:
            held = {
                (str(q), str(d))
                for q, d in connection.execute(
                    self._queries["select_deduplication_holders"], params
                ).fetchall()
            }
        first = next((w for w in keyed if (w.queue_name, w.deduplication_id) in held), keyed[0])
        assert first.queue_name is not None and first.deduplication_id is not None
        return DBOSQueueDeduplicatedError(
            first.workflow_id, first.queue_name, first.deduplication_id
        )
