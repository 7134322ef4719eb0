"""The scheduler: a thread that starts each stored schedule's workflow once per cron tick.

Every process of the app runs one. Schedules live in the system database (DBOS Transact 3.4's
``workflow_schedules``): created, changed, paused and deleted at run time by any process or
client. The scheduler reads them when it starts, then every polling interval (every second
during its first minute, so schedules stored around launch are seen at once), and follows what
it reads: a new or changed schedule is planned from its next tick, a paused or deleted one
is dropped. A pause or delete is strict all the same (ours): each tick's row is created only
if its schedule is still stored, unchanged in identity, and ACTIVE, checked atomically with
the insert (`NewWorkflow.schedule_id`), so once a pause or delete has returned, from any
process or client, no tick created after it runs; a tick created before it committed may. The
process that pauses or deletes also drops the schedule from its plan at once.
``@DBOS.scheduled`` declares a stored schedule too: the scheduler applies the process's
decorated schedules at start (named after the workflow; a paused one stays paused).

A tick's workflow ID is derived from the schedule's name and the tick time
(`tick_workflow_id`), and starting a workflow is an insert-or-get keyed by its ID, so
whichever process gets there first creates it and the others find it already there: each tick
runs once across all processes. A decorated schedule's tick is started here at once, as
before schedules were stored; a schedule created through the API has its tick enqueued on its
queue (DBOS's internal queue by default), as DBOS Transact does.

Missed ticks (ticks that fell while no process was running), for decorated schedules: with
``missed_ticks="skip"`` (the default) they are skipped. With ``"run_once"``, if the schedule
has run before, the latest tick at or before launch runs once (if it has not). For schedules
with ``automatic_backfill``, every tick since the schedule last fired runs, each once. While
a process runs, every tick is started, late if the process was busy.

As in DBOS Transact, scheduled workflows run on the latest application version: a process of
an older version starts no ticks, and leaves them to the latest version's processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .._base.errors import DBOSException
from .._base.serialization import Codec
from ..storage._records import WorkflowQuery
from ..storage._schedule_records import (
    SCHEDULE_ACTIVE,
    ScheduleInactiveError,
    ScheduleQuery,
    ScheduleRecord,
)
from . import registry as _registry
from .background import BackgroundPort
from .cron import CronSchedule, next_tick, previous_tick
from .effects import run_sync
from .outage import ride_out_outages
from .registry import ScheduledRegistration, WorkflowRegistration
from .schedule_ticks import cron_of, enqueue_tick, tick_workflow_id

#: Starts a scheduled workflow `(registration, args, workflow_id, schedule_id)` in the
#: background (its creation raises `ScheduleInactiveError` if the schedule is not active).
Launch = Callable[[WorkflowRegistration, tuple[Any, ...], str, str], None]

logger = logging.getLogger("dbos")

MISSED_TICK_POLICIES = ("skip", "run_once")
#: After start, the stored schedules are read this often for this long (seconds).
_STARTUP_POLL_S = 1.0
_STARTUP_S = 60.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _Planned:
    record: ScheduleRecord
    cron: CronSchedule
    tick: datetime


def _signature(record: ScheduleRecord) -> tuple[Any, ...]:
    # The definition only: a pause is handled by dropping the plan, last_fired_at changes often.
    return (
        record.workflow_name,
        record.workflow_class_name,
        record.schedule,
        record.context,
        record.cron_timezone,
        record.queue_name,
        record.missed_ticks,
    )


class Scheduler:
    """Starts the stored schedules' workflows on their ticks, for one engine."""

    def __init__(self, port: BackgroundPort, launch: Launch) -> None:
        self._port = port
        self._launch = launch
        self._stop = threading.Event()
        #: Set to run the loop at once: stop, or a schedule changed in this process.
        self._wake = threading.Event()
        #: Schedules this process paused or deleted since the loop last read them: never
        #: fired again from the plan (the next read drops them from it).
        self._dropped: set[str] = set()
        self._changed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: The application whose schedules this process runs (with the unclaimed ones).
        self.application_name: str | None = None
        self._poll_s = 30.0
        self._codec: Codec | None = None
        self._enqueued: Callable[[str], None] = lambda queue: None
        self._warned: set[str] = set()

    def configure(self, application_name: str | None, poll_s: float, codec: Codec) -> None:
        """Set what `DBOS.launch` knows: the app's name, the polling interval, the codec."""
        self.application_name, self._poll_s, self._codec = application_name, poll_s, codec

    def on_enqueued(self, callback: Callable[[str], None]) -> None:
        """Call `callback(queue_name)` after enqueuing a tick (wakes the queue worker)."""
        self._enqueued = callback

    def start(self) -> None:
        if self._codec is None:
            return  # not configured: an engine outside DBOS.launch runs no schedules
        self._thread = threading.Thread(target=self._run, name="dbos-scheduler", daemon=True)
        self._thread.start()

    def schedule_changed(self, name: str, *, dropped: bool) -> None:
        """This process changed schedule `name` (`dropped`: paused or deleted it). A dropped
        schedule's planned ticks are not fired from here on, whatever the next read of the
        schedules finds; either way the loop reads the schedules again at once (ours: other
        processes see the change at their next poll, and a tick they create after a pause or
        delete committed is refused by storage, see `NewWorkflow.schedule_id`)."""
        with self._lock:
            if dropped:
                self._dropped.add(name)
            self._changed = True
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        # A tick falling in an outage is started once the database is back, not dropped.
        with ride_out_outages():
            self._loop()

    # --- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        declared = {entry.workflow.name: entry for entry in _registry.scheduled()}
        self._declare(list(declared.values()))
        plan: dict[str, _Planned] = {}
        started = time.monotonic()
        next_poll, first = 0.0, True
        while not self._stop.is_set():
            with self._lock:
                changed, self._changed = self._changed, False
            if changed or time.monotonic() >= next_poll:
                self._refresh(plan, declared, first)
                first = False
                fast = time.monotonic() - started < _STARTUP_S
                next_poll = time.monotonic() + (
                    min(_STARTUP_POLL_S, self._poll_s) if fast else self._poll_s
                )
            wait = next_poll - time.monotonic()
            if plan:
                due = min(planned.tick for planned in plan.values())
                wait = min(wait, (due - _utcnow()).total_seconds())
            if wait > 0 and self._wake.wait(wait):
                self._wake.clear()
                continue  # stopped, or a schedule changed here: read the schedules first
            now = _utcnow()
            for planned in sorted(plan.values(), key=lambda p: p.tick):
                if planned.tick <= now and not self._stop.is_set():
                    if self._is_dropped(planned.record.schedule_name):
                        continue
                    self._fire(planned.record, planned.tick)
                    planned.tick = next_tick(planned.cron, planned.tick)

    def _is_dropped(self, name: str) -> bool:
        with self._lock:
            return name in self._dropped

    def _declare(self, entries: list[ScheduledRegistration]) -> None:
        """Store this process's ``@DBOS.scheduled`` schedules (idempotent, keeps status)."""
        if not entries:
            return
        assert self._codec is not None
        records = tuple(
            ScheduleRecord(
                schedule_id=f"decorated-{entry.workflow.name}",
                schedule_name=entry.workflow.name,
                workflow_name=entry.workflow.name,
                workflow_class_name=None,
                schedule=entry.schedule.expression,
                status=SCHEDULE_ACTIVE,
                context=self._codec.encode_value(None),
                application_name=self.application_name,
                missed_ticks=entry.missed_ticks,
            )
            for entry in entries
        )
        try:
            self._port.storage.apply_schedules(records)
        except DBOSException as exc:
            if not self._port.failed("the scheduler", exc):
                logger.warning("could not store the @DBOS.scheduled schedules: %s", exc)

    def _refresh(
        self, plan: dict[str, _Planned], declared: dict[str, ScheduledRegistration], first: bool
    ) -> None:
        names = None if self.application_name is None else (self.application_name,)
        with self._lock:
            dropped = set(self._dropped)  # the read below sees these pauses and deletes
        try:
            records = self._port.storage.list_schedules(ScheduleQuery(application_names=names))
        except DBOSException as exc:
            if not self._port.failed("the scheduler", exc):
                logger.warning("could not read the stored schedules: %s", exc)
            return
        with self._lock:
            self._dropped -= dropped
        now = _utcnow()
        wanted = {r.schedule_name: r for r in records if self._runs_here(r, declared)}
        for name in list(plan):
            if name not in wanted:
                del plan[name]  # deleted, paused, or no longer declared here
        for name, record in wanted.items():
            current = plan.get(name)
            if current is not None and _signature(current.record) == _signature(record):
                current.record = record
                continue
            try:
                cron = cron_of(record)
            except DBOSException as exc:
                self._warn_once(name, "schedule %r cannot run: %s", name, exc)
                continue
            if first:
                self._catch_up(record, cron, now)
            plan[name] = _Planned(record, cron, next_tick(cron, now))

    def _runs_here(
        self, record: ScheduleRecord, declared: dict[str, ScheduledRegistration]
    ) -> bool:
        if record.status != SCHEDULE_ACTIVE:
            return False
        if record.missed_ticks is not None:
            # A decorated schedule runs where it is declared, as before schedules were stored.
            return record.workflow_name in declared
        if _registry.workflow(record.workflow_name) is None:
            self._warn_once(
                record.schedule_name,
                "schedule %r names workflow %r, which is not registered in this process",
                record.schedule_name,
                record.workflow_name,
            )
            return False
        return True

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message, *args)

    def _catch_up(self, record: ScheduleRecord, cron: CronSchedule, now: datetime) -> None:
        """At start: the missed ticks the schedule's policy runs."""
        storage = self._port.storage
        try:
            if record.automatic_backfill and record.last_fired_at:
                tick = next_tick(cron, datetime.fromisoformat(record.last_fired_at))
                while tick <= now and not self._stop.is_set():
                    self._fire(record, tick)
                    tick = next_tick(cron, tick)
            if record.missed_ticks == "run_once":
                ran_before = storage.list_workflows(
                    WorkflowQuery(
                        name=record.workflow_name, limit=1, load_inputs=False, load_output=False
                    )
                )
                tick = previous_tick(cron, now)
                if (
                    ran_before
                    and storage.get_workflow(tick_workflow_id(record.schedule_name, tick)) is None
                ):
                    logger.info(
                        "running missed tick %s of %s", tick.isoformat(), record.schedule_name
                    )
                    self._fire(record, tick)
        except DBOSException as exc:
            if not self._port.failed("the scheduler", exc):
                logger.warning("could not check missed ticks of %s: %s", record.schedule_name, exc)

    def _fire(self, record: ScheduleRecord, tick: datetime) -> None:
        if not self._port.standing.is_latest:
            logger.debug(
                "tick %s of %s left to the latest application version's processes",
                tick.isoformat(),
                record.schedule_name,
            )
            return
        assert self._codec is not None
        workflow_id = tick_workflow_id(record.schedule_name, tick)
        try:
            registration = _registry.workflow(record.workflow_name)
            if record.missed_ticks is not None and record.queue_name is None and registration:
                self._launch(registration, (tick, _utcnow()), workflow_id, record.schedule_id)
            else:
                storage = self._port.storage
                queue = run_sync(
                    enqueue_tick(
                        storage,
                        self._codec,
                        record,
                        tick,
                        workflow_id,
                        guarded=True,
                        application_name=self.application_name,
                    )
                )
                self._enqueued(queue)
            self._port.storage.record_schedule_fired(record.schedule_name, tick.isoformat())
        except ScheduleInactiveError:
            # Paused, deleted or replaced since the last read: the next read drops the plan.
            logger.debug("tick %s not started: schedule no longer active", workflow_id)
        except DBOSException as exc:
            if self._port.failed("the scheduler", exc):
                return
            logger.warning(
                "could not start scheduled workflow %s for %s: %s",
                record.schedule_name,
                tick.isoformat(),
                exc,
            )
