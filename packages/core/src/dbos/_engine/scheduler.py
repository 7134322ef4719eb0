"""The scheduler: a thread that starts each scheduled workflow once per cron tick.

Every process of the app runs one. A tick's workflow ID is derived from the workflow's name
and the tick time (`tick_workflow_id`), and starting a workflow is an insert-or-get keyed by
its ID, so whichever process gets there first creates and runs it and the others find it
already there: each tick runs once across all processes.

Missed ticks (ticks that fell while no process was running): with ``missed_ticks="skip"``
(the default) they are skipped, and the schedule resumes with the next tick after launch. With
``"run_once"``, if the schedule has run before, the latest tick at or before launch runs once
(if it has not), whatever the number of ticks missed; earlier missed ticks are skipped. While a
process runs, every tick is started, late if the process was busy.

As in DBOS Transact, scheduled workflows run on the latest application version: a process of
an older version (during a rolling deploy, while the new version's processes run) starts no
ticks, and leaves them to the latest version's processes (liveness reads which is latest).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .._base.errors import DBOSException
from ..storage._records import WorkflowQuery
from . import registry as _registry
from .background import BackgroundPort
from .cron import next_tick, previous_tick
from .outage import ride_out_outages
from .registry import ScheduledRegistration, WorkflowRegistration

#: Starts a scheduled workflow `(registration, args, workflow_id)` in the background.
Launch = Callable[[WorkflowRegistration, tuple[Any, ...], str], None]

logger = logging.getLogger("dbos")

MISSED_TICK_POLICIES = ("skip", "run_once")


def tick_workflow_id(name: str, tick: datetime) -> str:
    """The workflow ID of a scheduled workflow's tick: the same in every process."""
    return f"sched-{name}-{tick.isoformat()}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Scheduler:
    """Starts the registered scheduled workflows on their ticks, for one engine."""

    def __init__(self, port: BackgroundPort, launch: Launch) -> None:
        self._port = port
        self._launch = launch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        entries = _registry.scheduled()
        if not entries:
            return
        self._thread = threading.Thread(
            target=self._run, args=(entries,), name="dbos-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self, entries: list[ScheduledRegistration]) -> None:
        # A tick falling in an outage is started once the database is back, not dropped.
        with ride_out_outages():
            self._loop(entries)

    def _loop(self, entries: list[ScheduledRegistration]) -> None:
        now = _utcnow()
        plan: dict[str, datetime] = {}
        for entry in entries:
            if entry.missed_ticks == "run_once":
                self._catch_up(entry, now)
            plan[entry.workflow.name] = next_tick(entry.schedule, now)
        by_name = {entry.workflow.name: entry for entry in entries}
        while not self._stop.is_set():
            due = min(plan.values())
            wait = (due - _utcnow()).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            now = _utcnow()
            for name, tick in sorted(plan.items(), key=lambda item: item[1]):
                if tick <= now and not self._stop.is_set():
                    entry = by_name[name]
                    self._fire(entry, tick)
                    plan[name] = next_tick(entry.schedule, tick)

    def _catch_up(self, entry: ScheduledRegistration, now: datetime) -> None:
        """Run the latest tick at or before `now` once, if the schedule ran before."""
        storage = self._port.storage
        try:
            ran_before = storage.list_workflows(
                WorkflowQuery(
                    name=entry.workflow.name, limit=1, load_inputs=False, load_output=False
                )
            )
            tick = previous_tick(entry.schedule, now)
            if (
                ran_before
                and storage.get_workflow(tick_workflow_id(entry.workflow.name, tick)) is None
            ):
                logger.info("running missed tick %s of %s", tick.isoformat(), entry.workflow.name)
                self._fire(entry, tick)
        except DBOSException as exc:
            if not self._port.failed("the scheduler", exc):
                logger.warning("could not check missed ticks of %s: %s", entry.workflow.name, exc)

    def _fire(self, entry: ScheduledRegistration, tick: datetime) -> None:
        if not self._port.standing.is_latest:
            logger.debug(
                "tick %s of %s left to the latest application version's processes",
                tick.isoformat(),
                entry.workflow.name,
            )
            return
        try:
            workflow_id = tick_workflow_id(entry.workflow.name, tick)
            self._launch(entry.workflow, (tick, _utcnow()), workflow_id)
        except DBOSException as exc:
            if self._port.failed("the scheduler", exc):
                return
            logger.warning(
                "could not start scheduled workflow %s for %s: %s",
                entry.workflow.name,
                tick.isoformat(),
                exc,
            )
