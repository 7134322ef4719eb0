"""The stored-schedule calls of `SystemStorage` on SQLite, a base class of `SQLiteStorage`
(its transactions and statements)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from dbos.storage import (
    NewWorkflow,
    ScheduleInactiveError,
    ScheduleQuery,
    ScheduleRecord,
    as_params,
)

from ._host import StorageHost


def _schedule(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> ScheduleRecord:
    """A cursor row factory: the statements select columns named after the record's fields."""
    row = dict(zip([column[0] for column in cursor.description], values, strict=True))
    row["automatic_backfill"] = bool(row["automatic_backfill"])
    return ScheduleRecord(**row)


def _json(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else json.dumps(list(values))


class Schedules(StorageHost):
    """`create_schedule`, `apply_schedules`, `list_schedules`, `get_schedule`,
    `set_schedule_status`, `delete_schedule` and `record_schedule_fired` (see
    `SystemStorage`), each one statement or one write transaction; and the check of a
    scheduler's tick that `create_workflow` makes."""

    def _check_tick(
        self, connection: sqlite3.Connection, workflow: NewWorkflow, params: dict[str, Any]
    ) -> None:
        """For a scheduler's tick (`NewWorkflow.schedule_id` set), in the write transaction of
        its insert: raise `ScheduleInactiveError` unless the schedule it was planned from is
        still stored and ACTIVE. The file's single writer orders this against a pause or
        delete: whichever commits first wins."""
        if workflow.schedule_id is None:
            return
        if self._run(connection, "select_active_schedule", params).fetchone() is None:
            raise ScheduleInactiveError(str(workflow.schedule_name), workflow.workflow_id)

    def create_schedule(self, schedule: ScheduleRecord) -> bool:
        """`SystemStorage.create_schedule` on SQLite: one insert-or-ignore."""
        with self._transaction() as connection:
            cursor = self._run(connection, "insert_schedule", as_params(schedule))
            return bool(cursor.rowcount == 1)

    def apply_schedules(self, schedules: tuple[ScheduleRecord, ...]) -> None:
        """`SystemStorage.apply_schedules` on SQLite: every upsert in one BEGIN IMMEDIATE
        transaction (the file's single writer serialises racing applies)."""
        with self._transaction() as connection:
            for schedule in schedules:
                self._run(connection, "upsert_schedule", as_params(schedule))

    def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        """`SystemStorage.list_schedules` on SQLite: one query."""
        params = {
            "statuses": _json(query.statuses),
            "workflow_names": _json(query.workflow_names),
            "prefixes": _json(query.schedule_name_prefixes),
            "applications": _json(query.application_names),
        }
        with self._reading() as connection:
            cursor = self._run(connection, "list_schedules", params)
            cursor.row_factory = _schedule
            rows: list[ScheduleRecord] = cursor.fetchall()
        return rows

    def get_schedule(self, schedule_name: str) -> ScheduleRecord | None:
        """`SystemStorage.get_schedule` on SQLite: one query."""
        with self._reading() as connection:
            cursor = self._run(connection, "get_schedule", {"schedule_name": schedule_name})
            cursor.row_factory = _schedule
            row: ScheduleRecord | None = cursor.fetchone()
        return row

    def set_schedule_status(self, schedule_name: str, status: str) -> bool:
        """`SystemStorage.set_schedule_status` on SQLite: one update."""
        params = {"schedule_name": schedule_name, "status": status}
        with self._transaction() as connection:
            return bool(self._run(connection, "set_schedule_status", params).rowcount == 1)

    def delete_schedule(self, schedule_name: str) -> bool:
        """`SystemStorage.delete_schedule` on SQLite: one delete."""
        with self._transaction() as connection:
            cursor = self._run(connection, "delete_schedule", {"schedule_name": schedule_name})
            return bool(cursor.rowcount == 1)

    def record_schedule_fired(self, schedule_name: str, fired_at: str) -> None:
        """`SystemStorage.record_schedule_fired` on SQLite: one update."""
        params = {"schedule_name": schedule_name, "fired_at": fired_at}
        with self._transaction() as connection:
            self._run(connection, "record_schedule_fired", params)
