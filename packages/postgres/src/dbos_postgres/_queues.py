"""The stored-queue calls of `SystemStorage` on Postgres (issue 15), a base class of
`PostgresStorage` (its pool and statements)."""

from __future__ import annotations

import json
from typing import Any

from psycopg.rows import kwargs_row

from dbos.storage import (
    QUEUE_SETTINGS,
    DBOSConfigError,
    Lease,
    QueueDepth,
    StoredQueue,
    as_params,
)

from ._host import StorageHost

#: Rows of the statements that select the queue columns under the record's field names.
_QUEUE = kwargs_row(StoredQueue)


def queue_params(queue: StoredQueue) -> dict[str, Any]:
    """The fields of `queue` by name, as the statements name their parameters."""
    names: tuple[str, ...] = StoredQueue.__slots__
    return {name: getattr(queue, name) for name in names}


def update_params(
    name: str,
    changes: dict[str, int | float | None],
    now_ms: int,
    expected: StoredQueue | None = None,
) -> dict[str, Any]:
    """`update_queue`'s parameters: each setting's value and whether it changes, and, for a
    compare-and-set (`expected` given), each setting's expected value.

    Raises:
        DBOSConfigError: a key of `changes` that is not a setting."""
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
    return params


class StoredQueues(StorageHost):
    """`store_queue`, `get_queue`, `list_queues`, `update_queue`, `delete_queue` and
    `queue_depths` (see `SystemStorage`), one statement each."""

    def store_queue(self, queue: StoredQueue, replace: bool, now_ms: int) -> bool:
        """`SystemStorage.store_queue` on Postgres: one upsert."""
        params = {**queue_params(queue), "replace": replace, "now_ms": now_ms}
        with self._connection() as connection:
            row = connection.execute(self._queries["store_queue"], params).fetchone()
        # No row: the queue was there and was left as it is.
        return bool(row and row[0])

    def get_queue(self, name: str) -> StoredQueue | None:
        """`SystemStorage.get_queue` on Postgres: one query."""
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_QUEUE)
            return cursor.execute(self._queries["get_queue"], {"name": name}).fetchone()

    def list_queues(self) -> list[StoredQueue]:
        """`SystemStorage.list_queues` on Postgres: one query."""
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_QUEUE)
            return cursor.execute(self._queries["list_queues"], {}).fetchall()

    def update_queue(
        self,
        name: str,
        changes: dict[str, int | float | None],
        now_ms: int,
        expected: StoredQueue | None = None,
    ) -> StoredQueue | None:
        """`SystemStorage.update_queue` on Postgres: one update."""
        params = update_params(name, changes, now_ms, expected)
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=_QUEUE)
            return cursor.execute(self._queries["update_queue"], params).fetchone()

    def delete_queue(self, name: str) -> bool:
        """`SystemStorage.delete_queue` on Postgres: one delete."""
        with self._connection() as connection:
            row = connection.execute(self._queries["delete_queue"], {"name": name}).fetchone()
        return row is not None

    def queue_depths(self) -> list[QueueDepth]:
        """`SystemStorage.queue_depths` on Postgres: one query."""
        with self._connection() as connection:
            rows = connection.execute(self._queries["queue_depths"], {}).fetchall()
        return [QueueDepth(str(name), int(queued), int(running)) for name, queued, running in rows]


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
