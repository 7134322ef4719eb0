"""The workflow row in Postgres: its columns, written once, and the row factories that build a
`WorkflowRow` from a result by column name.

Statements select ``{workflow_row}`` (see `_sql.queries`), which names each column after the
`WorkflowRow` field it fills, so a result row maps onto the record by name whatever else the
statement returns around it.
"""

from __future__ import annotations

from typing import Any

from psycopg.rows import class_row, kwargs_row

from dbos.storage import WorkflowInit, WorkflowRow

#: `WorkflowRow` field -> workflow_status column, in field order.
WORKFLOW_COLUMNS: dict[str, str] = {
    "workflow_id": "workflow_id",
    "status": "status",
    "name": "name",
    "inputs": "inputs",
    "output": "output",
    "error": "error",
    "executor_id": "executor_id",
    "application_version": "application_version",
    "recovery_attempts": "recovery_attempts",
    "max_recovery_attempts": "max_recovery_attempts",
    "created_at_ms": "created_at",
    "updated_at_ms": "updated_at",
    "parent_workflow_id": "parent_workflow_id",
    "queue_name": "queue_name",
    "priority": "priority",
    "deduplication_id": "deduplication_id",
    "queue_partition_key": "queue_partition_key",
    "started_at_ms": "started_at",
    "deadline_ms": "deadline_at",
}


def workflow_row_sql(skipped: frozenset[str] = frozenset()) -> str:
    """The select list of a workflow row, each column named after its field; the `skipped`
    fields are NULL (a listing that does not load payloads)."""
    return ", ".join(
        f"NULL AS {field}"
        if field in skipped
        else column
        if column == field
        else f"{column} AS {field}"
        for field, column in WORKFLOW_COLUMNS.items()
    )


#: Builds a `WorkflowRow` from a row that selects ``{workflow_row}`` and nothing else.
workflow_rows = class_row(WorkflowRow)


def _init(created: bool, **fields: Any) -> WorkflowInit:
    return WorkflowInit(created=created, row=WorkflowRow(**fields))


#: `create_workflow`'s row: ``created`` and ``{workflow_row}``.
workflow_inits = kwargs_row(_init)
