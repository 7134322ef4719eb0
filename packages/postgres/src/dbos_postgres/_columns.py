"""The workflow row in Postgres: its columns, written once, and the row factories that build a
`WorkflowRow` from a result by column name.

Statements select ``{workflow_row}`` (see `_sql.queries`), which names each column after the
`WorkflowRow` field it fills, so a result row maps onto the record by name whatever else the
statement returns around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from psycopg import Cursor
from psycopg.rows import RowMaker

from dbos.storage import NewWorkflow, WorkflowInit, WorkflowRow, WorkflowStatusString

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

#: Columns selected through an expression: jsonb comes back as its JSON text, as the record
#: carries it (psycopg would otherwise decode it).
_SELECTED_AS: dict[str, str] = {"attributes": "attributes::text"}


def workflow_row_sql(skipped: frozenset[str] = frozenset()) -> str:
    """The select list of a workflow row, each column named after its field; the `skipped`
    fields are NULL (a listing that does not load payloads)."""
    return ", ".join(
        f"NULL AS {field}"
        if field in skipped
        else f"{_SELECTED_AS[field]} AS {field}"
        if field in _SELECTED_AS
        else column
        if column == field
        else f"{column} AS {field}"
        for field, column in WORKFLOW_COLUMNS.items()
    )


def _names(cursor: Cursor[Any]) -> tuple[bytes, ...]:
    result = cursor.pgresult
    if result is None:
        return ()
    fname = result.fname
    return tuple([fname(index) or b"" for index in range(result.nfields)])


@lru_cache(maxsize=64)
def _positions(names: tuple[bytes, ...]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """Where each `WorkflowRow` field is among a result's columns, worked out once per result
    shape: psycopg's `class_row` builds a dict and calls with keywords for every row, which
    cost 15-20 us a call on the hot path (measured against positional access)."""
    decoded = [name.decode() for name in names]
    return itemgetter(*(decoded.index(field) for field in WORKFLOW_COLUMNS))


def workflow_rows(cursor: Cursor[Any]) -> RowMaker[WorkflowRow]:
    """Row factory: a `WorkflowRow` from each row of a statement that selects
    ``{workflow_row}`` (other columns are ignored)."""
    names = _names(cursor)
    pick = _positions(names)
    if b"has_operations" not in names:

        def make(values: Sequence[Any]) -> WorkflowRow:
            return WorkflowRow(*pick(values))

        return make
    ran = names.index(b"has_operations")

    def make_claimed(values: Sequence[Any]) -> WorkflowRow:
        # has_operations is the field after the stored columns (see WorkflowRow).
        return WorkflowRow(*(*pick(values), bool(values[ran])))

    return make_claimed


def workflow_inits(cursor: Cursor[Any]) -> RowMaker[WorkflowInit]:
    """Row factory for `create_workflow`: ``created`` and ``{workflow_row}``."""
    names = _names(cursor)
    pick, created = _positions(names), names.index(b"created")

    def make(values: Sequence[Any]) -> WorkflowInit:
        return WorkflowInit(created=bool(values[created]), row=WorkflowRow(*pick(values)))

    return make


#: The fields create_workflow's insert returns (the server decides them: a trigger sets
#: completed_at, jsonb normalizes the attributes' text); `inserted_row` builds the rest.
_INSERT_RETURNS = ("completed_at_ms", "attributes")


def inserted_row_sql() -> str:
    """The select list of a row create_workflow inserted: its insert's returned columns
    (`_INSERT_RETURNS`), NULL for every other field, in ``{workflow_row}``'s order."""
    return ", ".join(
        f"inserted.{field}" if field in _INSERT_RETURNS else "NULL" for field in WORKFLOW_COLUMNS
    )


def workflow_init(
    names: tuple[bytes, ...], values: Sequence[Any], workflow: NewWorkflow
) -> WorkflowInit:
    """`create_workflow`'s result, from its row's column names and decoded values (see
    `_lean`): the stored row as selected, or, for a row it inserted, the row built from
    `workflow` and the two columns the insert returned."""
    fields = _positions(names)(values)
    if not values[names.index(b"created")]:
        return WorkflowInit(created=False, row=WorkflowRow(*fields))
    completed_at_ms = fields[_COMPLETED_AT]
    return WorkflowInit(created=True, row=inserted_row(workflow, completed_at_ms, fields[_ATTRS]))


_COMPLETED_AT = list(WORKFLOW_COLUMNS).index("completed_at_ms")
_ATTRS = list(WORKFLOW_COLUMNS).index("attributes")
_PENDING = WorkflowStatusString.PENDING.value


def inserted_row(
    workflow: NewWorkflow, completed_at_ms: int | None, attributes: str | None
) -> WorkflowRow:
    """The row create_workflow's insert stores for `workflow`, as `get_workflow` would read
    it (the conformance suite pins the two equal): the insert's values, the columns it leaves
    to their defaults, and the two the server decided."""
    started = workflow.queue_name is not None and workflow.status == _PENDING
    return WorkflowRow(
        workflow_id=workflow.workflow_id,
        status=workflow.status,
        name=workflow.name,
        inputs=workflow.inputs,
        output=None,
        error=None,
        executor_id=workflow.executor_id,
        application_version=workflow.application_version,
        recovery_attempts=1,
        max_recovery_attempts=workflow.max_recovery_attempts,
        created_at_ms=workflow.created_at_ms,
        updated_at_ms=workflow.created_at_ms,
        parent_workflow_id=workflow.parent_workflow_id,
        queue_name=workflow.queue_name,
        priority=workflow.priority,
        deduplication_id=workflow.deduplication_id,
        queue_partition_key=workflow.queue_partition_key,
        started_at_ms=workflow.created_at_ms if started else None,
        deadline_ms=workflow.deadline_ms,
        owner_instance=workflow.owner_instance,
        class_name=workflow.class_name,
        config_name=workflow.config_name,
        completed_at_ms=completed_at_ms,
        forked_from=None,
        schedule_name=workflow.schedule_name,
        attributes=attributes,
        serialization=workflow.serialization,
        authenticated_user=workflow.authenticated_user,
        authenticated_roles=workflow.authenticated_roles,
        assumed_role=workflow.assumed_role,
        first_function_id=workflow.first_function_id,
        delay_until_ms=workflow.delay_until_ms,
        timeout_ms=workflow.timeout_ms,
        was_forked_from=False,
        application_name=workflow.application_name,
    )


def finished_and_claimed(
    cursor: Cursor[Any],
) -> RowMaker[tuple[list[str | None], WorkflowRow | None]]:
    """Row factory for `finish_and_claim`: each row's ``finished_statuses`` and its claimed
    workflow (None in the one row of a batch that claimed nothing)."""
    names = _names(cursor)
    pick, statuses = _positions(names), names.index(b"finished_statuses")
    ran = names.index(b"has_operations")

    def make(values: Sequence[Any]) -> tuple[list[str | None], WorkflowRow | None]:
        fields = pick(values)
        if fields[0] is None:
            return values[statuses], None
        return values[statuses], WorkflowRow(*(*fields, bool(values[ran])))

    return make
