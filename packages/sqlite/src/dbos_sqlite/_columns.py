"""The workflow row in SQLite: its columns, written once, and the row factory that builds a
`WorkflowRow` from a result by column name.

Statements select ``{workflow_row}`` (replaced when sql/queries.sql is loaded), which names each
column after the `WorkflowRow` field it fills.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from dbos.storage import WorkflowRow

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
    "owner_instance": "owner_instance",
    "class_name": "class_name",
    "config_name": "config_name",
    "completed_at_ms": "completed_at",
    "forked_from": "forked_from",
    "schedule_name": "schedule_name",
    "attributes": "attributes",
    "serialization": "serialization",
    "authenticated_user": "authenticated_user",
    "authenticated_roles": "authenticated_roles",
    "assumed_role": "assumed_role",
    "first_function_id": "first_function_id",
    "delay_until_ms": "delay_until",
    "timeout_ms": "workflow_timeout_ms",
    "was_forked_from": "was_forked_from",
    "application_name": "application_name",
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


def with_workflow_row(queries: dict[str, str]) -> dict[str, str]:
    """`queries` with ``{workflow_row}`` replaced by the select list."""
    select_list = workflow_row_sql()
    return {name: text.replace("{workflow_row}", select_list) for name, text in queries.items()}


def workflow_row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> WorkflowRow:
    """A cursor row factory: the row of a statement that selects ``{workflow_row}``."""
    fields = {column[0]: value for column, value in zip(cursor.description, values, strict=True)}
    # SQLite keeps booleans as 0/1 integers.
    fields["was_forked_from"] = bool(fields.get("was_forked_from"))
    return WorkflowRow(**fields)
