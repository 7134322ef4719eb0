"""`SQLiteStorage`: the system database in one SQLite file (WAL mode).

One connection per storage object, guarded by a lock: SQLite serializes writers anyway, and
within one process a lock is cheaper than a busy-wait between connections. Writes run in
``BEGIN IMMEDIATE`` transactions so that other processes on the same file (which wait up to the
busy timeout) never interleave with a read-then-write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from dbos.storage import (
    AppliedMigration,
    ClaimRequest,
    DBOSConfigError,
    DBOSConnectionError,
    DBOSMigrationError,
    DBOSNonExistentWorkflowError,
    DBOSStepConflictError,
    DBOSStorageError,
    DBOSWorkflowConflictIDError,
    EventRecord,
    FinishedAndClaimed,
    ForkRequest,
    Lease,
    LeaseHolder,
    Message,
    Migration,
    NewWorkflow,
    PartitionLoad,
    QueueActivity,
    ResumeResult,
    StepAck,
    StepRecord,
    StepWrite,
    StorageOptions,
    StreamEntry,
    StreamRead,
    StreamWrite,
    Wakeup,
    WorkflowInit,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowRow,
    as_params,
    claimable,
    load_migrations,
    load_queries,
    partition_quotas,
    pending_migrations,
)

from ._attributes import merged, register_functions
from ._batch import BatchWorkflows
from ._columns import with_workflow_row, workflow_row
from ._identity import FileIdentity
from ._listing import list_workflows_sql
from ._messages import BulkMessages
from ._queues import StoredQueues, lease_params, listened_queues
from ._schedules import Schedules
from ._timeops import TimeOps
from ._url import SQLiteSettings, absolute_sqlite_url, parse_sqlite_url
from ._versions import ApplicationVersions

#: Workflows one retention transaction deletes at most (it repeats until fewer are left).
DELETE_BATCH = 1_000

_QUERIES = with_workflow_row(load_queries(__package__ or "dbos_sqlite", "sql/queries.sql"))
_MIGRATIONS = load_migrations(__package__ or "dbos_sqlite")


def _split_statements(script: str) -> list[str]:
    """Statements of a migration script (executescript would commit mid-transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in current.splitlines()
    ):
        raise DBOSMigrationError(f"incomplete SQL statement in migration: {current[:80]!r}")
    return statements


