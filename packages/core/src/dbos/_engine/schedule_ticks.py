"""A stored schedule's ticks: their workflow IDs, arguments and enqueued rows (shared by the
scheduler and by the backfill and trigger calls of `dbos.management`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .._base.serialization import Codec
from ..storage._protocol import SystemStorage
from ..storage._records import NewWorkflow, WorkflowStatusString
from ..storage._schedule_records import ScheduleRecord
from .cron import CronSchedule, parse_cron
from .effects import Procedure
from .queues import INTERNAL_QUEUE_NAME
from .registry import DEFAULT_MAX_RECOVERY_ATTEMPTS
from .starting import create_workflow


def cron_of(record: ScheduleRecord) -> CronSchedule:
    return parse_cron(record.schedule, record.cron_timezone)


def tick_workflow_id(schedule_name: str, tick: datetime) -> str:
    """The workflow ID of a schedule's tick: the same in every process and every backfill
    (DBOS Transact 3.4's form)."""
    return f"sched-{schedule_name}-{tick.isoformat()}"


def tick_arguments(codec: Codec, record: ScheduleRecord, tick: datetime) -> tuple[Any, ...]:
    """What a tick's workflow is called with: ``(scheduled_time, context)`` (DBOS Transact
    3.4), or ``(scheduled_time, actual_time)`` for a schedule declared with
    ``@DBOS.scheduled`` (the decorator's form)."""
    if record.missed_ticks is not None:
        return (tick, datetime.now(timezone.utc))
    return (tick, codec.decode_value(record.context))


def enqueue_tick(
    storage: SystemStorage,
    codec: Codec,
    record: ScheduleRecord,
    tick: datetime,
    workflow_id: str,
    *,
    guarded: bool = False,
    application_name: str | None = None,
) -> Procedure[str]:
    """Enqueue one run of `record` for `tick` under `workflow_id` (on its queue, else DBOS's
    internal queue, for a process of the latest application version); a run already stored
    under that ID is left as it is. Returns the queue. `guarded` (the scheduler's ticks):
    the row is created only if the schedule is still stored as `record` and ACTIVE, else
    `ScheduleInactiveError` is raised; a backfill or trigger runs whatever the status
    (DBOS Transact 3.4). The run's `application_name` is the schedule's owner, else
    `application_name` (the firing scheduler's app)."""
    queue = record.queue_name or INTERNAL_QUEUE_NAME
    created = int(datetime.now(timezone.utc).timestamp() * 1000)
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name=record.workflow_name,
        inputs=codec.encode_inputs(tick_arguments(codec, record, tick), {}, record.workflow_name),
        executor_id=None,
        application_version=None,
        created_at_ms=created,
        max_recovery_attempts=DEFAULT_MAX_RECOVERY_ATTEMPTS,
        queue_name=queue,
        status=WorkflowStatusString.ENQUEUED.value,
        class_name=record.workflow_class_name,
        schedule_name=record.schedule_name,
        schedule_id=record.schedule_id if guarded else None,
        application_name=record.application_name or application_name,
    )
    yield from create_workflow(storage, workflow, (None, None))
    return queue
