"""The `list_workflows` statement in Postgres's dialect, composed with psycopg.sql: the filters'
columns are quoted by psycopg, the select list is _columns.py's, and every value is a bound
parameter."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from dbos.storage import WorkflowQuery, load_fragments, query_filters, skipped_fields

from ._columns import WORKFLOW_COLUMNS, workflow_row_sql

_COMPARISONS = {"eq": "=", "gte": ">=", "lte": "<="}

#: `WorkflowQuery.stranded`'s condition, shared with `count_stranded_workflows` (queries.sql).
STRANDED = sql.SQL(load_fragments("dbos_postgres", "sql/queries.sql")["stranded"])


def _stranded(schema: str) -> sql.Composed:
    return STRANDED.format(schema=sql.Identifier(schema))


def list_workflows_sql(schema: str, query: WorkflowQuery) -> tuple[sql.Composed, dict[str, Any]]:
    # Column names come from the fixed list in _columns.py, never from the query.
    columns = sql.SQL(workflow_row_sql(skipped_fields(query)))
    clauses: list[sql.Composable] = []
    params: dict[str, Any] = {}
    for index, condition in enumerate(query_filters(query)):
        name = f"p{index}"
        column = sql.Identifier(WORKFLOW_COLUMNS[condition.field])
        value = sql.Placeholder(name)
        if condition.kind == "in" and len(condition.value) == 1:
            # One value as "=", not "= ANY": Postgres 15 takes the order of an index whose
            # leading column is compared with "=" (status, created_at), so a listing by one
            # status reads only the rows it returns; with ANY it sorts every matching row.
            clauses.append(sql.SQL("{} = {}").format(column, value))
            params[name] = condition.value[0]
        elif condition.kind == "in":
            clauses.append(sql.SQL("{} = ANY({})").format(column, value))
            params[name] = list(condition.value)
        elif condition.kind == "in_or_null":
            clauses.append(sql.SQL("({} = ANY({}) OR {} IS NULL)").format(column, value, column))
            params[name] = list(condition.value)
        elif condition.kind in ("not_null", "null"):
            test = "IS NOT NULL" if condition.kind == "not_null" else "IS NULL"
            clauses.append(sql.SQL("{} " + test).format(column))
        elif condition.kind == "contains":
            # jsonb @>: what DBOS Transact's attribute filter uses, served by the GIN index.
            clauses.append(sql.SQL("{} @> {}::jsonb").format(column, value))
            params[name] = condition.value
        elif condition.kind == "prefix":
            clauses.append(sql.SQL("left({}, length({})) = {}").format(column, value, value))
            params[name] = condition.value
        elif condition.kind == "any_prefix":
            # Compared exactly, like "prefix": no LIKE, so % and _ in a prefix are literal.
            any_prefix = (
                "EXISTS (SELECT 1 FROM unnest({}::text[]) AS p WHERE left({}, length(p)) = p)"
            )
            clauses.append(sql.SQL(any_prefix).format(value, column))
            params[name] = list(condition.value)
        else:
            operator = sql.SQL(_COMPARISONS[condition.kind])
            clauses.append(sql.SQL("{} {} {}").format(column, operator, value))
            params[name] = condition.value
    if query.stranded:
        clauses.append(_stranded(schema))
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
