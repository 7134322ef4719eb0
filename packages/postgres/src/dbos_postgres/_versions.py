"""The application-version calls of `SystemStorage` on Postgres, a base class of
`PostgresStorage` (its pool and statements)."""

from __future__ import annotations

from psycopg.rows import kwargs_row

from dbos.storage import ApplicationVersion, StrandedVersion

from ._host import StorageHost

#: Rows of the statements that select the version columns under the record's field names.
_BY_NAME = kwargs_row(ApplicationVersion)


class ApplicationVersions(StorageHost):
    """`register_application_version`, `list_application_versions`,
    `set_latest_application_version`, `count_stranded_workflows` and `move_workflows` (see
    `SystemStorage`), one statement each."""

    def register_application_version(self, version: ApplicationVersion) -> None:
        """`SystemStorage.register_application_version` on Postgres: one insert-or-ignore."""
        params = {
            "version_id": version.version_id,
            "version_name": version.version_name,
            "version_timestamp_ms": version.version_timestamp_ms,
            "created_at_ms": version.created_at_ms,
            "application_name": version.application_name,
        }
        with self._connection() as connection:
            connection.execute(self._queries["register_application_version"], params)

    def list_application_versions(self) -> list[ApplicationVersion]:
        """`SystemStorage.list_application_versions` on Postgres: one query."""
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_BY_NAME)
            return cursor.execute(self._queries["list_application_versions"]).fetchall()

    def set_latest_application_version(
        self, version_name: str, now_ms: int
    ) -> ApplicationVersion | None:
        """`SystemStorage.set_latest_application_version` on Postgres: one update."""
        params = {"version_name": version_name, "now_ms": now_ms}
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_BY_NAME)
            return cursor.execute(
                self._queries["set_latest_application_version"], params
            ).fetchone()

    def count_stranded_workflows(self) -> list[StrandedVersion]:
        """`SystemStorage.count_stranded_workflows` on Postgres: one query, leases judged by
        the server's clock."""
        with self._connection() as connection:
            rows = connection.execute(self._queries["count_stranded_workflows"]).fetchall()
        return [
            StrandedVersion(version, pending, enqueued, at)
            for version, pending, enqueued, at in rows
        ]

    def move_workflows(
        self, workflow_ids: tuple[str, ...], application_version: str, queue_name: str, now_ms: int
    ) -> list[str]:
        """`SystemStorage.move_workflows` on Postgres: one ``SKIP LOCKED`` statement."""
        params = {
            "workflow_ids": list(workflow_ids),
            "application_version": application_version,
            "queue_name": queue_name,
            "now_ms": now_ms,
        }
        with self._connection() as connection:
            rows = connection.execute(self._queries["move_workflows"], params).fetchall()
        return [str(row[0]) for row in rows]
