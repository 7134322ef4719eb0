"""The Facade's stored-schedule calls (DBOS Transact 3.4's schedule API), shared by `DBOS` and
`DBOSClient` through `Facade`. Creating and applying schedules differ (an app passes workflow
functions, a client names workflows) and are each side's, over `_create_schedule_records`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from .._engine.effects import Blocking, Procedure, run_async, run_sync
from .._engine.recorded_calls import CallBody, recorded_call
from ..storage._schedule_records import SCHEDULE_ACTIVE, SCHEDULE_PAUSED, ScheduleRecord
from . import _schedules as schedules
from ._forms import async_form as _async_form
from ._forms import sync_form as _sync_form
from ._handle import HandleSource, WorkflowHandle, WorkflowHandleAsync
from ._queue_names import warn_if_undeclared_queue
from ._schedules import WorkflowSchedule

if TYPE_CHECKING:
    from .._engine.operations import Recorder
    from ._management import Management

T = TypeVar("T")


class SchedulesFacade:
    """`list_schedules`, `get_schedule`, `pause_schedule`, `resume_schedule`,
    `delete_schedule`, `backfill_schedule` and `trigger_schedule` (+ ``_async``), over the
    accessors `Facade` declares and each side provides."""

    def _facade_management(self) -> Management:
        raise NotImplementedError

    def _facade_enqueued(self, queue_name: str) -> None:
        raise NotImplementedError

    def _facade_handle_source(self) -> HandleSource:
        raise NotImplementedError

    def _facade_application_name(self) -> str | None:
        """The application whose schedules `list_schedules` shows by default (`DBOS`: its
        configured name; a client: None, every application's)."""
        return None

    def _facade_outside_workflow(self, call: str) -> None:
        """Refuse `call` inside a workflow body (`DBOS`'s; a client never runs in one)."""

    def _facade_schedule_changed(self, name: str, dropped: bool) -> None:
        """Schedule `name` was stored as changed (`dropped`: paused or deleted): `DBOS` tells
        its scheduler at once; a client has none."""

    def _facade_recorder(self) -> Recorder | None:
        return None

    def _recorded(self, name: str, body: CallBody[T]) -> Procedure[T]:
        """Run `body`; called from a workflow body (`DBOS` only), as the recorded operation
        `name` (DBOS Transact 3.4's step names), so a recovered workflow does not repeat it."""
        recorder = self._facade_recorder()
        if recorder is None:
            return body(None)
        return recorded_call(recorder, name, body)

    # --- storing (each side's create_schedule and apply_schedules end here) -----------------

    def _store_schedules(self, records: list[ScheduleRecord], replace: bool) -> Procedure[None]:
        """Store `records` (a client's). A queue no process has declared is accepted, as
        in DBOS Transact 3.4's client, with a WARNING (ours): the ticks' runs wait on it."""
        storage = self._facade_management().storage
        if replace:
            yield from schedules.apply(storage, records)
        else:
            for record in records:
                yield from schedules.create(storage, record)
        for record in records:
            if record.queue_name is not None:
                context = f"schedule {record.schedule_name!r}"
                yield from warn_if_undeclared_queue(
                    storage, record.queue_name, context, "each tick's run"
                )

    # --- reading and changing ---------------------------------------------------------------

    def _list_schedules(
        self,
        *,
        status: str | list[str] | None = None,
        workflow_name: str | list[str] | None = None,
        schedule_name_prefix: str | list[str] | None = None,
        application_name: str | list[str] | None = None,
    ) -> Procedure[list[WorkflowSchedule]]:
        """The stored schedules, by name, optionally filtered (DBOS Transact 3.4): each filter
        takes one value or a list (any of them). `status` is ``"ACTIVE"`` or ``"PAUSED"``;
        `schedule_name_prefix` keeps names starting with it. `application_name` keeps the
        schedules of these applications and the unclaimed ones (created with no application,
        run by every application); by default `DBOS` lists its own application's (and the
        unclaimed), a `DBOSClient` every schedule.

        Called from a workflow body (`DBOS` only), each of these calls (list, get, pause,
        resume, delete) is a recorded operation of the workflow (DBOS Transact 3.4's steps
        ``DBOS.listSchedules``, ``DBOS.getSchedule``, ...): a recovered workflow gets the
        recorded result and does not make the call again.

        Raises:
            DBOSException: a filter of the wrong type, or an unknown status.
        """
        if application_name is None:
            application_name = self._facade_application_name()
        query = schedules.list_query(status, workflow_name, schedule_name_prefix, application_name)
        management = self._facade_management()

        def body(key: str | None) -> Procedure[list[WorkflowSchedule]]:
            found: list[ScheduleRecord] = yield Blocking(
                management.storage.list_schedules, (query,)
            )
            return [schedules.as_workflow_schedule(management.codec, record) for record in found]

        return self._recorded("DBOS.listSchedules", body)

    def _get_schedule(self, name: str) -> Procedure[WorkflowSchedule | None]:
        """The schedule named `name`, or None if there is none (DBOS Transact 3.4)."""
        management = self._facade_management()

        def body(key: str | None) -> Procedure[WorkflowSchedule | None]:
            found: ScheduleRecord | None = yield Blocking(management.storage.get_schedule, (name,))
            if found is None:
                return None
            return schedules.as_workflow_schedule(management.codec, found)

        return self._recorded("DBOS.getSchedule", body)

    def _set_status(self, operation: str, name: str, status: str) -> Procedure[None]:
        storage = self._facade_management().storage

        def body(key: str | None) -> Procedure[None]:
            yield Blocking(storage.set_schedule_status, (name, status))
            self._facade_schedule_changed(name, status != SCHEDULE_ACTIVE)

        return self._recorded(operation, body)

    def _pause_schedule(self, name: str) -> Procedure[None]:
        """Pause schedule `name`: no process starts its ticks until it is resumed. Ticks that
        fall while it is paused are not run later (a backfill can run them). No-op if there is
        no such schedule (DBOS Transact 3.4). Strict (ours): once this returns, no process
        creates a tick of it (each tick's creation checks the schedule is ACTIVE, atomically);
        a tick created just before the pause committed may still run."""
        return self._set_status("DBOS.pauseSchedule", name, SCHEDULE_PAUSED)

    def _resume_schedule(self, name: str) -> Procedure[None]:
        """Resume paused schedule `name`: processes start its ticks again from the next one
        after they see the change (this process at once, others within their scheduler
        polling interval). No-op if there is no such schedule (DBOS Transact 3.4)."""
        return self._set_status("DBOS.resumeSchedule", name, SCHEDULE_ACTIVE)

    def _delete_schedule(self, name: str) -> Procedure[None]:
        """Delete schedule `name`; workflows it started are left alone. No-op if there is no
        such schedule (DBOS Transact 3.4). Strict as a pause is (ours): once this returns, no
        process creates a tick of it, nor of the old schedule when a new one takes its name.
        A schedule declared with ``@DBOS.scheduled`` is stored again by the next process that
        launches with the decorator."""
        storage = self._facade_management().storage

        def body(key: str | None) -> Procedure[None]:
            yield Blocking(storage.delete_schedule, (name,))
            self._facade_schedule_changed(name, True)

        return self._recorded("DBOS.deleteSchedule", body)

    list_schedules = _sync_form(_list_schedules)
    list_schedules_async = _async_form(_list_schedules)
    get_schedule = _sync_form(_get_schedule)
    get_schedule_async = _async_form(_get_schedule)
    pause_schedule = _sync_form(_pause_schedule)
    pause_schedule_async = _async_form(_pause_schedule)
    resume_schedule = _sync_form(_resume_schedule)
    resume_schedule_async = _async_form(_resume_schedule)
    delete_schedule = _sync_form(_delete_schedule)
    delete_schedule_async = _async_form(_delete_schedule)

    # --- running ticks on demand ------------------------------------------------------------

    def _backfill(self, schedule_name: str, start: datetime, end: datetime) -> Procedure[list[str]]:
        self._facade_outside_workflow("backfill_schedule")
        management = self._facade_management()
        ids, queues = yield from schedules.backfill(
            management.storage, management.codec, schedule_name, start, end
        )
        for queue in queues:
            self._facade_enqueued(queue)
        return ids

    def _trigger(self, schedule_name: str) -> Procedure[str]:
        self._facade_outside_workflow("trigger_schedule")
        management = self._facade_management()
        workflow_id, queue = yield from schedules.trigger(
            management.storage, management.codec, schedule_name
        )
        self._facade_enqueued(queue)
        return workflow_id

    def backfill_schedule(
        self, schedule_name: str, start: datetime, end: datetime
    ) -> list[WorkflowHandle[None]]:
        """Run every tick of schedule `schedule_name` strictly after `start` and strictly
        before `end` (DBOS Transact 3.4; naive datetimes are UTC), whatever its status. Each
        tick is enqueued under the same workflow ID the scheduler gives it, so a tick that
        already ran, or was backfilled before, is not run again: its handle is returned
        all the same. Returns one handle per tick, in tick order.

        Raises:
            DBOSException: no such schedule; `start` or `end` is not a datetime; more than
                100,000 ticks; called inside a workflow (`DBOS`).
        """
        source = self._facade_handle_source()
        ids = run_sync(self._backfill(schedule_name, start, end))
        return [WorkflowHandle(source, workflow_id) for workflow_id in ids]

    async def backfill_schedule_async(
        self, schedule_name: str, start: datetime, end: datetime
    ) -> list[WorkflowHandleAsync[None]]:
        """`backfill_schedule` for async code; the handles are `WorkflowHandleAsync`."""
        source = self._facade_handle_source()
        ids = await run_async(self._backfill(schedule_name, start, end))
        return [WorkflowHandleAsync(source, workflow_id) for workflow_id in ids]

    def trigger_schedule(self, schedule_name: str) -> WorkflowHandle[None]:
        """Run schedule `schedule_name`'s workflow once now, whatever its status (DBOS
        Transact 3.4): it is enqueued with the current time as its scheduled time, under the
        ID ``sched-<name>-trigger-<time>``. Returns its handle.

        Raises:
            DBOSException: no such schedule; called inside a workflow (`DBOS`).
        """
        source = self._facade_handle_source()
        return WorkflowHandle(source, run_sync(self._trigger(schedule_name)))

    async def trigger_schedule_async(self, schedule_name: str) -> WorkflowHandleAsync[None]:
        """`trigger_schedule` for async code; the handle is a `WorkflowHandleAsync`."""
        source = self._facade_handle_source()
        return WorkflowHandleAsync(source, await run_async(self._trigger(schedule_name)))
