"""A batch enqueue on SQLite (`SystemStorage.create_workflows`), a base class of
`SQLiteStorage`: every row in one ``BEGIN IMMEDIATE`` transaction, so a producer with many
tasks pays one commit (one fsync) for all of them."""

from __future__ import annotations

import sqlite3
from typing import Any

from dbos.storage import (
    DBOSQueueDeduplicatedError,
    DBOSStorageError,
    DBOSWorkflowConflictIDError,
    NewWorkflow,
    WorkflowInit,
    WorkflowRow,
    as_params,
)

from ._host import StorageHost


class BatchWorkflows(StorageHost):
    """`create_workflows` (see `SystemStorage`)."""

    def _select_workflow(
        self, connection: sqlite3.Connection, workflow_id: str
    ) -> WorkflowRow | None:
        raise NotImplementedError  # SQLiteStorage's

    def _translate(self, exc: sqlite3.Error) -> DBOSStorageError:
        raise NotImplementedError  # SQLiteStorage's

    def _insert_workflow(
        self, connection: sqlite3.Connection, workflow: NewWorkflow, params: dict[str, Any]
    ) -> bool:
        """Insert `workflow` unless its ID is taken (True if inserted), inside the caller's
        transaction. Raises `DBOSQueueDeduplicatedError` when an active task of its queue
        holds its deduplication ID, else the storage error."""
        try:
            return bool(self._run(connection, "insert_workflow", params).rowcount == 1)
        except sqlite3.IntegrityError as exc:
            if workflow.deduplication_id is not None and workflow.queue_name is not None:
                raise DBOSQueueDeduplicatedError(
                    workflow.workflow_id, workflow.queue_name, workflow.deduplication_id
                ) from exc
            raise self._translate(exc) from exc

    def create_workflows(self, workflows: tuple[NewWorkflow, ...]) -> list[WorkflowInit]:
        """`SystemStorage.create_workflows` on SQLite: one transaction, rolled back (nothing
        stored) on `DBOSQueueDeduplicatedError` or `DBOSWorkflowConflictIDError`."""
        if not workflows:
            return []
        inits: list[WorkflowInit] = []
        with self._transaction() as connection:
            for workflow in workflows:
                created = self._insert_workflow(connection, workflow, as_params(workflow))
                row = self._select_workflow(connection, workflow.workflow_id)
                assert row is not None
                if row.name != workflow.name:  # raised inside: the transaction rolls back
                    raise DBOSWorkflowConflictIDError(workflow.workflow_id, row.name, workflow.name)
                inits.append(WorkflowInit(created=created, row=row))
        return inits
