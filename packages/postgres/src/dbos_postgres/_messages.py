"""Bulk and idempotent sends and reading all events on Postgres (`SystemStorage.send_many`,
`get_all_events`), a base class of `PostgresStorage` (its pool, statements and the write
helper that translates constraint errors). Idempotency keys live in ``message_keys``, taken
in the statement that stores the message (see send_message in queries.sql)."""

from __future__ import annotations

from typing import Any

from dbos.storage import (
    DBOSNonExistentWorkflowError,
    Message,
    StepAck,
    StepRecord,
    WorkflowRow,
)

from ._host import StorageHost


class BulkMessages(StorageHost):
    """`send_many` and `get_all_events` (see `SystemStorage`), one statement each."""

    def _write_with_step(
        self, query: str, params: dict[str, Any], step: StepRecord | None, target: str
    ) -> StepAck:
        raise NotImplementedError  # PostgresStorage's

    def record_step(self, step: StepRecord, writes: tuple[Any, ...] = ()) -> StepAck:
        raise NotImplementedError  # PostgresStorage's

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        raise NotImplementedError  # PostgresStorage's

    def send_many(self, messages: tuple[Message, ...], step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send_many` on Postgres: one statement over arrays of the messages
        (with `step`'s checkpoint). Raises `DBOSNonExistentWorkflowError` for the first unknown
        destination (found by a second query, on that error only), `DBOSStepConflictError` if
        `step` is recorded already."""
        if not messages:
            return self.record_step(step) if step is not None else StepAck(workflow_status=None)
        params: dict[str, Any] = {
            "message_ids": [m.message_id for m in messages],
            "destination_ids": [m.destination_id for m in messages],
            "topics": [m.topic for m in messages],
            "messages": [m.message for m in messages],
            "created_ats": [m.created_at_ms for m in messages],
            "idempotency_keys": [m.idempotency_key for m in messages],
            "trace_carriers": [m.trace_carrier for m in messages],
        }
        query = "send_messages" if step is None else "send_messages_step"
        try:
            return self._write_with_step(query, params, step, messages[0].destination_id)
        except DBOSNonExistentWorkflowError as exc:
            if step is not None and exc.workflow_id == step.workflow_id:
                raise
            for destination_id in dict.fromkeys(m.destination_id for m in messages):
                if self.get_workflow(destination_id) is None:
                    raise DBOSNonExistentWorkflowError(destination_id) from exc
            raise

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """`SystemStorage.get_all_events` on Postgres: one query."""
        with self._connection() as connection:
            rows = connection.execute(
                self._queries["get_all_events"], {"workflow_id": workflow_id}, prepare=True
            ).fetchall()
        return {str(key): str(value) for key, value in rows}
