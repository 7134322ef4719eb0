"""`DBOS`'s own schedule calls (DBOS Transact 3.4): creating and applying stored schedules
from workflow functions. The calls shared with `DBOSClient` (list, get, pause, resume, delete,
backfill, trigger) are the Facade's (`dbos/management/_facade_schedules.py`)."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import Any, TypedDict

from ._base.errors import DBOSException
from ._engine.classes import INSTANCE, registered_class_name
from ._engine.context import current_workflow
from ._engine.effects import Blocking, Procedure, run_async, run_sync
from ._engine.recorded_calls import recorded_call
from ._engine.registry import REGISTRATION_ATTR, WorkflowRegistration
from ._launched import launched_engine
from .management._queue_names import require_declared_queue
from .management._schedules import apply, create, schedule_record
from .storage._schedule_records import ScheduleRecord

#: The operation `DBOS.create_schedule` records in a workflow body (DBOS Transact 3.4's step).
CREATE_SCHEDULE_NAME = "DBOS.createSchedule"
_SCHEDULE_IDS = uuid.UUID("6f1c7d2e-5b8a-4e0f-9c3d-2a7b1e4f8d60")

#: A workflow a stored schedule runs: called with the tick's time and the schedule's context
#: (DBOS Transact 3.4 types the result None; any result is accepted here, and stored).
ScheduledWorkflowFunction = (
    Callable[[datetime, Any], Any] | Callable[[datetime, Any], Coroutine[Any, Any, Any]]
)


class ScheduleInput(TypedDict, total=False):
    """One schedule for `DBOS.apply_schedules` (DBOS Transact 3.4's keys): `schedule_name`,
    `workflow_fn` and `schedule` are required; the other keys are `DBOS.create_schedule`'s
    optional arguments."""

    schedule_name: str
    workflow_fn: ScheduledWorkflowFunction
    schedule: str
    context: Any
    automatic_backfill: bool
    cron_timezone: str | None
    queue_name: str | None
    shard_key: str | None


def _workflow_of(workflow_fn: object) -> tuple[str, str | None]:
    """The registered name of `workflow_fn` and its class's, for a class method."""
    function = workflow_fn.__func__ if inspect.ismethod(workflow_fn) else workflow_fn
    registration = getattr(function, REGISTRATION_ATTR, None)
    if not isinstance(registration, WorkflowRegistration):
        raise DBOSException(
            f"Workflow function {getattr(workflow_fn, '__qualname__', workflow_fn)!r} is not "
            "registered: decorate it with @DBOS.workflow()"
        )
    if registration.binding.kind == INSTANCE or (
        inspect.ismethod(workflow_fn) and not isinstance(workflow_fn.__self__, type)
    ):
        raise DBOSException("Configured instance methods cannot be used as scheduled workflows")
    owner = getattr(workflow_fn, "__self__", None)
    return registration.name, registered_class_name(owner) if isinstance(owner, type) else None


def _create_procedure(record: ScheduleRecord) -> Procedure[None]:
    """Store `record` as a new schedule; from a workflow body, as the recorded operation
    ``DBOS.createSchedule``. There its ID is derived from the operation's key, so an
    execution that finds the name taken by the schedule an earlier execution of this very
    operation stored (a crash between storing and recording) takes it as its own."""
    engine = launched_engine()
    storage = engine.storage
    if record.queue_name is not None:
        yield from require_declared_queue(storage, record.queue_name, "")

    def body(key: str | None) -> Procedure[None]:
        if key is None:
            yield from create(storage, record)
            return
        mine = replace(record, schedule_id=str(uuid.uuid5(_SCHEDULE_IDS, key)))
        created: bool = yield Blocking(storage.create_schedule, (mine,))
        if created:
            return
        found: ScheduleRecord | None = yield Blocking(storage.get_schedule, (mine.schedule_name,))
        if found is None or found.schedule_id != mine.schedule_id:
            raise DBOSException(f"Schedule {record.schedule_name!r} already exists")

    yield from recorded_call(engine.recorder, CREATE_SCHEDULE_NAME, body)


def _apply_procedure(records: list[ScheduleRecord]) -> Procedure[None]:
    """Store `records` (replacing those of the same names), once every queue they name is
    known to be declared: nothing is stored if one is not."""
    storage = launched_engine().storage
    for index, record in enumerate(records):
        if record.queue_name is not None:
            where = f"schedule entry {index}: "
            yield from require_declared_queue(storage, record.queue_name, where)
    yield from apply(storage, records)


def _record(entry: ScheduleInput, index: int | None) -> ScheduleRecord:
    where = "" if index is None else f"schedule entry {index}: "
    for key in ("schedule_name", "workflow_fn", "schedule"):
        if key not in entry:
            raise DBOSException(f"{where}missing required field {key!r}")
    unknown = sorted(set(entry) - set(ScheduleInput.__annotations__))
    if unknown:
        raise DBOSException(f"{where}unknown field(s) {unknown}")
    if entry.get("shard_key") is not None:
        raise DBOSException(f"{where}shard_key: sharded system databases are not provided")
    workflow_name, class_name = _workflow_of(entry["workflow_fn"])
    engine = launched_engine()
    return schedule_record(
        engine.codec,
        schedule_name=entry["schedule_name"],
        workflow_name=workflow_name,
        workflow_class_name=class_name,
        schedule=entry["schedule"],
        context=entry.get("context"),
        automatic_backfill=bool(entry.get("automatic_backfill", False)),
        cron_timezone=entry.get("cron_timezone"),
        queue_name=entry.get("queue_name"),
        application_name=engine.scheduler.application_name,
    )


class SchedulesAPI:
    """Stored schedules from the app: `create_schedule` and `apply_schedules` (+ async)."""

    @classmethod
    def create_schedule(
        cls,
        *,
        schedule_name: str,
        workflow_fn: ScheduledWorkflowFunction,
        schedule: str,
        context: Any = None,
        automatic_backfill: bool = False,
        cron_timezone: str | None = None,
        queue_name: str | None = None,
        shard_key: str | None = None,
    ) -> None:
        """Store a new schedule that runs workflow `workflow_fn` on every tick of cron
        expression `schedule` (DBOS Transact 3.4), once per tick across all processes of
        this application, each of which picks the schedule up within its scheduler polling
        interval (``scheduler_polling_interval_sec``, default 30; every second during a
        process's first minute). Called from a workflow body, it is the recorded operation
        ``DBOS.createSchedule`` (as in DBOS Transact 3.4): a recovered workflow does not
        create it again (and does not fail on finding it).

        The workflow is called with ``(scheduled_time, context)``: the tick as an aware
        datetime in the schedule's zone, and `context` (stored with the app's serializer).

        Args:
            schedule_name: Unique name of the schedule.
            workflow_fn: A ``@DBOS.workflow()`` function, or a class or static method of a
                ``@DBOS.dbos_class()`` (not an instance method).
            schedule: 5 fields (minute hour day month weekday), 6 (seconds first), or a
                macro (``@hourly``, ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``).
            context: Passed to every run as its second argument.
            automatic_backfill: When a process starts, run every tick missed since the
                schedule last fired (while no process ran), each once.
            cron_timezone: IANA zone the expression is read in (None: UTC), with one run per
                wall-clock time across daylight-saving changes.
            queue_name: Enqueue the runs on this queue (None: DBOS's internal queue). It
                must be declared, in this process or by any process (a stored queue), as
                in DBOS Transact 3.4.
            shard_key: Accepted for compatibility; must be None.

        Raises:
            DBOSConfigError: the expression or zone is invalid or not a string (the
                message names the bad field).
            DBOSException: the name is taken; the workflow is not registered or is an
                instance method; `queue_name` names a queue no process has declared; DBOS
                is not launched.
        """
        record = _record(
            ScheduleInput(
                schedule_name=schedule_name,
                workflow_fn=workflow_fn,
                schedule=schedule,
                context=context,
                automatic_backfill=automatic_backfill,
                cron_timezone=cron_timezone,
                queue_name=queue_name,
                shard_key=shard_key,
            ),
            None,
        )
        run_sync(_create_procedure(record))

    @classmethod
    async def create_schedule_async(
        cls,
        *,
        schedule_name: str,
        workflow_fn: ScheduledWorkflowFunction,
        schedule: str,
        context: Any = None,
        automatic_backfill: bool = False,
        cron_timezone: str | None = None,
        queue_name: str | None = None,
        shard_key: str | None = None,
    ) -> None:
        """`DBOS.create_schedule` for async code."""
        record = _record(
            ScheduleInput(
                schedule_name=schedule_name,
                workflow_fn=workflow_fn,
                schedule=schedule,
                context=context,
                automatic_backfill=automatic_backfill,
                cron_timezone=cron_timezone,
                queue_name=queue_name,
                shard_key=shard_key,
            ),
            None,
        )
        await run_async(_create_procedure(record))

    @classmethod
    def apply_schedules(cls, schedules: list[ScheduleInput]) -> None:
        """Create or replace each of `schedules` by name, in one transaction (DBOS Transact
        3.4): idempotent, so every process can apply the app's full set at launch, and
        processes applying at once leave one set. A replaced schedule keeps its status (a
        paused one stays paused) and its last tick; schedules not listed are left alone.

        Raises:
            DBOSException: called inside a workflow; an entry misses a required key, has an
                unknown one or is invalid (as in `create_schedule`, an undeclared queue
                included); nothing is stored then.
        """
        if current_workflow() is not None:
            raise DBOSException("DBOS.apply_schedules cannot be called from within a workflow")
        if not isinstance(schedules, list):
            raise DBOSException("apply_schedules takes a list of ScheduleInput dicts")
        records = [_record(entry, index) for index, entry in enumerate(schedules)]
        run_sync(_apply_procedure(records))

    @classmethod
    async def apply_schedules_async(cls, schedules: list[ScheduleInput]) -> None:
        """`DBOS.apply_schedules` for async code."""
        await asyncio.to_thread(cls.apply_schedules, schedules)