class SQLiteStorage(
    ApplicationVersions, BatchWorkflows, BulkMessages, Schedules, TimeOps, StoredQueues
):
    """The `StorageBackend` protocol on an SQLite file (core adds the wake-ups)."""

    def __init__(self, url: str, options: StorageOptions | None = None) -> None:
        self._url = url
        self._settings: SQLiteSettings = parse_sqlite_url(url)
        self._display_url = absolute_sqlite_url(url, self._settings.path)
        self._connection: sqlite3.Connection | None = None
        self._identity: FileIdentity | None = None
        self._lock = threading.RLock()
        self._closed = False

    @property
    def url_for_display(self) -> str:
        """`SystemStorage.url_for_display`: the URL (an SQLite URL holds no password), with a
        relative path made absolute from the working directory at construction: a command
        pasted from a log, run elsewhere, names the same file."""
        return self._display_url

    @property
    def path(self) -> str:
        """The database file's path, as the URL gives it (relative to the working directory unless
        absolute)."""
        return str(self._settings.path)

    # --- connection and transactions -------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise DBOSStorageError("this SQLite storage is closed")
        if self._connection is not None:
            return self._connection
        path = self._settings.path
        if not path.parent.exists():
            raise DBOSConnectionError(
                f"cannot open SQLite database {str(path)!r}: directory "
                f"{str(path.parent)!r} does not exist"
            )
        try:
            connection = sqlite3.connect(
                str(path),
                timeout=self._settings.timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            self._enable_wal(connection)
            connection.execute(_QUERIES[f"synchronous_{self._settings.synchronous}"])
            connection.execute(_QUERIES["enable_foreign_keys"])
            register_functions(connection)
        except sqlite3.Error as exc:
            raise DBOSConnectionError(f"cannot open SQLite database {str(path)!r}: {exc}") from exc
        try:
            # Opening created the file if it was missing: this is the file the connection uses.
            self._identity = FileIdentity.of(path)
        except OSError as exc:
            connection.close()
            raise DBOSConnectionError(f"cannot open SQLite database {str(path)!r}: {exc}") from exc
        self._connection = connection
        return connection

    def _enable_wal(self, connection: sqlite3.Connection) -> None:
        """Switch the file to WAL. Converting a new file needs an exclusive lock for a moment,
        and SQLite answers "database is locked" at once, without its busy timeout, when
        another process is opening the same file: retry within the timeout."""
        deadline = time.monotonic() + self._settings.timeout_s
        while True:
            try:
                connection.execute(_QUERIES["configure_connection"])
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE) holding this object's lock."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            try:
                yield connection
                # Checked under the write lock, just before the commit: a deleted or replaced
                # file would swallow this write and every later one without a word.
                self._check_identity()
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            try:
                connection.execute("COMMIT")
            except sqlite3.Error as exc:
                connection.execute("ROLLBACK")
                raise self._translate(exc) from exc

    def _check_identity(self) -> None:
        """Raise `SQLiteFileChangedError` if the path no longer leads to the opened file."""
        if self._identity is not None:
            self._identity.check()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connect()

    def _translate(self, exc: sqlite3.Error) -> DBOSStorageError:
        if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
            return DBOSConnectionError(f"SQLite database {self.path!r}: {exc}")
        return DBOSStorageError(f"SQLite database {self.path!r}: {exc}")

    def _run(self, connection: sqlite3.Connection, query: str, params: dict[str, Any]) -> Any:
        try:
            return connection.execute(_QUERIES[query], params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc

    # --- lifecycle and migrations ----------------------------------------------------------

    def setup(self) -> None:
        """`SystemStorage.setup` on SQLite: opens (and so creates) the file in WAL mode, then
        applies pending migrations, one transaction each. A missing directory raises
        `DBOSConnectionError`."""
        with self._lock:
            self._connect()
            self.migrate()

    def migrate(self) -> list[str]:
        """Apply pending migrations, one transaction each; returns the names applied."""
        applied_now: list[str] = []
        with self._lock:
            connection = self._connect()
            self._run(connection, "create_ledger", {})
            while True:
                with self._transaction() as txn:
                    pending = pending_migrations(_MIGRATIONS, self._ledger(txn))
                    if not pending:
                        break
                    self._apply(txn, pending[0])
                    applied_now.append(f"{pending[0].version:04d}_{pending[0].name}")
        return applied_now

    def _require_file(self) -> None:
        """Refuse to create the file: for callers that only read or manage an existing
        database (`DBOSClient`, the `dbos` command), a missing file is a wrong path."""
        path = self._settings.path
        if self._connection is None and not path.exists():
            raise DBOSConfigError(
                f"the SQLite database file {str(path.absolute())!r} does not exist (from "
                f"{self._url!r}); check the path, or launch the app (or run `dbos migrate`) "
                "to create it"
            )

    def verify_schema(self) -> list[str]:
        """Check the schema without changing it; returns the names of pending migrations.

        Raises:
            DBOSConfigError: the file does not exist (it is not created).
            DBOSMigrationError: applied migrations differ from this code's files.
        """
        self._require_file()
        with self._reading() as connection:
            exists = self._run(connection, "ledger_exists", {}).fetchone()
            applied = self._ledger(connection) if exists else []
        return [f"{m.version:04d}_{m.name}" for m in pending_migrations(_MIGRATIONS, applied)]

    def _ledger(self, connection: sqlite3.Connection) -> list[AppliedMigration]:
        rows = self._run(connection, "select_ledger", {}).fetchall()
        return [AppliedMigration(int(v), str(n), str(c)) for v, n, c in rows]

    def _apply(self, connection: sqlite3.Connection, migration: Migration) -> None:
        try:
            for statement in _split_statements(migration.sql):
                connection.execute(statement)
        except sqlite3.Error as exc:
            raise DBOSMigrationError(
                f"migration {migration.version} ({migration.name}) failed on {self.path!r}: {exc}"
            ) from exc
        self._run(
            connection,
            "record_migration",
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum,
                "applied_at": int(time.time() * 1000),
            },
        )

    def close(self) -> None:
        """`SystemStorage.close`: closes the connection; later calls raise `DBOSStorageError`."""
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._identity = None

    # --- workflows -------------------------------------------------------------------------

    def create_workflow(self, workflow: NewWorkflow) -> WorkflowInit:
        """`SystemStorage.create_workflow` on SQLite: insert-or-keep and read back in one
        ``BEGIN IMMEDIATE`` transaction. Raises `DBOSQueueDeduplicatedError` when an active task
        of the queue has the same deduplication ID, `ScheduleInactiveError` (a tick)."""
        params = as_params(workflow)
        with self._transaction() as connection:
            self._check_tick(connection, workflow, params)
            created = self._insert_workflow(connection, workflow, params)
            row = self._select_workflow(connection, workflow.workflow_id)
        assert row is not None
        return WorkflowInit(created=created, row=row)

    def _select_workflow(
        self, connection: sqlite3.Connection, workflow_id: str
    ) -> WorkflowRow | None:
        cursor = self._run(connection, "select_workflow", {"workflow_id": workflow_id})
        cursor.row_factory = workflow_row
        found: WorkflowRow | None = cursor.fetchone()
        return found

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        """`SystemStorage.get_workflow`: one workflow row, or None."""
        with self._reading() as connection:
            return self._select_workflow(connection, workflow_id)

    def record_step(self, step: StepRecord, writes: tuple[StepWrite, ...] = ()) -> StepAck:
        """`SystemStorage.record_step` on SQLite: the checkpoint and the step's writes in one
        transaction. Raises `DBOSStepConflictError` if
        the operation is recorded already (nothing is written), `DBOSNonExistentWorkflowError`
        for an unknown workflow or message destination."""
        params = as_params(step)
        with self._transaction() as connection:
            try:
                inserted = self._run(connection, "insert_step", params).rowcount == 1
            except sqlite3.IntegrityError as exc:
                raise DBOSNonExistentWorkflowError(step.workflow_id) from exc
            if not inserted:
                raise DBOSStepConflictError(step.workflow_id, step.function_id)
            for write in writes:
                self._apply_write(connection, write, step.function_id)
            status = self._run(connection, "select_status", params).fetchone()
        if status is None:
            return StepAck(workflow_status=None)
        return StepAck(workflow_status=status[0], owner_instance=status[1])

    def _apply_write(
        self, connection: sqlite3.Connection, write: StepWrite, function_id: int | None
    ) -> None:
        """One write inside the caller's transaction. Events and stream entries record
        `function_id`, the operation that made them (None: none), for fork_workflow."""
        if isinstance(write, Message):
            self._require_workflow(connection, write.destination_id)
            self._insert_message(connection, write)
        elif isinstance(write, EventRecord):
            params = {**as_params(write), "function_id": function_id}
            self._run(connection, "upsert_event", params)
            if function_id is not None:
                self._run(connection, "upsert_event_history", params)
        else:
            params = {**as_params(write), "function_id": function_id}
            self._run(connection, "append_stream", params)

    def load_steps(self, workflow_id: str) -> list[StepRecord]:
        """`SystemStorage.load_steps`: a workflow's recorded operations in `function_id` order."""
        with self._reading() as connection:
            rows = self._run(connection, "select_steps", {"workflow_id": workflow_id}).fetchall()
        return [StepRecord(*row) for row in rows]

    def finish_workflow(self, outcome: WorkflowOutcome) -> str:
        """`SystemStorage.finish_workflow` on SQLite: one transaction; returns the status the row
        has afterwards. Raises
        `DBOSNonExistentWorkflowError` for an unknown workflow."""
        with self._transaction() as connection:
            status = self._finish(connection, outcome)
        return status

    def _finish(self, connection: sqlite3.Connection, outcome: WorkflowOutcome) -> str:
        params = as_params(outcome)
        self._run(connection, "finish_workflow", params)
        status = self._run(connection, "select_status", params).fetchone()
        if status is None:
            raise DBOSNonExistentWorkflowError(outcome.workflow_id)
        return str(status[0])

    def finish_and_claim(
        self, outcome: WorkflowOutcome, request: ClaimRequest
    ) -> FinishedAndClaimed:
        """`SystemStorage.finish_and_claim` on SQLite: the finish and the claim in one
        transaction."""
        with self._transaction() as connection:
            status = self._finish(connection, outcome)
            claimed = self._claim(connection, request)
        return FinishedAndClaimed(status, claimed)

    def recover_pending(
        self, executor_id: str, application_version: str, instance_id: str | None = None
    ) -> list[WorkflowRow]:
        """`SystemStorage.recover_pending` on SQLite: counts a recovery attempt on each of the
        executor's PENDING workflows of this version (with an `instance_id`, those no live
        instance owns), putting a queue's tasks back on their queue, in one transaction, and
        returns their rows."""
        params = {
            "executor_id": executor_id,
            "application_version": application_version,
            "instance_id": instance_id,
            "now_ms": int(time.time() * 1000),
        }
        with self._transaction() as connection:
            ids = [row[0] for row in self._run(connection, "select_recoverable", params)]
            return self._count_recoveries(connection, ids, params)

    def _count_recoveries(
        self,
        connection: sqlite3.Connection,
        ids: list[str],
        params: dict[str, Any],
        take_over: bool = False,
    ) -> list[WorkflowRow]:
        rows: list[WorkflowRow] = []
        for workflow_id in ids:
            one = {**params, "workflow_id": workflow_id}
            # Counted first, while the row still names its old owner: that decides whether a
            # queue's task goes back to its queue; any other row is then taken over.
            self._run(connection, "count_recovery_attempt", one)
            if take_over:
                self._run(connection, "take_over_one", one)
            row = self._select_claimed(connection, workflow_id)
            if row is not None:
                rows.append(row)
        return rows

    def take_over_workflows(
        self, instance_id: str, executor_id: str, application_version: str, limit: int
    ) -> list[WorkflowRow]:
        """`SystemStorage.take_over_workflows` on SQLite: one ``BEGIN IMMEDIATE`` transaction (the
        file's single writer makes concurrent takeovers take disjoint rows); leases judged by
        this host's clock."""
        params = {
            "instance_id": instance_id,
            "executor_id": executor_id,
            "application_version": application_version,
            "limit": limit,
            "now_ms": int(time.time() * 1000),
        }
        with self._transaction() as connection:
            ids = [row[0] for row in self._run(connection, "select_abandoned", params)]
            return self._count_recoveries(connection, ids, params, take_over=True)

    def renew_lease(self, lease: Lease) -> None:
        """`SystemStorage.renew_lease` on SQLite: one transaction, by this host's clock."""
        params = {**lease_params(lease), "now_ms": int(time.time() * 1000)}
        with self._transaction() as connection:
            self._run(connection, "forget_old_leases", params)
            self._run(connection, "renew_lease", params)

    def list_leases(self, host: str | None = None) -> list[LeaseHolder]:
        """`SystemStorage.list_leases` on SQLite: one query, by this host's clock."""
        params = {"host": host, "now_ms": int(time.time() * 1000)}
        with self._reading() as connection:
            rows = self._run(connection, "list_leases", params).fetchall()
        return [
            LeaseHolder(
                str(i), str(e), str(v), str(h), int(p), int(x), bool(live), listened_queues(q)
            )
            for i, e, v, h, p, x, live, q in rows
        ]

    def release_lease(self, instance_id: str) -> None:
        """`SystemStorage.release_lease` on SQLite: one transaction."""
        with self._transaction() as connection:
            self._run(connection, "release_lease", {"instance_id": instance_id})

    def claim_queued(self, request: ClaimRequest) -> list[WorkflowRow]:
        """`SystemStorage.claim_queued` on SQLite: counts and claims in one ``BEGIN IMMEDIATE``
        transaction, which serializes claimers (one writer per file at a time)."""
        with self._transaction() as connection:
            return self._claim(connection, request)

    def _claim(self, connection: sqlite3.Connection, request: ClaimRequest) -> list[WorkflowRow]:
        queue = request.queue
        params: dict[str, Any] = {
            "queue_name": queue.name,
            "executor_id": request.executor_id,
            "instance_id": request.instance_id,
            "application_version": request.application_version,
            "takes_unversioned": request.takes_unversioned,
            "now_ms": request.now_ms,
            "workflow_names": json.dumps(list(request.workflow_names)),
            "since_ms": request.now_ms - int((queue.period_s or 0) * 1000),
            "partition_since_ms": request.now_ms - int((queue.partition_period_s or 0) * 1000),
        }
        ids = self._candidates(connection, request, params)
        claimed: list[WorkflowRow] = []
        for workflow_id in ids:
            self._run(connection, "claim_one", {**params, "workflow_id": workflow_id})
            row = self._select_claimed(connection, workflow_id)
            if row is not None:
                claimed.append(row)
        return claimed

    def _select_claimed(
        self, connection: sqlite3.Connection, workflow_id: str
    ) -> WorkflowRow | None:
        """A claimed (or recovered) row, with whether it has recorded operations."""
        cursor = self._run(connection, "select_claimed", {"workflow_id": workflow_id})
        cursor.row_factory = workflow_row
        row: WorkflowRow | None = cursor.fetchone()
        # SQLite answers EXISTS with 0 or 1.
        return None if row is None else replace(row, has_operations=bool(row.has_operations))

    def _candidates(
        self, connection: sqlite3.Connection, request: ClaimRequest, params: dict[str, Any]
    ) -> list[str]:
        """The tasks to claim: up to what the process and the whole-queue limits allow, and on
        a partitioned queue within each partition's limits, partitions round robin."""
        queue = request.queue
        running = started = 0
        if queue.concurrency is not None:
            running = self._run(connection, "queue_running", params).fetchone()[0]
        if queue.limit is not None:
            started = self._run(connection, "queue_started_since", params).fetchone()[0]
        limit = claimable(queue, request.capacity, running, started)
        if limit <= 0:
            return []
        if not queue.partitioned:
            found = self._run(connection, "queue_candidates", {**params, "limit": limit})
            return [row[0] for row in found]
        loads = [PartitionLoad(*row) for row in self._run(connection, "partition_loads", params)]
        ids: list[str] = []
        for key, count in partition_quotas(queue, limit, loads).items():
            found = self._run(
                connection,
                "partition_candidates",
                {**params, "partition_key": key, "limit": count},
            )
            ids.extend(row[0] for row in found)
        return ids

    def cancel_workflow(self, workflow_id: str, now_ms: int) -> str | None:
        """`SystemStorage.cancel_workflow` on SQLite: returns the status afterwards (None for an
        unknown workflow)."""
        params = {"workflow_id": workflow_id, "now_ms": now_ms}
        with self._transaction() as connection:
            self._run(connection, "cancel_workflow", params)
            status = self._run(connection, "select_status", params).fetchone()
        return None if status is None else str(status[0])

    def resume_workflow(
        self,
        workflow_id: str,
        executor_id: str,
        application_version: str,
        now_ms: int,
        instance_id: str | None = None,
    ) -> ResumeResult | None:
        """`SystemStorage.resume_workflow` on SQLite: the update and the read-back in one
        transaction; None for an unknown workflow."""
        params = {
            "workflow_id": workflow_id,
            "executor_id": executor_id,
            "application_version": application_version,
            "now_ms": now_ms,
            "instance_id": instance_id,
        }
        with self._transaction() as connection:
            resumed = self._run(connection, "resume_workflow", params).rowcount == 1
            row = self._select_workflow(connection, workflow_id)
        return None if row is None else ResumeResult(resumed, row)

    def cancel_expired(self, now_ms: int) -> list[str]:
        """`SystemStorage.cancel_expired` on SQLite: one transaction; returns the IDs
        cancelled."""
        params = {"now_ms": now_ms}
        with self._transaction() as connection:
            expired = [row[0] for row in self._run(connection, "select_expired", params)]
            if expired:
                self._run(connection, "cancel_expired", params)
        return expired

    def listen(self) -> None:
        # One process per file: there are no other writers to hear.
        """`SystemStorage.listen`: nothing to do on SQLite, which has no notifications. Another
        process's writes on the same file are only seen by polling."""
        return None

    def relay_notifications(self, deliver: Callable[[Wakeup | QueueActivity | None], None]) -> None:
        """`StorageBackend.relay_notifications`: never calls `deliver` on SQLite, which has no
        notifications between processes (core wakes this process's waiters itself)."""
        return None

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, merge: bool, now_ms: int
    ) -> bool:
        """`SystemStorage.update_workflow_attributes` on SQLite: a merge reads and writes in
        one ``BEGIN IMMEDIATE`` transaction, so concurrent merges all land."""
        params = {"workflow_id": workflow_id, "attributes": attributes, "now_ms": now_ms}
        with self._transaction() as connection:
            found = self._run(connection, "select_attributes", params).fetchone()
            if found is None:
                return False
            if merge and attributes is not None:
                params["attributes"] = merged(found[0], attributes)
            self._run(connection, "update_workflow_attributes", params)
        return True

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRow]:
        """`SystemStorage.list_workflows` on SQLite: one query built from `query`'s filters."""
        sql, params = list_workflows_sql(query)
        with self._reading() as connection:
            try:
                cursor = connection.execute(sql, params)
                cursor.row_factory = workflow_row
                rows: list[WorkflowRow] = cursor.fetchall()
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
        return rows

    # --- messages, events and streams -------------------------------------------------------

    def _require_workflow(self, connection: sqlite3.Connection, workflow_id: str) -> None:
        found = self._run(connection, "workflow_exists", {"workflow_id": workflow_id}).fetchone()
        if found is None:
            raise DBOSNonExistentWorkflowError(workflow_id)

    def _record_in(self, connection: sqlite3.Connection, step: StepRecord | None) -> StepAck:
        """Record `step` inside the caller's transaction (raising rolls everything back)."""
        if step is None:
            return StepAck(workflow_status=None)
        params = as_params(step)
        self._require_workflow(connection, step.workflow_id)
        if self._run(connection, "insert_step", params).rowcount != 1:
            raise DBOSStepConflictError(step.workflow_id, step.function_id)
        status = self._run(connection, "select_status", params).fetchone()
        if status is None:
            return StepAck(workflow_status=None)
        return StepAck(workflow_status=status[0], owner_instance=status[1])

    def send(self, message: Message, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send` on SQLite: the message (and `step`'s checkpoint) in one transaction.
        Raises `DBOSNonExistentWorkflowError` for an unknown destination, `DBOSStepConflictError`
        if `step` is recorded already."""
        with self._transaction() as connection:
            self._require_workflow(connection, message.destination_id)
            ack = self._record_in(connection, step)
            self._insert_message(connection, message)
        return ack

    def set_event(self, event: EventRecord, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.set_event` on SQLite: the event (and `step`'s checkpoint) in one
        transaction. Raises `DBOSNonExistentWorkflowError` for an unknown workflow,
        `DBOSStepConflictError` if `step` is recorded already."""
        with self._transaction() as connection:
            self._require_workflow(connection, event.workflow_id)
            ack = self._record_in(connection, step)
            self._apply_write(connection, event, None if step is None else step.function_id)
        return ack

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """`SystemStorage.get_event`: the event's stored text, or None if it was never set."""
        with self._reading() as connection:
            params = {"workflow_id": workflow_id, "key": key}
            found = self._run(connection, "get_event", params).fetchone()
        return None if found is None else str(found[0])

    def write_stream(self, write: StreamWrite, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.write_stream` on SQLite: the append (and `step`'s checkpoint) in one
        transaction. Raises `DBOSNonExistentWorkflowError` for an unknown workflow,
        `DBOSStepConflictError` if `step` is recorded already."""
        with self._transaction() as connection:
            self._require_workflow(connection, write.workflow_id)
            ack = self._record_in(connection, step)
            self._apply_write(connection, write, None if step is None else step.function_id)
        return ack

    def read_stream(self, workflow_id: str, key: str, from_offset: int) -> StreamRead:
        """`SystemStorage.read_stream` on SQLite: the writer's status and the entries at
        `from_offset` or later, read under one lock."""
        params = {"workflow_id": workflow_id, "key": key, "from_offset": from_offset}
        with self._reading() as connection:
            status = self._run(connection, "select_status", params).fetchone()
            rows = self._run(connection, "read_stream", params).fetchall()
        return StreamRead(
            None if status is None else str(status[0]),
            tuple(StreamEntry(int(offset), value) for offset, value in rows),
        )

    # --- management ------------------------------------------------------------------------

    def reset_system_database(self) -> None:
        """`SystemStorage.reset_system_database` on SQLite: drops every table of the file in one
        transaction (the file itself stays). Raises `DBOSConfigError` if the file does not exist
        (it is not created)."""
        self._require_file()
        with self._lock:
            connection = self._connect()
            # PRAGMA foreign_keys has no effect inside a transaction: switch it off around it.
            self._run(connection, "disable_foreign_keys", {})
            try:
                with self._transaction() as txn:
                    tables = [row[0] for row in self._run(txn, "select_tables", {})]
                    for table in tables:
                        # Names come from sqlite_master; quoted as identifiers.
                        txn.execute('DROP TABLE "{}"'.format(table.replace('"', '""')))
            finally:
                self._run(connection, "enable_foreign_keys", {})

    def cancel_workflows(self, workflow_ids: tuple[str, ...], now_ms: int) -> dict[str, str]:
        """`SystemStorage.cancel_workflows` on SQLite: one transaction; returns the status of each
        ID that exists."""
        params = {"workflow_ids": json.dumps(list(workflow_ids)), "now_ms": now_ms}
        with self._transaction() as connection:
            self._run(connection, "cancel_workflows", params)
            rows = self._run(connection, "select_statuses", params).fetchall()
        return {str(workflow_id): str(status) for workflow_id, status in rows}

    def requeue_workflows(
        self, workflow_ids: tuple[str, ...], queue_name: str, now_ms: int
    ) -> list[str]:
        """`SystemStorage.requeue_workflows` on SQLite: one transaction; returns the IDs
        requeued."""
        params: dict[str, Any] = {
            "workflow_ids": json.dumps(list(workflow_ids)),
            "queue_name": queue_name,
            "now_ms": now_ms,
        }
        with self._transaction() as connection:
            ids = [str(row[0]) for row in self._run(connection, "select_requeueable", params)]
            for workflow_id in ids:
                self._run(connection, "requeue_workflow", {**params, "workflow_id": workflow_id})
        return ids

    def fork_workflow(self, request: ForkRequest) -> WorkflowRow:
        """`SystemStorage.fork_workflow` on SQLite: checks, inserts the fork and copies the steps
        before `start_step` in one transaction.

        Raises:
            DBOSNonExistentWorkflowError: the original does not exist.
            DBOSWorkflowConflictIDError: a workflow with the forked ID exists already.
        """
        params = as_params(request)
        params["replacement_children"] = json.dumps(dict(request.replacement_children))
        with self._transaction() as connection:
            original = self._select_workflow(connection, request.workflow_id)
            if original is None:
                raise DBOSNonExistentWorkflowError(request.workflow_id)
            last = self._run(connection, "last_function_id", params).fetchone()[0]
            next_step = 0 if last is None else int(last) + 1
            taken = self._select_workflow(connection, request.forked_workflow_id)
            if taken is not None:
                raise DBOSWorkflowConflictIDError(
                    request.forked_workflow_id, taken.name, original.name
                )
            self._run(connection, "insert_fork", params)
            # The effects of the copied operations go with them, so the fork's readers see the
            # events and streams as they stood at the fork point.
            params["copy_all"] = request.start_step >= next_step
            for query in (
                "mark_forked_from",
                "copy_steps",
                "copy_streams",
                "copy_event_history",
                "copy_events",
            ):
                self._run(connection, query, params)
            row = self._select_workflow(connection, request.forked_workflow_id)
        assert row is not None
        return row

    def delete_workflows(self, workflow_ids: tuple[str, ...]) -> list[str]:
        """`SystemStorage.delete_workflows` on SQLite: one transaction; returns the IDs that
        existed (and are now deleted)."""
        params = {"workflow_ids": json.dumps(list(workflow_ids))}
        with self._transaction() as connection:
            found = [str(row[0]) for row in self._run(connection, "select_statuses", params)]
            self._run(connection, "delete_workflows", params)
        return found

    def delete_older_than(self, cutoff_ms: int) -> int:
        """`SystemStorage.delete_older_than` on SQLite: deletes oldest first in transactions of
        at most `DELETE_BATCH` workflows, so writers are not held up for long; returns the
        total."""
        params = {"cutoff_ms": cutoff_ms, "batch": DELETE_BATCH, "after_ms": -(2**63)}
        found, total = DELETE_BATCH, 0
        while found >= DELETE_BATCH:
            with self._transaction() as connection:
                rows = self._run(connection, "select_older_than", params).fetchall()
                ids = {"workflow_ids": json.dumps([row[0] for row in rows])}
                self._run(connection, "delete_workflows", ids)
            found, total = len(rows), total + len(rows)
            if rows:  # the next batch starts where this one ended (see select_older_than)
                params["after_ms"] = rows[-1][1]
        return total
