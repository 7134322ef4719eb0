"""The records of stored schedules (DBOS Transact 3.4's ``workflow_schedules`` rows), which
`SystemStorage`'s schedule calls exchange."""

from __future__ import annotations

from dataclasses import dataclass

from .._base.errors import DBOSException

#: A schedule's status: it fires (ACTIVE) or not (PAUSED). DBOS Transact 3.4's strings.
SCHEDULE_ACTIVE = "ACTIVE"
SCHEDULE_PAUSED = "PAUSED"


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """One stored schedule: a workflow started on the ticks of a cron expression.

    `schedule_id` is random, set when the schedule is first stored and kept by later applies;
    `schedule_name` is unique. `workflow_name` (and `workflow_class_name` for a class's static
    or class method) names the workflow; `schedule` is the cron expression, read in IANA zone
    `cron_timezone` (None: UTC). `status` is `SCHEDULE_ACTIVE` or `SCHEDULE_PAUSED`.
    `context` is the encoded value each run receives as its second argument. `last_fired_at`
    is the ISO 8601 time of the latest tick started (None: never). `automatic_backfill`:
    after a time with no process running, a process starting runs every missed tick since
    `last_fired_at`. `queue_name`: the queue its runs are enqueued on (None: started at once
    by the process whose scheduler fires the tick). `application_name`: the application whose
    processes fire it (None: any application's).

    `missed_ticks` is ours: None for a schedule created through the API (its workflow takes
    ``(scheduled_time, context)``); for one declared with ``@DBOS.scheduled``, its missed-tick
    policy (``"skip"`` or ``"run_once"``), and its workflow takes ``(scheduled_time,
    actual_time)``.
    """

    schedule_id: str
    schedule_name: str
    workflow_name: str
    workflow_class_name: str | None
    schedule: str
    status: str
    context: str
    last_fired_at: str | None = None
    automatic_backfill: bool = False
    cron_timezone: str | None = None
    queue_name: str | None = None
    application_name: str | None = None
    missed_ticks: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleQuery:
    """Filters for `SystemStorage.list_schedules`; None means "any", a tuple "any of these"
    (an empty tuple matches nothing). `schedule_name_prefixes` keeps names starting with any
    of them; `application_names` keeps schedules of these applications and those of none
    (unclaimed, fired by every application)."""

    statuses: tuple[str, ...] | None = None
    workflow_names: tuple[str, ...] | None = None
    schedule_name_prefixes: tuple[str, ...] | None = None
    application_names: tuple[str, ...] | None = None


class ScheduleInactiveError(DBOSException):
    """A scheduler's tick was not created: its schedule was paused, deleted or replaced by a
    new schedule of the same name (another `schedule_id`) before the insert (ours: raised by
    `SystemStorage.create_workflow` for a `NewWorkflow` with a `schedule_id`)."""

    def __init__(self, schedule_name: str, workflow_id: str) -> None:
        self._reduce_args = (schedule_name, workflow_id)
        super().__init__(
            f"tick {workflow_id!r} not started: schedule {schedule_name!r} is no longer active"
        )
        self.schedule_name = schedule_name
