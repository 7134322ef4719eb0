"""The `list_workflows` statement: a fixed column list and WHERE clauses chosen by the query's
filters. Only placeholders are spliced into the text; every value is a bound parameter."""

from __future__ import annotations

from typing import Any

from dbos._records import WorkflowQuery

_PAYLOAD_INPUTS = "inputs"
_PAYLOAD_OUTPUT = ("output", "error")


def list_workflows_sql(query: WorkflowQuery) -> tuple[str, dict[str, Any]]:
    inputs = _PAYLOAD_INPUTS if query.load_inputs else "NULL"
    output, error = _PAYLOAD_OUTPUT if query.load_output else ("NULL", "NULL")
    clauses: list[str] = []
    params: dict[str, Any] = {}

    def equal(column: str, value: object) -> None:
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value

    if query.workflow_ids is not None:
        names = [f":id{index}" for index in range(len(query.workflow_ids))]
        clauses.append(f"workflow_id IN ({', '.join(names) or 'NULL'})")
        params.update(dict(zip([n[1:] for n in names], query.workflow_ids, strict=True)))
    if query.statuses is not None:
        names = [f":status{index}" for index in range(len(query.statuses))]
        clauses.append(f"status IN ({', '.join(names) or 'NULL'})")
        params.update(dict(zip([n[1:] for n in names], query.statuses, strict=True)))
    if query.workflow_id_prefix is not None:
        # substr comparison instead of LIKE: no wildcard escaping, exact and case-sensitive.
        clauses.append("substr(workflow_id, 1, length(:prefix)) = :prefix")
        params["prefix"] = query.workflow_id_prefix
    equal("name", query.name)
    equal("executor_id", query.executor_id)
    equal("application_version", query.application_version)
    equal("queue_name", query.queue_name)
    equal("parent_workflow_id", query.parent_workflow_id)
    if query.created_after_ms is not None:
        clauses.append("created_at >= :created_after")
        params["created_after"] = query.created_after_ms
    if query.created_before_ms is not None:
        clauses.append("created_at <= :created_before")
        params["created_before"] = query.created_before_ms

    order = "DESC" if query.sort_desc else "ASC"
    sql = (
        "SELECT workflow_id, status, name, "
        f"{inputs}, {output}, {error}, executor_id, application_version, recovery_attempts, "
        "max_recovery_attempts, created_at, updated_at, parent_workflow_id, queue_name "
        "FROM workflow_status"
        + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        + f" ORDER BY created_at {order}, workflow_id {order}"
    )
    if query.limit is not None or query.offset is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params["limit"] = -1 if query.limit is None else query.limit
        params["offset"] = query.offset or 0
    return sql, params
