"""The `list_workflows` statement in SQLite's dialect. Only column names from a fixed list and
placeholders are spliced into the text; every value is a bound parameter."""

from __future__ import annotations

import time
from typing import Any

from dbos.storage import WorkflowQuery, load_fragments, query_filters, skipped_fields

from ._columns import WORKFLOW_COLUMNS, workflow_row_sql

#: The SQL function (registered on every connection) that decides ``contains`` filters.
JSON_CONTAINS_SQL = "dbos_json_contains"

_COMPARISONS = {"eq": "=", "gte": ">=", "lte": "<="}

#: `WorkflowQuery.stranded`'s condition (at ``:stranded_now_ms``), shared with
#: `count_stranded_workflows` (queries.sql).
STRANDED = load_fragments("dbos_sqlite", "sql/queries.sql")["stranded"]


def list_workflows_sql(query: WorkflowQuery) -> tuple[str, dict[str, Any]]:
    columns = workflow_row_sql(skipped_fields(query))
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for index, condition in enumerate(query_filters(query)):
        name, column = f"p{index}", WORKFLOW_COLUMNS[condition.field]
        if condition.kind == "in":
            names = [f"{name}_{n}" for n in range(len(condition.value))]
            params.update(zip(names, condition.value, strict=True))
            placeholders = ", ".join(f":{n}" for n in names) or "NULL"
            clauses.append(f"{column} IN ({placeholders})")
        elif condition.kind == "in_or_null":
            names = [f"{name}_{n}" for n in range(len(condition.value))]
            params.update(zip(names, condition.value, strict=True))
            placeholders = ", ".join(f":{n}" for n in names)
            clauses.append(f"({column} IN ({placeholders}) OR {column} IS NULL)")
        elif condition.kind in ("not_null", "null"):
            clauses.append(f"{column} IS {'NOT NULL' if condition.kind == 'not_null' else 'NULL'}")
        elif condition.kind == "contains":
            # jsonb @>'s meaning, from the function every connection registers (_storage.py).
            clauses.append(f"{JSON_CONTAINS_SQL}({column}, :{name})")
            params[name] = condition.value
        elif condition.kind == "prefix":
            clauses.append(f"substr({column}, 1, length(:{name})) = :{name}")
            params[name] = condition.value
        elif condition.kind == "any_prefix":
            names = [f"{name}_{n}" for n in range(len(condition.value))]
            params.update(zip(names, condition.value, strict=True))
            tests = (f"substr({column}, 1, length(:{n})) = :{n}" for n in names)
            clauses.append(f"({' OR '.join(tests)})")
        else:
            clauses.append(f"{column} {_COMPARISONS[condition.kind]} :{name}")
            params[name] = condition.value
    if query.stranded:
        # Leases are judged by this host's clock, as takeovers on SQLite judge them.
        clauses.append(STRANDED)
        params["stranded_now_ms"] = int(time.time() * 1000)
    order = "DESC" if query.sort_desc else "ASC"
    sql = f"SELECT {columns} FROM workflow_status"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY created_at {order}, workflow_id {order}"
    if query.limit is not None or query.offset is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params["limit"] = -1 if query.limit is None else query.limit
        params["offset"] = query.offset or 0
    return sql, params
