"""Moving workflows in time on Postgres: `rewind_workflow` and `set_workflow_delay` of
`SystemStorage`, a base class of `PostgresStorage` (its pool and statements)."""

from __future__ import annotations

from dbos.storage import TERMINAL_STATUSES, RewindRequest, as_params

from ._host import StorageHost

#: The statements of a rewind after the status check, in order: the event values are restored
#: from the history before the history from the cut on is deleted.
_REWIND = (
    "rewind_drop_events",
    "rewind_restore_events",
    "rewind_event_history",
    "rewind_stream_closes",
    "rewind_steps",
    "rewind_messages",
    "rewind_status",
)


class TimeOps(StorageHost):
    """`rewind_workflow` (one transaction holding the row), `release_cancelled` and
    `set_workflow_delay` (one statement each); see `SystemStorage`."""

    def rewind_workflow(self, request: RewindRequest) -> tuple[str, bool] | None:
        """`SystemStorage.rewind_workflow` on Postgres: locks the row (FOR UPDATE), checks its
        status and rewinds in the same transaction, so a concurrent claim, resume or
        recovery either finished before (and the status is no longer terminal) or waits and
        then finds the row ENQUEUED."""
        params = as_params(request)
        with self._connection() as connection, connection.transaction():
            found = connection.execute(self._queries["lock_workflow_for_rewind"], params).fetchone()
            if found is None:
                return None
            status, running = str(found[0]), bool(found[1])
            if status not in TERMINAL_STATUSES or running:
                return status, False
            for query in _REWIND:
                connection.execute(self._queries[query], params)
        return status, True

    def release_cancelled(self, workflow_id: str, instance_id: str) -> None:
        """`SystemStorage.release_cancelled`: one update."""
        params = {"workflow_id": workflow_id, "instance_id": instance_id}
        with self._connection() as connection:
            connection.execute(self._queries["release_cancelled"], params)

    def set_workflow_delay(self, workflow_id: str, delay_until_ms: int, now_ms: int) -> bool:
        """`SystemStorage.set_workflow_delay` on Postgres: one update."""
        params = {"workflow_id": workflow_id, "delay_until_ms": delay_until_ms, "now_ms": now_ms}
        with self._connection() as connection:
            return connection.execute(self._queries["set_workflow_delay"], params).rowcount == 1
