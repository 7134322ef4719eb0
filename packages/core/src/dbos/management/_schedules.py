"""Stored schedules (issue 15; DBOS Transact 3.4's schedule API): the records `DBOS` and
`DBOSClient` store, and the procedures both run over a `SystemStorage`.

A schedule names a workflow, a cron expression (read in an optional IANA time zone) and a
context value. Every process of its application polls the stored schedules and starts each
tick of the active ones once across all processes: the tick's workflow ID is derived from the
schedule's name and the tick time, and starting a workflow is an insert-or-get by ID. The
same IDs make a backfill idempotent: a tick that ran (or was backfilled) is not run again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, TypedDict

from .._base.errors import DBOSConfigError, DBOSException
from .._base.serialization import Codec
from .._engine.cron import next_tick, parse_cron
from .._engine.effects import Blocking, Procedure
from .._engine.schedule_ticks import cron_of, enqueue_tick, tick_workflow_id
from ..storage._protocol import SystemStorage
from ..storage._schedule_records import (
    SCHEDULE_ACTIVE,
    SCHEDULE_PAUSED,
    ScheduleQuery,
    ScheduleRecord,
)

#: How many ticks one backfill may start (a guard against a mistyped interval).
MAX_BACKFILL_TICKS = 100_000


class WorkflowSchedule(TypedDict):
    """A stored schedule as `list_schedules` and `get_schedule` return it, with DBOS
    Transact 3.4's keys: its random ID and unique name; the workflow (its registered name,
    and its class's registered name for a class or static method, else None); the cron
    expression; its status, ``"ACTIVE"`` or ``"PAUSED"``; the context value each run
    receives as its second argument; the ISO 8601 time of the latest tick started (None:
    never); whether missed ticks are backfilled when a process starts; the IANA time zone
    its expression is read in (None: UTC); the queue its runs are enqueued on (None: DBOS's
    internal queue); the application whose processes run it (None: every application's);
    and the shard key (always None: sharded system databases are not provided)."""

    schedule_id: str
    schedule_name: str
    workflow_name: str
    workflow_class_name: str | None
    schedule: str
    status: str
    context: Any
    last_fired_at: str | None
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None
    application_name: str | None
    shard_key: str | None


class ClientScheduleInput(TypedDict, total=False):
    """One schedule for `DBOSClient.apply_schedules` (DBOS Transact 3.4's keys), which has
    no function objects: `schedule_name`, `workflow_name` and `schedule` are required; the
    other keys are `DBOSClient.create_schedule`'s optional arguments."""

    schedule_name: str
    workflow_name: str
    workflow_class_name: str | None
    schedule: str
    context: Any
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None
    application_name: str | None
    shard_key: str | None


def schedule_record(
    codec: Codec,
    *,
    schedule_name: object,
    workflow_name: str,
    workflow_class_name: str | None,
    schedule: object,
    context: Any,
    automatic_backfill: bool,
    cron_timezone: object,
    queue_name: object,
    application_name: str | None,
    missed_ticks: str | None = None,
) -> ScheduleRecord:
    """A new schedule's record, checked. Raises, naming the bad value, `DBOSConfigError` for
    a cron expression or zone that is not valid (a non-string one included, as
    `parse_cron` does), `DBOSException` for an empty or non-string name or queue, or a
    context the serializer cannot store."""
    if not isinstance(schedule_name, str) or not schedule_name:
        raise DBOSException(f"a schedule name must be a non-empty string, got {schedule_name!r}")
    if not isinstance(workflow_name, str) or not workflow_name:
        raise DBOSException(f"a workflow name must be a non-empty string, got {workflow_name!r}")
    if queue_name is not None and (not isinstance(queue_name, str) or not queue_name):
        raise DBOSException(f"a queue name must be a non-empty string, got {queue_name!r}")
    if not isinstance(schedule, str):
        raise DBOSConfigError(f"a cron expression must be a string, got {schedule!r}")
    zone = cron_timezone if isinstance(cron_timezone, str) or cron_timezone is None else None
    if zone is None and cron_timezone is not None:
        raise DBOSConfigError(f"a time zone must be an IANA zone name, got {cron_timezone!r}")
    parse_cron(schedule, zone)
    return ScheduleRecord(
        schedule_id=str(uuid.uuid4()),
        schedule_name=schedule_name,
        workflow_name=workflow_name,
        workflow_class_name=workflow_class_name,
        schedule=schedule,
        status=SCHEDULE_ACTIVE,
        context=codec.encode_value(context, f"the context of schedule {schedule_name!r}"),
        automatic_backfill=bool(automatic_backfill),
        cron_timezone=zone,
        queue_name=queue_name,
        application_name=application_name,
        missed_ticks=missed_ticks,
    )


def as_workflow_schedule(codec: Codec, record: ScheduleRecord) -> WorkflowSchedule:
    return WorkflowSchedule(
        schedule_id=record.schedule_id,
        schedule_name=record.schedule_name,
        workflow_name=record.workflow_name,
        workflow_class_name=record.workflow_class_name,
        schedule=record.schedule,
        status=record.status,
        context=codec.decode_value(record.context),
        last_fired_at=record.last_fired_at,
        automatic_backfill=record.automatic_backfill,
        cron_timezone=record.cron_timezone,
        queue_name=record.queue_name,
        application_name=record.application_name,
        shard_key=None,
    )


def _found(storage: SystemStorage, schedule_name: str) -> Procedure[ScheduleRecord]:
    record: ScheduleRecord | None = yield Blocking(storage.get_schedule, (schedule_name,))
    if record is None:
        raise DBOSException(f"Schedule {schedule_name!r} does not exist")
    return record


def _aware(moment: object, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise DBOSException(f"{what} must be a datetime, got {moment!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def backfill(
    storage: SystemStorage, codec: Codec, schedule_name: str, start: object, end: object
) -> Procedure[tuple[list[str], set[str]]]:
    """Enqueue every tick of the schedule strictly after `start` and strictly before `end`
    (naive datetimes are UTC), each under its tick's workflow ID, so a tick that already ran
    or was backfilled is not run again. Returns the IDs in tick order, and the queues."""
    begin, finish = _aware(start, "start"), _aware(end, "end")
    record = yield from _found(storage, schedule_name)
    cron = cron_of(record)
    ids: list[str] = []
    queues: set[str] = set()
    tick = next_tick(cron, begin)
    while tick < finish:
        if len(ids) >= MAX_BACKFILL_TICKS:
            raise DBOSException(
                f"backfill of {schedule_name!r} stopped: more than {MAX_BACKFILL_TICKS} ticks "
                "between start and end (backfill a shorter interval at a time)"
            )
        workflow_id = tick_workflow_id(schedule_name, tick)
        queues.add((yield from enqueue_tick(storage, codec, record, tick, workflow_id)))
        ids.append(workflow_id)
        tick = next_tick(cron, tick)
    return ids, queues


def trigger(storage: SystemStorage, codec: Codec, schedule_name: str) -> Procedure[tuple[str, str]]:
    """Enqueue one run of the schedule now, whatever its status; returns its ID and queue."""
    record = yield from _found(storage, schedule_name)
    now = datetime.now(timezone.utc)
    workflow_id = f"sched-{schedule_name}-trigger-{now.isoformat()}"
    queue = yield from enqueue_tick(storage, codec, record, now, workflow_id)
    return workflow_id, queue


def create(storage: SystemStorage, record: ScheduleRecord) -> Procedure[None]:
    created: bool = yield Blocking(storage.create_schedule, (record,))
    if not created:
        raise DBOSException(f"Schedule {record.schedule_name!r} already exists")


def apply(storage: SystemStorage, records: Iterable[ScheduleRecord]) -> Procedure[None]:
    batch = tuple(records)
    names = [record.schedule_name for record in batch]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DBOSException(f"apply_schedules: schedule name(s) given twice: {repeated}")
    yield Blocking(storage.apply_schedules, (batch,))


def _names(value: object, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, str) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise DBOSException(f"list_schedules {what} must be a string or a list of strings")
    return tuple(values)


def list_query(
    status: object, workflow_name: object, schedule_name_prefix: object, application_name: object
) -> ScheduleQuery:
    statuses = _names(status, "status")
    for value in statuses or ():
        if value not in (SCHEDULE_ACTIVE, SCHEDULE_PAUSED):
            raise DBOSException(f"a schedule status is ACTIVE or PAUSED, got {value!r}")
    return ScheduleQuery(
        statuses=statuses,
        workflow_names=_names(workflow_name, "workflow_name"),
        schedule_name_prefixes=_names(schedule_name_prefix, "schedule_name_prefix"),
        application_names=_names(application_name, "application_name"),
    )
