"""The stored-schedule calls of `SystemStorage` on Postgres, a base class of `PostgresStorage`
(its pool and statements)."""

from __future__ import annotations

from psycopg.rows import kwargs_row

from dbos.storage import ScheduleQuery, ScheduleRecord, as_params

from ._host import StorageHost

#: The statements select the columns under the record's field names.
_BY_NAME = kwargs_row(ScheduleRecord)


def _list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


class Schedules(StorageHost):
    """`create_schedule`, `apply_schedules`, `list_schedules`, `get_schedule`,
    `set_schedule_status`, `delete_schedule` and `record_schedule_fired` (see
    `SystemStorage`)."""

    def create_schedule(self, schedule: ScheduleRecord) -> bool:
        """`SystemStorage.create_schedule` on Postgres: one insert-or-ignore."""
        with self._connection() as connection:
            cursor = connection.execute(self._queries["insert_schedule"], as_params(schedule))
            return cursor.rowcount == 1

    def apply_schedules(self, schedules: tuple[ScheduleRecord, ...]) -> None:
        """`SystemStorage.apply_schedules` on Postgres: one upsert per schedule, in one
        transaction (the unique name makes racing applies leave one row)."""
        with self._connection() as connection, connection.transaction():
            for schedule in schedules:
                connection.execute(self._queries["upsert_schedule"], as_params(schedule))

    def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        """`SystemStorage.list_schedules` on Postgres: one query."""
        params = {
            "statuses": _list(query.statuses),
            "workflow_names": _list(query.workflow_names),
            "prefixes": _list(query.schedule_name_prefixes),
            "applications": _list(query.application_names),
        }
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_BY_NAME)
            return cursor.execute(self._queries["list_schedules"], params).fetchall()

    def get_schedule(self, schedule_name: str) -> ScheduleRecord | None:
        """`SystemStorage.get_schedule` on Postgres: one query."""
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_BY_NAME)
            params = {"schedule_name": schedule_name}
            return cursor.execute(self._queries["get_schedule"], params).fetchone()

    def set_schedule_status(self, schedule_name: str, status: str) -> bool:
        """`SystemStorage.set_schedule_status` on Postgres: one update."""
        params = {"schedule_name": schedule_name, "status": status}
        with self._connection() as connection:
            found = connection.execute(self._queries["set_schedule_status"], params).fetchone()
        return found is not None

    def delete_schedule(self, schedule_name: str) -> bool:
        """`SystemStorage.delete_schedule` on Postgres: one delete."""
        params = {"schedule_name": schedule_name}
        with self._connection() as connection:
            found = connection.execute(self._queries["delete_schedule"], params).fetchone()
        return found is not None

    def record_schedule_fired(self, schedule_name: str, fired_at: str) -> None:
        """`SystemStorage.record_schedule_fired` on Postgres: one update."""
        params = {"schedule_name": schedule_name, "fired_at": fired_at}
        with self._connection() as connection:
            connection.execute(self._queries["record_schedule_fired"], params)
