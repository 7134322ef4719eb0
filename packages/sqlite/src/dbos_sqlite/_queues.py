"""The stored-queue calls of `SystemStorage` on SQLite (issue 15), a base class of
`SQLiteStorage` (its connection, transactions and statements)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from dbos.storage import QUEUE_SETTINGS, DBOSConfigError, Lease, QueueDepth, StoredQueue, as_params

from ._host import StorageHost


def _queue(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> StoredQueue:
    """A cursor row factory: the statements select columns named after the record's fields
    (SQLite stores the flags as integers)."""
    names = [column[0] for column in cursor.description]
    fields = dict(zip(names, values, strict=True))
    fields["priority_enabled"] = bool(fields["priority_enabled"])
    fields["partition_queue"] = bool(fields["partition_queue"])
    return StoredQueue(**fields)


def lease_params(lease: Lease) -> dict[str, Any]:
    """`renew_lease`'s parameters: the lease's fields, its queues as the JSON text of a list
    (None: every queue)."""
    params = as_params(lease)
    queues = params.pop("queues")
    params["listened_queues"] = None if queues is None else json.dumps(list(queues))
    return params


def listened_queues(text: str | None) -> tuple[str, ...] | None:
    """A lease's stored queues, back from `lease_params`'s text."""
    return None if text is None else tuple(json.loads(text))


class StoredQueues(StorageHost):
    """`store_queue`, `get_queue`, `list_queues`, `update_queue`, `delete_queue` and
    `queue_depths` (see `SystemStorage`)."""

    def store_queue(self, queue: StoredQueue, replace: bool, now_ms: int) -> bool:
        """`SystemStorage.store_queue` on SQLite: a look and an upsert in one transaction."""
        names: tuple[str, ...] = StoredQueue.__slots__
        params = {name: getattr(queue, name) for name in names}
        params.update(replace=replace, now_ms=now_ms)
        with self._transaction() as connection:
            existed = self._run(connection, "select_queue_name", params).fetchone() is not None
            self._run(connection, "store_queue", params)
        return not existed

    def get_queue(self, name: str) -> StoredQueue | None:
        """`SystemStorage.get_queue` on SQLite: one query."""
        with self._reading() as connection:
            cursor = self._run(connection, "get_queue", {"name": name})
            cursor.row_factory = _queue
            found: StoredQueue | None = cursor.fetchone()
        return found

    def list_queues(self) -> list[StoredQueue]:
        """`SystemStorage.list_queues` on SQLite: one query."""
        with self._reading() as connection:
            cursor = self._run(connection, "list_queues", {})
            cursor.row_factory = _queue
            rows: list[StoredQueue] = cursor.fetchall()
        return rows

    def update_queue(
        self,
        name: str,
        changes: dict[str, int | float | None],
        now_ms: int,
        expected: StoredQueue | None = None,
    ) -> StoredQueue | None:
        """`SystemStorage.update_queue` on SQLite: the update and a read in one transaction."""
        unknown = sorted(set(changes) - set(QUEUE_SETTINGS))
        if unknown:
            raise DBOSConfigError(
                f"update_queue: {', '.join(unknown)} not among the queue settings {QUEUE_SETTINGS}"
            )
        params: dict[str, Any] = {"name": name, "now_ms": now_ms}
        params["conditional"] = expected is not None
        for setting in QUEUE_SETTINGS:
            params[f"set_{setting}"] = setting in changes
            params[setting] = changes.get(setting)
            params[f"expected_{setting}"] = None if expected is None else getattr(expected, setting)
        with self._transaction() as connection:
            if self._run(connection, "update_queue", params).rowcount == 0:
                return None
            cursor = self._run(connection, "get_queue", {"name": name})
            cursor.row_factory = _queue
            found: StoredQueue | None = cursor.fetchone()
        return found

    def delete_queue(self, name: str) -> bool:
        """`SystemStorage.delete_queue` on SQLite: one delete."""
        with self._transaction() as connection:
            deleted: int = self._run(connection, "delete_queue", {"name": name}).rowcount
        return deleted > 0

    def queue_depths(self) -> list[QueueDepth]:
        """`SystemStorage.queue_depths` on SQLite: one query."""
        with self._reading() as connection:
            rows = self._run(connection, "queue_depths", {}).fetchall()
        return [QueueDepth(str(name), int(queued), int(running)) for name, queued, running in rows]
