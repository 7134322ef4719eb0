"""`list_workflows` keyword arguments into a `WorkflowQuery` (pure; shared with the client)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .._base.errors import DBOSException
from .._base.ids import check_texts
from .._engine.starting import encode_attributes
from ..storage._records import WorkflowQuery, WorkflowStatusString

_VALID_STATUSES = frozenset(status.value for status in WorkflowStatusString)


def to_epoch_ms(value: datetime | str | int | float | None, field: str) -> int | None:
    """Accept a datetime, an ISO 8601 string (``Z`` allowed) or epoch milliseconds."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DBOSException(f"{field} must be a datetime, ISO 8601 string or epoch ms")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise DBOSException(f"{field} {value!r} is not an ISO 8601 date-time") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp() * 1000)
    raise DBOSException(f"{field} must be a datetime, ISO 8601 string or epoch ms")


def build_query(
    *,
    workflow_ids: list[str] | None = None,
    status: str | list[str] | None = None,
    start_time: datetime | str | int | None = None,
    end_time: datetime | str | int | None = None,
    name: str | None = None,
    app_version: str | None = None,
    executor_id: str | None = None,
    queue_name: str | None = None,
    workflow_id_prefix: str | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
    load_output: bool = True,
    attributes: dict[str, Any] | None = None,
) -> WorkflowQuery:
    """The `WorkflowQuery` for `list_workflows`' keyword arguments (the DBOS Transact
    signature), shared by `DBOS` and `DBOSClient`.

    Args:
        workflow_ids: Only these IDs.
        status: One status or several (`WorkflowStatusString` values).
        start_time: Created at or after: a datetime (naive means UTC), an ISO 8601 string
            (``Z`` allowed) or epoch milliseconds.
        end_time: Created at or before, in the same forms.
        name: Registered workflow name.
        app_version: Application version.
        executor_id: Executor that runs (or ran) the workflow.
        queue_name: Queue it was enqueued on.
        workflow_id_prefix: IDs starting with this.
        limit: At most this many rows (a non-negative int).
        offset: Skip this many rows first (a non-negative int).
        sort_desc: Newest first instead of oldest first.
        load_input: Read and decode the inputs (False leaves `input` None, and is cheaper).
        load_output: Read and decode outputs and errors.
        attributes: Workflows whose attributes contain these (DBOS semantics, Postgres's
            ``jsonb @>`` on every backend): each key present with an equal value, a nested
            dict matching the keys it gives, a list every element given; ``{}`` matches
            every workflow that has attributes. (DBOS Transact refuses this filter on
            SQLite; we answer it there too.)

    Raises:
        DBOSException: an unknown status, a negative or non-int `limit`/`offset`, a time
            that is none of the accepted forms, or `attributes` that are not a dict of JSON
            values.
    """
    statuses: tuple[str, ...] | None = None
    if status is not None:
        statuses = (status,) if isinstance(status, str) else tuple(status)
        unknown = [s for s in statuses if s not in _VALID_STATUSES]
        if unknown:
            raise DBOSException(
                f"unknown workflow status {', '.join(map(repr, unknown))}; valid: "
                f"{', '.join(sorted(_VALID_STATUSES))}"
            )
    check_texts(
        (
            ("workflow_ids", workflow_ids),
            ("name", name),
            ("app_version", app_version),
            ("executor_id", executor_id),
            ("queue_name", queue_name),
            ("workflow_id_prefix", workflow_id_prefix),
        )
    )
    for field, number in (("limit", limit), ("offset", offset)):
        if number is not None and (type(number) is not int or number < 0):
            raise DBOSException(f"{field} must be a non-negative integer, got {number!r}")
    return WorkflowQuery(
        workflow_ids=tuple(workflow_ids) if workflow_ids is not None else None,
        workflow_id_prefix=workflow_id_prefix,
        statuses=statuses,
        name=name,
        executor_id=executor_id,
        application_version=app_version,
        queue_name=queue_name,
        created_after_ms=to_epoch_ms(start_time, "start_time"),
        created_before_ms=to_epoch_ms(end_time, "end_time"),
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        load_inputs=load_input,
        load_output=load_output,
        attributes_contain=encode_attributes(attributes, "list_workflows' attributes filter"),
    )


def build_queued_query(
    *,
    queue_name: str | None = None,
    status: str | list[str] | None = None,
    name: str | None = None,
    start_time: datetime | str | int | None = None,
    end_time: datetime | str | int | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
) -> WorkflowQuery:
    """`list_queued_workflows` keyword arguments: tasks of queues, ENQUEUED or PENDING unless
    `status` says otherwise."""
    query = build_query(
        status=status if status is not None else ["ENQUEUED", "PENDING"],
        queue_name=queue_name,
        name=name,
        start_time=start_time,
        end_time=end_time,
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        load_input=load_input,
        load_output=False,
    )
    return replace(query, queued_only=True)
