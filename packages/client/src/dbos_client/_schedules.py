"""`DBOSClient`'s own schedule calls: creating and applying stored schedules by workflow name
(an app passes the workflow function instead; the other schedule calls are the Facade's)."""

from __future__ import annotations

import asyncio
from typing import Any

from dbos import DBOSException
from dbos.management import ClientScheduleInput, Facade, run_sync, schedule_record
from dbos.storage import ScheduleRecord

_REQUIRED = ("schedule_name", "workflow_name", "schedule")


class ClientSchedules(Facade):
    """`create_schedule` and `apply_schedules` (+ ``_async``), DBOS Transact 3.4's client
    forms."""

    def create_schedule(
        self,
        *,
        schedule_name: str,
        workflow_name: str,
        schedule: str,
        context: Any = None,
        workflow_class_name: str | None = None,
        automatic_backfill: bool = False,
        cron_timezone: str | None = None,
        queue_name: str | None = None,
        application_name: str | None = None,
        shard_key: str | None = None,
    ) -> None:
        """Store a new schedule: every process of application `application_name` (None:
        of every application) that has workflow `workflow_name` starts it on each tick of
        cron expression `schedule`, read in IANA zone `cron_timezone` (None: UTC), with
        ``(scheduled_time, context)``. The rest as `DBOS.create_schedule`; `shard_key` is
        accepted for DBOS Transact 3.4 compatibility and must be None.

        Raises:
            DBOSException: the name is taken, the cron expression or zone is invalid (the
                message names the problem), or a `shard_key` is given.
        """
        run_sync(
            self._store_schedules(
                [
                    self._client_record(
                        ClientScheduleInput(
                            schedule_name=schedule_name,
                            workflow_name=workflow_name,
                            workflow_class_name=workflow_class_name,
                            schedule=schedule,
                            context=context,
                            automatic_backfill=automatic_backfill,
                            cron_timezone=cron_timezone,
                            queue_name=queue_name,
                            application_name=application_name,
                            shard_key=shard_key,
                        ),
                        0,
                    )
                ],
                replace=False,
            )
        )

    async def create_schedule_async(
        self,
        *,
        schedule_name: str,
        workflow_name: str,
        schedule: str,
        context: Any = None,
        workflow_class_name: str | None = None,
        automatic_backfill: bool = False,
        cron_timezone: str | None = None,
        queue_name: str | None = None,
        application_name: str | None = None,
        shard_key: str | None = None,
    ) -> None:
        """`create_schedule` for async code (the same keyword arguments, storing in a worker
        thread)."""
        await asyncio.to_thread(
            lambda: self.create_schedule(
                schedule_name=schedule_name,
                workflow_name=workflow_name,
                schedule=schedule,
                context=context,
                workflow_class_name=workflow_class_name,
                automatic_backfill=automatic_backfill,
                cron_timezone=cron_timezone,
                queue_name=queue_name,
                application_name=application_name,
                shard_key=shard_key,
            )
        )

    def apply_schedules(self, schedules: list[ClientScheduleInput]) -> None:
        """Create or replace each of `schedules` by name, all in one transaction (DBOS
        Transact 3.4): idempotent, so every deployment can apply its full set. A replaced
        schedule keeps its status (a paused one stays paused) and its last tick. Schedules
        not in the list are left alone.

        Raises:
            DBOSException: an entry misses a required key, has an unknown one, or is invalid;
                nothing is stored then.
        """
        if not isinstance(schedules, list):
            raise DBOSException("apply_schedules takes a list of ClientScheduleInput dicts")
        records = [self._client_record(entry, index) for index, entry in enumerate(schedules)]
        run_sync(self._store_schedules(records, replace=True))

    async def apply_schedules_async(self, schedules: list[ClientScheduleInput]) -> None:
        """`apply_schedules` for async code."""
        await asyncio.to_thread(self.apply_schedules, schedules)

    def _client_record(self, entry: ClientScheduleInput, index: int) -> ScheduleRecord:
        if not isinstance(entry, dict):
            raise DBOSException(f"schedule entry {index} must be a dict (ClientScheduleInput)")
        for key in _REQUIRED:
            if key not in entry:
                raise DBOSException(f"schedule entry {index} is missing required field {key!r}")
        unknown = sorted(set(entry) - set(ClientScheduleInput.__annotations__))
        if unknown:
            raise DBOSException(f"schedule entry {index} has unknown field(s) {unknown}")
        if entry.get("shard_key") is not None:
            raise DBOSException("shard_key: sharded system databases are not provided")
        return schedule_record(
            self._facade_management().codec,
            schedule_name=entry["schedule_name"],
            workflow_name=entry["workflow_name"],
            workflow_class_name=entry.get("workflow_class_name"),
            schedule=entry["schedule"],
            context=entry.get("context"),
            automatic_backfill=bool(entry.get("automatic_backfill", False)),
            cron_timezone=entry.get("cron_timezone"),
            queue_name=entry.get("queue_name"),
            application_name=entry.get("application_name"),
        )
