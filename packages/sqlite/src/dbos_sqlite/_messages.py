"""Bulk and idempotent sends, receiving, and reading all events on SQLite
(`SystemStorage.send_many`, `recv`, `get_all_events`), a base class of `SQLiteStorage` (its
connections and statements). Idempotency keys live in ``message_keys``, taken in the
transaction that stores the message; a message's trace carrier is stored with it and handed
back by the `recv` that consumes it."""

from __future__ import annotations

import sqlite3

from dbos.storage import (
    DBOSStepConflictError,
    Message,
    RecvRequest,
    StepAck,
    StepRecord,
    as_params,
)

from ._host import StorageHost


class BulkMessages(StorageHost):
    """`send_many`, `recv` and `get_all_events` (see `SystemStorage`), and how every path
    stores a message (`_insert_message`)."""

    def _require_workflow(self, connection: sqlite3.Connection, workflow_id: str) -> None:
        raise NotImplementedError  # SQLiteStorage's

    def _record_in(self, connection: sqlite3.Connection, step: StepRecord | None) -> StepAck:
        raise NotImplementedError  # SQLiteStorage's

    def _insert_message(self, connection: sqlite3.Connection, message: Message) -> None:
        """Store `message` unless its idempotency key was used for its destination before."""
        params = as_params(message)
        keyed = message.idempotency_key is not None
        if keyed and self._run(connection, "take_message_key", params).rowcount != 1:
            return  # the key was used for this destination before: delivered already
        self._run(connection, "insert_message", params)

    def send_many(self, messages: tuple[Message, ...], step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send_many` on SQLite: every message (and `step`'s checkpoint) in one
        transaction. Raises `DBOSNonExistentWorkflowError` for the first unknown destination,
        `DBOSStepConflictError` if `step` is recorded already; either way nothing is stored."""
        with self._transaction() as connection:
            for destination_id in dict.fromkeys(m.destination_id for m in messages):
                self._require_workflow(connection, destination_id)
            ack = self._record_in(connection, step)
            for message in messages:
                self._insert_message(connection, message)
        return ack

    def recv(self, request: RecvRequest) -> StepRecord | None:
        """`SystemStorage.recv` on SQLite: reads the oldest message of the topic, records it as the
        step and deletes it, in one transaction; None if there is none. Raises
        `DBOSStepConflictError` (and consumes nothing) if the step is recorded already, message
        or not. The returned record carries the message's trace carrier (not recorded with the
        step)."""
        params = as_params(request)
        with self._transaction() as connection:
            if self._run(connection, "step_recorded", params).fetchone() is not None:
                raise DBOSStepConflictError(request.workflow_id, request.function_id)
            found = self._run(connection, "oldest_message", params).fetchone()
            if found is None:
                return None
            seq, text, carrier = found
            record = StepRecord(
                workflow_id=request.workflow_id,
                function_id=request.function_id,
                function_name=request.function_name,
                output=text,
                error=None,
                started_at_ms=(
                    request.now_ms if request.started_at_ms is None else request.started_at_ms
                ),
                completed_at_ms=request.now_ms,
                trace_carrier=carrier,
            )
            self._record_in(connection, record)
            self._run(connection, "delete_message", {"seq": seq})
        return record

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """`SystemStorage.get_all_events` on SQLite: one query."""
        with self._reading() as connection:
            rows = self._run(connection, "get_all_events", {"workflow_id": workflow_id}).fetchall()
        return {str(key): str(value) for key, value in rows}
