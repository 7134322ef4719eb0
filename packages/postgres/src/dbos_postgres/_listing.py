"""The `list_workflows` statement, composed with psycopg.sql: identifiers are quoted by
psycopg and every value is a bound parameter."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from dbos._records import WorkflowQuery

_COLUMNS = (
    "workflow_id",
    "status",
    "name",
    "inputs",
    "output",
    "error",
    "executor_id",
    "application_version",
    "recovery_attempts",
    "max_recovery_attempts",
    "created_at",
    "updated_at",
    "parent_workflow_id",
    "queue_name",
)


def list_workflows_sql(schema: str, query: WorkflowQuery) -> tuple[sql.Composed, dict[str, Any]]:
    skipped = set()
    if not query.load_inputs:
        skipped.add("inputs")
    if not query.load_output:
        skipped.update({"output", "error"})
    columns = sql.SQL(", ").join(
        sql.SQL("NULL") if column in skipped else sql.Identifier(column) for column in _COLUMNS
    )
    clauses: list[sql.Composable] = []
    params: dict[str, Any] = {}

    def equal(column: str, value: object) -> None:
        if value is not None:
            clauses.append(
                sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
            )
            params[column] = value

    if query.workflow_ids is not None:
        clauses.append(sql.SQL("workflow_id = ANY(%(workflow_ids)s)"))
        params["workflow_ids"] = list(query.workflow_ids)
    if query.statuses is not None:
        clauses.append(sql.SQL("status = ANY(%(statuses)s)"))
        params["statuses"] = list(query.statuses)
    if query.workflow_id_prefix is not None:
        # left() comparison instead of LIKE: no wildcard escaping, exact and case-sensitive.
        clauses.append(sql.SQL("left(workflow_id, length(%(prefix)s)) = %(prefix)s"))
        params["prefix"] = query.workflow_id_prefix
    equal("name", query.name)
    equal("executor_id", query.executor_id)
    equal("application_version", query.application_version)
    equal("queue_name", query.queue_name)
    equal("parent_workflow_id", query.parent_workflow_id)
    if query.created_after_ms is not None:
        clauses.append(sql.SQL("created_at >= %(created_after)s"))
        params["created_after"] = query.created_after_ms
    if query.created_before_ms is not None:
        clauses.append(sql.SQL("created_at <= %(created_before)s"))
        params["created_before"] = query.created_before_ms

    order = sql.SQL("DESC" if query.sort_desc else "ASC")
    statement = sql.SQL("SELECT {columns} FROM {schema}.workflow_status").format(
        columns=columns, schema=sql.Identifier(schema)
    )
    if clauses:
        statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses)
    statement += sql.SQL(" ORDER BY created_at {order}, workflow_id {order}").format(order=order)
    if query.limit is not None:
        statement += sql.SQL(" LIMIT %(limit)s")
        params["limit"] = query.limit
    if query.offset is not None:
        statement += sql.SQL(" OFFSET %(offset)s")
        params["offset"] = query.offset
    return statement, params
