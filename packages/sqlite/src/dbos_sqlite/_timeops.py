"""Moving workflows in time on SQLite: `rewind_workflow` and `set_workflow_delay` of
`SystemStorage`, a base class of `SQLiteStorage` (its transactions and statements)."""

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
    """`rewind_workflow`, `release_cancelled` and `set_workflow_delay` (see `SystemStorage`),
    each one write transaction."""

    def rewind_workflow(self, request: RewindRequest) -> tuple[str, bool] | None:
        """`SystemStorage.rewind_workflow` on SQLite: the status check and the rewind in one
        BEGIN IMMEDIATE transaction (the database's single writer), so no claim, resume or
        recovery of the row can come between them."""
        params = as_params(request)
        with self._transaction() as connection:
            found = self._run(connection, "select_status_for_rewind", params).fetchone()
            if found is None:
                return None
            status, running = str(found[0]), bool(found[1])
            if status not in TERMINAL_STATUSES or running:
                return status, False
            for query in _REWIND:
                self._run(connection, query, params)
        return status, True

    def release_cancelled(self, workflow_id: str, instance_id: str) -> None:
        """`SystemStorage.release_cancelled`: one update."""
        params = {"workflow_id": workflow_id, "instance_id": instance_id}
        with self._transaction() as connection:
            self._run(connection, "release_cancelled", params)

    def set_workflow_delay(self, workflow_id: str, delay_until_ms: int, now_ms: int) -> bool:
        """`SystemStorage.set_workflow_delay` on SQLite: one update."""
        params = {"workflow_id": workflow_id, "delay_until_ms": delay_until_ms, "now_ms": now_ms}
        with self._transaction() as connection:
            return int(self._run(connection, "set_workflow_delay", params).rowcount) == 1
