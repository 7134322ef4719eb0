"""Step checkpoints on Postgres, a mixin of `PostgresStorage`: plain ones group-committed
(concurrent workflows' checkpoints share one statement and one commit, `GroupCommit`), and
those that commit with their step's writes (messages, events, stream entries).

A lone workflow's checkpoint runs at once in its own statement (the group commit's leader
never waits), so sharing costs nothing without concurrency. Each checkpoint is still
committed before its `record_step` returns, so a workflow never moves past an uncommitted
step.
"""

from __future__ import annotations

from typing import Any

import psycopg

from dbos.storage import (
    DBOSStorageError,
    EventRecord,
    GroupCommit,
    Message,
    StepWrite,
    StreamWrite,
)

from ._host import StorageHost
from ._params import stream_lock_key, write_params

#: What one checkpoint's caller gets back: (inserted, workflow status, owner), or the error
#: its own statement raised.
Found = tuple[Any, ...] | BaseException

#: Columns of the batch statement, in the order record_steps unnests them.
_ARRAYS = (
    ("workflow_ids", "workflow_id"),
    ("function_ids", "function_id"),
    ("function_names", "function_name"),
    ("outputs", "output"),
    ("errors", "error"),
    ("child_workflow_ids", "child_workflow_id"),
    ("started_ats", "started_at_ms"),
    ("completed_ats", "completed_at_ms"),
)


class StepCheckpoints(StorageHost):
    """`record_step` without writes, shared between concurrent callers."""

    _step_commits: GroupCommit[dict[str, Any], Found]

    def _new_step_commits(self) -> GroupCommit[dict[str, Any], Found]:
        # Two batches in flight: a checkpoint is on a workflow's critical path (it waits for
        # it before its next step), so a batch should not wait long for the one ahead of it.
        return GroupCommit(self._record_step_batch, in_flight=2)

    def _record_plain_step(self, params: dict[str, Any]) -> tuple[Any, ...]:
        """One checkpoint (the parameters of record_step): (inserted, status, owner).
        Raises what its own statement would raise alone (`DBOSStorageError` with the
        driver's error as its cause, `DBOSConnectionError`)."""
        found = self._step_commits.submit(params)
        assert not isinstance(found, BaseException)  # GroupCommit raised it
        return found

    def _record_step_batch(self, batch: list[dict[str, Any]]) -> list[Found]:
        if len(batch) == 1:
            return [self._record_alone(batch[0])]
        if len({(p["workflow_id"], p["function_id"]) for p in batch}) < len(batch):
            # Alone, or one operation twice (two executions of one workflow racing): each
            # checkpoint in its own statement, so the second sees the first's conflict.
            return [self._record_alone(params) for params in batch]
        arrays = {name: [p[field] for p in batch] for name, field in _ARRAYS}
        try:
            with self._connection() as connection:
                rows = connection.execute(
                    self._queries["record_steps"], arrays, prepare=True
                ).fetchall()
        except DBOSStorageError as exc:
            if isinstance(exc.__cause__, psycopg.errors.ForeignKeyViolation):
                # One workflow of the batch is gone: only its caller may fail.
                return [self._record_alone(params) for params in batch]
            raise
        return list(rows)

    def _record_alone(self, params: dict[str, Any]) -> Found:
        try:
            with self._connection() as connection:
                _, rows = self._lean["record_step"].rows(connection, params)
        except DBOSStorageError as exc:
            return exc
        return _found(rows)

    def _record_step_with_writes(
        self, params: dict[str, Any], writes: tuple[StepWrite, ...]
    ) -> tuple[Any, ...]:
        """The checkpoint and its step's writes in one transaction: (inserted, status, owner).
        After a conflict (nothing inserted) the writes are not made. Events and stream
        entries carry the step's function_id (fork_workflow copies them by it)."""
        streams = [(w.workflow_id, w.key) for w in writes if isinstance(w, StreamWrite)]
        with self._connection() as connection, connection.transaction():
            self._lock_streams(connection, streams)
            _, rows = self._lean["record_step"].rows(connection, params)
            if rows:
                for write in writes:
                    query = (
                        "send_message"
                        if isinstance(write, Message)
                        else "set_event"
                        if isinstance(write, EventRecord)
                        else "write_stream"
                    )
                    connection.execute(
                        self._queries[query],
                        write_params(write, params["function_id"]),
                        prepare=True,
                    )
        return _found(rows)

    def _lock_streams(
        self, connection: psycopg.Connection[Any], streams: list[tuple[str, str]]
    ) -> None:
        """Take the append locks of these streams for the caller's transaction, before any
        other write of it and in one global order, so two transactions appending to the same
        streams never deadlock."""
        keys = sorted({stream_lock_key(self._schema, w, k) for w, k in streams})
        for lock_key in keys:
            connection.execute(self._queries["lock_stream"], {"lock_key": lock_key}, prepare=True)


def _found(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """record_step's answer as (inserted, status, owner): its one row, or none when the
    operation was recorded already (nothing inserted)."""
    return (True, *rows[0]) if rows else (False, None, None)
