"""`list_workflows` keyword arguments into a `WorkflowQuery` (pure; shared with the client)."""

from __future__ import annotations

from collections.abc import Sequence
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


def _one_or_many(field: str, value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    """A filter given as one string or a list of them (DBOS Transact takes either): a string
    stays one, a list or tuple becomes a tuple (any of them)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise DBOSException(f"{field} must be a string or a list of strings, got {value!r}")


def _flag(field: str, value: bool | None) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise DBOSException(f"{field} must be True, False or None, got {value!r}")
    return value


def build_query(
    *,
    workflow_ids: list[str] | None = None,
    status: str | list[str] | None = None,
    start_time: datetime | str | int | None = None,
    end_time: datetime | str | int | None = None,
    name: str | list[str] | None = None,
    app_version: str | list[str] | None = None,
    executor_id: str | list[str] | None = None,
    queue_name: str | list[str] | None = None,
    workflow_id_prefix: str | list[str] | None = None,
    parent_workflow_id: str | list[str] | None = None,
    has_parent: bool | None = None,
    forked_from: str | list[str] | None = None,
    is_fork: bool | None = None,
    schedule_name: str | list[str] | None = None,
    user: str | list[str] | None = None,
    completed_after: datetime | str | int | None = None,
    completed_before: datetime | str | int | None = None,
    limit: int | None = None,
    offset: int | None = None,
    sort_desc: bool = False,
    load_input: bool = True,
    load_output: bool = True,
    stranded: bool = False,
    attributes: dict[str, Any] | None = None,
    dequeued_after: datetime | str | int | None = None,
    dequeued_before: datetime | str | int | None = None,
    was_forked_from: bool | None = None,
    application_name: str | list[str] | None = None,
    queues_only: bool = False,
) -> WorkflowQuery:
    """The `WorkflowQuery` for `list_workflows`' keyword arguments (the DBOS Transact 3.4
    signature, as far as this library stores what they filter on, and our `stranded`), shared
    by `DBOS` and `DBOSClient`.

    Every filter given must hold (AND). A filter that takes a list matches any of its
    values (OR); an empty list matches nothing (DBOS Transact ignores an empty list).

    Args:
        workflow_ids: Only these IDs.
        status: One status or several (`WorkflowStatusString` values).
        start_time: Created at or after: a datetime (naive means UTC), an ISO 8601 string
            (``Z`` allowed) or epoch milliseconds.
        end_time: Created at or before, in the same forms.
        name: Registered workflow name, or a list of them.
        app_version: Application version, or a list.
        executor_id: Executor that runs (or ran) the workflow, or a list.
        queue_name: Queue it was enqueued on, or a list.
        workflow_id_prefix: IDs starting with this (compared exactly, no wildcards), or with
            any prefix of a list.
        parent_workflow_id: Children of this workflow (or of any in a list).
        has_parent: True: child workflows only; False: top-level workflows only.
        forked_from: Forks of this workflow (or of any in a list).
        is_fork: True: forks only; False: no forks.
        schedule_name: Workflows run by this schedule (or any in a list).
        user: Workflows run as this authenticated user (or any in a list; see
            `DBOSContextSetAuth`).
        completed_after: Reached a terminal status at or after this time (forms as
            `start_time`); unfinished workflows never match.
        completed_before: Reached a terminal status at or before this time.
        limit: At most this many rows (a non-negative int).
        offset: Skip this many rows first (a non-negative int).
        sort_desc: Newest first instead of oldest first.
        load_input: Read and decode the inputs (False leaves `input` None, and is cheaper).
        load_output: Read and decode outputs and errors.
        stranded: Only stranded workflows (ours): PENDING or ENQUEUED ones whose application
            version no live process serves (see `WorkflowQuery.stranded`).
        attributes: Workflows whose attributes contain these (DBOS semantics, Postgres's
            ``jsonb @>`` on every backend): each key present with an equal value, a nested
            dict matching the keys it gives, a list every element given; ``{}`` matches
            every workflow that has attributes. (DBOS Transact refuses this filter on
            SQLite; we answer it there too.)
        dequeued_after: Taken from its queue by a worker at or after this time (forms as
            `start_time`; `WorkflowStatus.dequeued_at`); workflows never queued, and tasks
            still ENQUEUED, never match (DBOS semantics).
        dequeued_before: Taken from its queue at or before this time.
        was_forked_from: True: only workflows some fork was made from; False: only those
            none was (DBOS semantics).
        application_name: Workflows of this application (or any in a list), and those with
            no application name, which DBOS Transact 3.4 treats as every application's
            (DBOS semantics; ours: workflows stored before the migration that added the
            name have none, so they match too).
        queues_only: Only workflows enqueued on a queue (any status; DBOS semantics).

    Raises:
        DBOSException: an unknown status, a negative or non-int `limit`/`offset`, a time
            that is none of the accepted forms, a filter that is neither a string nor a list
            of strings, a `has_parent`/`is_fork`/`stranded` that is not a bool, or
            `attributes` that are not a dict of JSON values.
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
    texts = {
        "name": _one_or_many("name", name),
        "app_version": _one_or_many("app_version", app_version),
        "executor_id": _one_or_many("executor_id", executor_id),
        "queue_name": _one_or_many("queue_name", queue_name),
        "workflow_id_prefix": _one_or_many("workflow_id_prefix", workflow_id_prefix),
        "parent_workflow_id": _one_or_many("parent_workflow_id", parent_workflow_id),
        "forked_from": _one_or_many("forked_from", forked_from),
        "schedule_name": _one_or_many("schedule_name", schedule_name),
        "user": _one_or_many("user", user),
        "application_name": _one_or_many("application_name", application_name),
    }
    check_texts((("workflow_ids", workflow_ids), *texts.items()))
    for field, number in (("limit", limit), ("offset", offset)):
        if number is not None and (type(number) is not int or number < 0):
            raise DBOSException(f"{field} must be a non-negative integer, got {number!r}")
    for flag, value in (("stranded", stranded), ("queues_only", queues_only)):
        if not isinstance(value, bool):
            raise DBOSException(f"{flag} must be True or False, got {value!r}")
    return WorkflowQuery(
        workflow_ids=tuple(workflow_ids) if workflow_ids is not None else None,
        workflow_id_prefix=texts["workflow_id_prefix"],
        statuses=statuses,
        name=texts["name"],
        executor_id=texts["executor_id"],
        application_version=texts["app_version"],
        queue_name=texts["queue_name"],
        parent_workflow_id=texts["parent_workflow_id"],
        created_after_ms=to_epoch_ms(start_time, "start_time"),
        created_before_ms=to_epoch_ms(end_time, "end_time"),
        forked_from=texts["forked_from"],
        schedule_name=texts["schedule_name"],
        authenticated_user=texts["user"],
        has_parent=_flag("has_parent", has_parent),
        is_fork=_flag("is_fork", is_fork),
        completed_after_ms=to_epoch_ms(completed_after, "completed_after"),
        completed_before_ms=to_epoch_ms(completed_before, "completed_before"),
        limit=limit,
        offset=offset,
        sort_desc=sort_desc,
        load_inputs=load_input,
        load_output=load_output,
        stranded=stranded,
        attributes_contain=encode_attributes(attributes, "list_workflows' attributes filter"),
        dequeued_after_ms=to_epoch_ms(dequeued_after, "dequeued_after"),
        dequeued_before_ms=to_epoch_ms(dequeued_before, "dequeued_before"),
        was_forked_from=_flag("was_forked_from", was_forked_from),
        application_name=texts["application_name"],
        queued_only=queues_only,
    )


def build_queued_query(*, status: str | list[str] | None = None, **filters: Any) -> WorkflowQuery:
    """`list_queued_workflows` keyword arguments: tasks of queues (workflows enqueued on
    one), ENQUEUED or PENDING unless `status` says otherwise; `filters` are `build_query`'s
    (DBOS Transact 3.4's list_queued_workflows takes list_workflows' filters but
    `queues_only`, `was_forked_from` and `schedule_name`).

    Raises:
        DBOSException: as `build_query`.
        TypeError: a keyword `build_query` does not take.
    """
    query = build_query(status=status if status is not None else ["ENQUEUED", "PENDING"], **filters)
    return replace(query, queued_only=True)
