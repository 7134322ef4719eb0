"""The application-version calls of `SystemStorage` on SQLite, a base class of
`SQLiteStorage` (its connection, transactions and statements)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from dbos.storage import ApplicationVersion, StrandedVersion

from ._host import StorageHost


def _version(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> ApplicationVersion:
    """A cursor row factory: the statements select columns named after the record's fields."""
    names = [column[0] for column in cursor.description]
    return ApplicationVersion(**dict(zip(names, values, strict=True)))


class ApplicationVersions(StorageHost):
    """`register_application_version`, `list_application_versions`,
    `set_latest_application_version`, `count_stranded_workflows` and `move_workflows` (see
    `SystemStorage`)."""

    def register_application_version(self, version: ApplicationVersion) -> None:
        """`SystemStorage.register_application_version` on SQLite: one insert-or-ignore."""
        params = {
            "version_id": version.version_id,
            "version_name": version.version_name,
            "version_timestamp_ms": version.version_timestamp_ms,
            "created_at_ms": version.created_at_ms,
            "application_name": version.application_name,
        }
        with self._transaction() as connection:
            self._run(connection, "register_application_version", params)

    def list_application_versions(self) -> list[ApplicationVersion]:
        """`SystemStorage.list_application_versions` on SQLite: one query."""
        with self._reading() as connection:
            cursor = self._run(connection, "list_application_versions", {})
            cursor.row_factory = _version
            rows: list[ApplicationVersion] = cursor.fetchall()
        return rows

    def set_latest_application_version(
        self, version_name: str, now_ms: int
    ) -> ApplicationVersion | None:
        """`SystemStorage.set_latest_application_version` on SQLite: an update and a read in
        one write transaction (so no other writer's timestamp comes between)."""
        params = {"version_name": version_name, "now_ms": now_ms}
        with self._transaction() as connection:
            self._run(connection, "set_latest_application_version", params)
            cursor = self._run(connection, "select_application_version", params)
            cursor.row_factory = _version
            row: ApplicationVersion | None = cursor.fetchone()
        return row

    def count_stranded_workflows(self) -> list[StrandedVersion]:
        """`SystemStorage.count_stranded_workflows` on SQLite: one query, leases judged by this
        host's clock."""
        params = {"stranded_now_ms": int(time.time() * 1000)}
        with self._reading() as connection:
            rows = self._run(connection, "count_stranded_workflows", params).fetchall()
        return [StrandedVersion(v, int(p), int(e), int(at)) for v, p, e, at in rows]

    def move_workflows(
        self, workflow_ids: tuple[str, ...], application_version: str, queue_name: str, now_ms: int
    ) -> list[str]:
        """`SystemStorage.move_workflows` on SQLite: one ``BEGIN IMMEDIATE`` transaction (the
        file's single writer keeps claims and takeovers out meanwhile); leases judged by this
        host's clock."""
        params: dict[str, Any] = {
            "workflow_ids": json.dumps(list(workflow_ids)),
            "application_version": application_version,
            "queue_name": queue_name,
            "now_ms": now_ms,
        }
        with self._transaction() as connection:
            lease_params = {**params, "now_ms": int(time.time() * 1000)}
            ids = [str(row[0]) for row in self._run(connection, "select_movable", lease_params)]
            for workflow_id in ids:
                self._run(connection, "move_workflow", {**params, "workflow_id": workflow_id})
        return ids
