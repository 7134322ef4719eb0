"""`PostgresStorage`: the `SystemStorage` protocol on PostgreSQL (psycopg 3 and a pool).

Connections are autocommit: each protocol call is one statement, so one round trip and one
commit. Hot statements are prepared on the server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import RowFactory
from psycopg_pool import PoolTimeout

from dbos.storage import (
    ClaimRequest,
    DBOSConnectionError,
    DBOSNonExistentWorkflowError,
    DBOSStepConflictError,
    DBOSStorageError,
    DBOSWorkflowConflictIDError,
    EventRecord,
    FinishedAndClaimed,
    ForkRequest,
    GroupCommit,
    Lease,
    LeaseHolder,
    Message,
    QueueActivity,
    RecvRequest,
    ResumeResult,
    StepAck,
    StepRecord,
    StepWrite,
    StorageOptions,
    StreamEntry,
    StreamRead,
    StreamWrite,
    Wakeup,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowRow,
    as_params,
    mask_password,
    password_secrets,
    scrub_exception,
    scrub_text,
)

from . import _migrate
from ._batch import BatchWorkflows
from ._checkpoints import StepCheckpoints
from ._claims import claim_in, claim_params
from ._columns import finished_and_claimed, workflow_rows
from ._connect import connect, conninfo_for, ensure_database
from ._lean import first, lean_statements
from ._listener import Listener
from ._listing import list_workflows_sql
from ._messages import BulkMessages
from ._params import (
    Finish,
    claims_without_lock,
    finish_params,
    missing_workflow,
    write_params,
)
from ._pool import SystemConnection, SystemPool, new_pool
from ._queues import StoredQueues, lease_params, listened_queues
from ._schedules import Schedules
from ._sql import queries, validate_schema_name
from ._timeops import TimeOps
from ._versions import ApplicationVersions

R = TypeVar("R")

#: Workflows one retention transaction deletes at most (with their steps, messages, events and
#: streams); it repeats until fewer are left. Small enough that a batch's locks and WAL stay
#: small, large enough that the per-batch round trip is noise.
DELETE_BATCH = 1_000


class PostgresStorage(
    ApplicationVersions,
    BatchWorkflows,
    BulkMessages,
    Schedules,
    TimeOps,
    StoredQueues,
    StepCheckpoints,
):
    """The system database on Postgres."""

    def __init__(self, url: str, options: StorageOptions | None = None) -> None:
        options = options or StorageOptions()
        self._display_url = mask_password(url)
        self._schema = validate_schema_name(options.system_schema)
        self._conninfo = conninfo_for(
            url,
            options.application_name,
            options.connect_timeout_s,
            options.idle_transaction_timeout_s,
        )
        self._secrets = password_secrets(url) | password_secrets(self._conninfo)
        self._options = options
        self._lock_timeout_s = _migrate.lock_timeout_s(options.migration_lock_timeout_s)
        self._queries = queries(self._schema)
        self._lean = lean_statements(self._queries)
        self._pool: SystemPool | None = None
        self._pool_lock = threading.Lock()
        # One batch in flight: measured against two and three (drain of 5,000 tasks, rounds
        # interleaved), it drains 10-25% faster; fewer, larger commits beat shorter waits.
        self._finishes: GroupCommit[Finish, FinishedAndClaimed] = GroupCommit(
            self._finish_batch, in_flight=1
        )
        self._step_commits = self._new_step_commits()
        self._closed = False
        self._relays: tuple[Callable[[Wakeup | QueueActivity | None], None], ...] = ()
        # Server PIDs of this storage's pool connections: the listener skips wake-ups for
        # their writes, which core already reported in-process.
        self._own_pids: set[int] = set()
        self._listener: Listener | None = None

    @property
    def url_for_display(self) -> str:
        """`SystemStorage.url_for_display`: the URL with its password masked."""
        return self._display_url

    @property
    def schema(self) -> str:
        """The Postgres schema that holds the system tables (``dbos`` unless
        `StorageOptions.system_schema` says otherwise)."""
        return self._schema

    @property
    def reports_queue_settings(self) -> bool:
        """Whether other processes' changes of stored queues reach this process now, as
        `QueueActivity` with `settings_changed` (see `relay_notifications`): True while the
        listener's connection is up (the trigger of migration 0023 sends them); False with
        ``use_listen_notify`` off, before `listen` and while the listener reconnects."""
        listener = self._listener
        return listener is not None and listener.connected

    # --- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """`SystemStorage.setup` on Postgres: creates the database if it is missing, applies pending
        migrations under an advisory lock (waiting for another process's migration at most the
        migration lock timeout), then starts listening (see `listen`)."""
        ensure_database(self._conninfo, self._display_url, self._schema)
        self.migrate()
        self.listen()

    def listen(self) -> None:
        """`SystemStorage.listen` on Postgres: opens the pool and starts one background ``LISTEN``
        connection that relays other processes' finishes, queue activity and message, event and
        stream writes to core (`relay_notifications`). Idempotent."""
        self._open_pool()
        if not self._options.use_listen_notify:
            return  # polling only, as asked (`StorageOptions.use_listen_notify`)
        with self._pool_lock:
            if self._listener is None:
                self._listener = Listener(
                    self._conninfo,
                    self._schema,
                    self._relay,
                    self._own_pids,
                )
                self._listener.start()

    def cancel_workflow(self, workflow_id: str, now_ms: int) -> str | None:
        """`SystemStorage.cancel_workflow` on Postgres: one statement; returns the status afterwards
        (re-read if a concurrent writer held the row), None for an unknown workflow."""
        found = self._one("cancel_workflow", {"workflow_id": workflow_id, "now_ms": now_ms})
        if found is None:
            return None
        return self._settled_status(workflow_id, str(found[0]))

    def _settled_status(self, workflow_id: str, seen: str) -> str | None:
        """The status a settling write (finish, cancel) reports. If it saw ENQUEUED or PENDING,
        its update waited for a concurrent writer's lock and, under READ COMMITTED, left the
        row alone, while the statement's snapshot still shows the old status: read again."""
        if seen not in ("ENQUEUED", "PENDING"):
            return seen
        row = self.get_workflow(workflow_id)
        return None if row is None else row.status

    def resume_workflow(
        self,
        workflow_id: str,
        executor_id: str,
        application_version: str,
        now_ms: int,
        instance_id: str | None = None,
    ) -> ResumeResult | None:
        """`SystemStorage.resume_workflow` on Postgres: one statement, plus a read when nothing was
        resumed; None for an unknown workflow."""
        params = {
            "workflow_id": workflow_id,
            "executor_id": executor_id,
            "application_version": application_version,
            "now_ms": now_ms,
            "instance_id": instance_id,
        }
        found = self._one_as(workflow_rows, "resume_workflow", params)
        if found is not None:
            return ResumeResult(True, found)
        row = self.get_workflow(workflow_id)
        return None if row is None else ResumeResult(False, row)

    def cancel_expired(self, now_ms: int) -> list[str]:
        """`SystemStorage.cancel_expired` on Postgres: one statement; returns the IDs
        cancelled."""
        rows = self._all(self._queries["cancel_expired"], {"now_ms": now_ms})
        return [str(row[0]) for row in rows]

    def relay_notifications(self, deliver: Callable[[Wakeup | QueueActivity | None], None]) -> None:
        """`StorageBackend.relay_notifications` on Postgres: `deliver` is called from the
        listener thread (after `listen`) for other processes' enqueues, finishes of queue tasks,
        changes of stored queues (`QueueActivity.settings_changed`, see
        `reports_queue_settings`), and message, event and stream writes that the database
        notifies, and with None after the listener (re)connects."""
        self._relays = (*self._relays, deliver)

    def _relay(self, notice: Wakeup | QueueActivity | None) -> None:
        for deliver in self._relays:
            deliver(notice)

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names of those applied now."""
        with connect(self._conninfo, self._display_url) as connection:
            return _migrate.migrate(connection, self._schema, self._lock_timeout_s)

    def grant_system_schema(self, role: str) -> None:
        """Let `role` use the system schema (`DBOS.migrate`'s ``application_role``)."""
        statements = sql.SQL(self._queries["grant_system_schema"].decode()).format(
            role=sql.Identifier(role)
        )
        with self._connection() as connection, connection.transaction():
            connection.execute(statements)

    def verify_schema(self) -> list[str]:
        """Pending migrations, without changing anything; raises `DBOSMigrationError` when
        the database's applied migrations do not match this code."""
        with connect(self._conninfo, self._display_url) as connection:
            return _migrate.verify(connection, self._schema)

    def _remember_pid(self, connection: psycopg.Connection[Any]) -> None:
        self._own_pids.add(connection.info.backend_pid)

    def _open_pool(self) -> SystemPool:
        with self._pool_lock:
            if self._closed:
                raise DBOSStorageError("this Postgres storage is closed")
            if self._pool is None:
                pool = new_pool(
                    self._conninfo,
                    max_size=max(1, self._options.pool_size),
                    timeout_s=max(self._options.connect_timeout_s, 1.0),
                    configure=self._remember_pid,
                )
                pool.open(wait=True, timeout=max(self._options.connect_timeout_s, 1.0))
                self._pool = pool
            return self._pool

    def close(self) -> None:
        """`SystemStorage.close`: stops the listener and closes the pool; later calls raise
        `DBOSStorageError`. Idempotent."""
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        if pool is not None:
            pool.close()

    # --- statements ------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[SystemConnection]:
        pool = self._pool or self._open_pool()
        try:
            # take/give_back rather than pool.connection(): connections are autocommit, so the
            # commit-on-exit of the context manager is only per-call overhead on the hot path,
            # and a recently used connection skips the pool (see `dbos_postgres._pool`).
            connection = pool.take()
            try:
                yield connection
            finally:
                pool.give_back(connection)
        except PoolTimeout as exc:
            raise DBOSConnectionError(
                f"no connection to the system database {self._display_url!r}: {self._reason(exc)}"
            ) from scrub_exception(exc, self._secrets)
        except psycopg.OperationalError as exc:
            raise DBOSConnectionError(
                f"system database {self._display_url!r}: {self._reason(exc)}"
            ) from scrub_exception(exc, self._secrets)
        except psycopg.Error as exc:
            raise DBOSStorageError(
                f"system database {self._display_url!r}: {self._reason(exc)}"
            ) from scrub_exception(exc, self._secrets)

    def _reason(self, exc: BaseException) -> str:
        """A driver's message on one line, without our passwords (libpq may echo them)."""
        return scrub_text(" ".join(str(exc).split()), self._secrets)

    def _one(self, query: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        with self._connection() as connection:
            row: tuple[Any, ...] | None = connection.execute(
                self._queries[query], params, prepare=True
            ).fetchone()
            return row

    def _one_as(self, rows: RowFactory[R], query: str, params: dict[str, Any]) -> R | None:
        """`_one` with rows built by `rows` (by column name)."""
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=rows)
            return cursor.execute(self._queries[query], params, prepare=True).fetchone()

    def _all_as(self, rows: RowFactory[R], query: str, params: dict[str, Any]) -> list[R]:
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=rows)
            return cursor.execute(self._queries[query], params, prepare=True).fetchall()

    def _execute(self, query: str, params: dict[str, Any]) -> None:
        with self._connection() as connection:
            connection.execute(self._queries[query], params, prepare=True)

    def _all(self, query: bytes, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with self._connection() as connection:
            rows: list[tuple[Any, ...]] = connection.execute(query, params, prepare=True).fetchall()
            return rows

    # --- workflows -------------------------------------------------------------------------

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        """`SystemStorage.get_workflow`: one workflow row, or None."""
        return self._one_as(workflow_rows, "select_workflow", {"workflow_id": workflow_id})

    def record_step(self, step: StepRecord, writes: tuple[StepWrite, ...] = ()) -> StepAck:
        """`SystemStorage.record_step` on Postgres: one statement, or one transaction with the
        step's writes; a stream append that races another writer for an offset is retried.
        Raises `DBOSStepConflictError` if the operation is recorded already (nothing is written),
        `DBOSNonExistentWorkflowError` for an unknown workflow or message destination."""
        params = as_params(step)
        try:
            if writes:
                found = self._record_step_with_writes(params, writes)
            else:
                found = self._record_plain_step(params)
        except DBOSStorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, psycopg.errors.ForeignKeyViolation):
                raise DBOSNonExistentWorkflowError(missing_workflow(step, writes, cause)) from exc
            raise
        inserted, status, owner = found
        if not inserted:
            raise DBOSStepConflictError(step.workflow_id, step.function_id)
        return StepAck(workflow_status=status, owner_instance=owner)

    def load_steps(self, workflow_id: str) -> list[StepRecord]:
        """`SystemStorage.load_steps`: a workflow's recorded operations in `function_id` order."""
        rows = self._all(self._queries["select_steps"], {"workflow_id": workflow_id})
        return [StepRecord(*row) for row in rows]

    def finish_workflow(self, outcome: WorkflowOutcome) -> str:
        # Concurrent finishes share one statement and one commit (see GroupCommit).
        """`SystemStorage.finish_workflow` on Postgres: concurrent finishes in this process share
        one statement and one commit (`GroupCommit`). Returns the status afterwards; raises
        `DBOSNonExistentWorkflowError` for an unknown workflow."""
        return self._finishes.submit(Finish(outcome, None)).status

    def finish_and_claim(
        self, outcome: WorkflowOutcome, request: ClaimRequest
    ) -> FinishedAndClaimed:
        """`SystemStorage.finish_and_claim` on Postgres: batched with concurrent finishes
        (`GroupCommit`); claims for the same queue are made together, in one statement for a
        queue without global limits or partitions, else in one transaction under the queue's
        lock."""
        return self._finishes.submit(Finish(outcome, request))

    def _finish_batch(self, batch: list[Finish]) -> list[FinishedAndClaimed | Exception]:
        """One round of the group commit: finish every workflow of the batch and make the
        claims they ask for, in one transaction."""
        outcomes = [finish.outcome for finish in batch]
        # Claims for the same queue (and executor) are made together.
        wanted: dict[tuple[Any, ...], list[tuple[int, ClaimRequest]]] = {}
        for index, finish in enumerate(batch):
            request = finish.request
            if request is not None:
                key = (
                    request.queue,
                    request.executor_id,
                    request.application_version,
                    request.workflow_names,
                )
                wanted.setdefault(key, []).append((index, request))
        claimed: list[list[WorkflowRow]] = [[] for _ in batch]
        with self._connection() as connection:
            if not wanted:
                statuses = self._finish_statuses(connection, outcomes)
            elif len(wanted) == 1 and claims_without_lock(next(iter(wanted.values()))):
                (members,) = wanted.values()
                statuses, rows = self._finish_and_claim_unlimited(connection, outcomes, members)
                for index, request in members:
                    claimed[index] = rows[: request.capacity]
                    rows = rows[request.capacity :]
            else:
                with connection.transaction():
                    statuses = self._finish_statuses(connection, outcomes)
                    # A missing workflow fails its caller; then nobody claims (see
                    # finish_and_claim in queries.sql), so no claimed task is left unowned.
                    for members in wanted.values() if None not in statuses else ():
                        together = replace(
                            members[0][1],
                            capacity=sum(request.capacity for _, request in members),
                            now_ms=max(request.now_ms for _, request in members),
                        )
                        rows = claim_in(self._queries, self._schema, connection, together)
                        for index, request in members:
                            claimed[index] = rows[: request.capacity]
                            rows = rows[request.capacity :]
        results: list[FinishedAndClaimed | Exception] = []
        for finish, seen, rows in zip(batch, statuses, claimed, strict=True):
            # A finish that waited for a concurrent cancel: see `_settled_status`.
            status = (
                seen if seen is None else self._settled_status(finish.outcome.workflow_id, seen)
            )
            if status is None:
                results.append(DBOSNonExistentWorkflowError(finish.outcome.workflow_id))
            else:
                results.append(FinishedAndClaimed(status, rows))
        return results

    def _finish_and_claim_unlimited(
        self,
        connection: psycopg.Connection[Any],
        outcomes: list[WorkflowOutcome],
        members: list[tuple[int, ClaimRequest]],
    ) -> tuple[list[str | None], list[WorkflowRow]]:
        """Finish and claim in one statement (one round trip, one commit): for a queue
        without global limits, where claimers need no lock and no counts."""
        request = members[0][1]
        params = claim_params(self._schema, request)
        params.update(finish_params(outcomes))
        params["limit"] = sum(member.capacity for _, member in members)
        params["now_ms"] = max(member.now_ms for _, member in members)
        cursor = connection.cursor(row_factory=finished_and_claimed)
        rows = cursor.execute(self._queries["finish_and_claim"], params, prepare=True).fetchall()
        # Every row carries the statuses; a batch that claimed nothing has one row, no task.
        statuses = rows[0][0]
        return statuses, [row for _, row in rows if row is not None]

    def _finish_statuses(
        self, connection: psycopg.Connection[Any], outcomes: list[WorkflowOutcome]
    ) -> list[str | None]:
        if len(outcomes) == 1:
            _, rows = self._lean["finish_workflow"].rows(connection, as_params(outcomes[0]))
            found = first(rows)
            return [None if found is None else str(found[0])]
        cursor = connection.execute(
            self._queries["finish_workflows"], finish_params(outcomes), prepare=True
        )
        return [None if status is None else str(status) for (status,) in cursor.fetchall()]

    def recover_pending(
        self, executor_id: str, application_version: str, instance_id: str | None = None
    ) -> list[WorkflowRow]:
        """`SystemStorage.recover_pending` on Postgres: one statement (leases judged by the
        server's clock); rows ordered by creation time, then ID."""
        rows = self._all_as(
            workflow_rows,
            "recover_pending",
            {
                "executor_id": executor_id,
                "application_version": application_version,
                "instance_id": instance_id,
                "now_ms": int(time.time() * 1000),
            },
        )
        return sorted(rows, key=lambda r: (r.created_at_ms, r.workflow_id))

    def take_over_workflows(
        self, instance_id: str, executor_id: str, application_version: str, limit: int
    ) -> list[WorkflowRow]:
        """`SystemStorage.take_over_workflows` on Postgres: one ``SKIP LOCKED`` statement, leases
        judged by the server's clock; rows ordered by creation time, then ID."""
        params = {
            "instance_id": instance_id,
            "executor_id": executor_id,
            "application_version": application_version,
            "limit": limit,
            "now_ms": int(time.time() * 1000),
        }
        rows = self._all_as(workflow_rows, "take_over_workflows", params)
        return sorted(rows, key=lambda r: (r.created_at_ms, r.workflow_id))

    def renew_lease(self, lease: Lease) -> None:
        """`SystemStorage.renew_lease` on Postgres: one upsert, by the server's clock."""
        self._execute("renew_lease", lease_params(lease))

    def list_leases(self, host: str | None = None) -> list[LeaseHolder]:
        """`SystemStorage.list_leases` on Postgres: one query, by the server's clock."""
        return [
            LeaseHolder(i, e, v, h, p, x, live, listened_queues(q))
            for i, e, v, h, p, x, live, q in self._all(self._queries["list_leases"], {"host": host})
        ]

    def release_lease(self, instance_id: str) -> None:
        """`SystemStorage.release_lease` on Postgres: one delete."""
        self._execute("release_lease", {"instance_id": instance_id})

    def claim_queued(self, request: ClaimRequest) -> list[WorkflowRow]:
        """`SystemStorage.claim_queued` on Postgres: one ``SKIP LOCKED`` statement for a queue
        without global limits or partitions; otherwise a transaction that takes the queue's
        advisory lock (returning nothing if another process holds it) and counts before
        claiming."""
        queue = request.queue
        with self._connection() as connection:
            if not queue.has_global_limits and not queue.partitioned:
                # Claimers never wait for each other: SKIP LOCKED passes over rows that
                # another process is claiming at this moment.
                cursor = connection.cursor(row_factory=workflow_rows)
                params = claim_params(self._schema, request)
                claim = self._queries["claim_queued"]
                return cursor.execute(claim, params, prepare=True).fetchall()
            with connection.transaction():
                return claim_in(self._queries, self._schema, connection, request)

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, merge: bool, now_ms: int
    ) -> bool:
        """`SystemStorage.update_workflow_attributes` on Postgres: one UPDATE, which merges
        in the statement itself (jsonb ``||``), so concurrent merges of different keys all
        land."""
        params = {
            "workflow_id": workflow_id,
            "attributes": attributes,
            "merge": merge,
            "now_ms": now_ms,
        }
        with self._connection() as connection:
            cursor = connection.execute(
                self._queries["update_workflow_attributes"], params, prepare=True
            )
            return cursor.rowcount == 1

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRow]:
        """`SystemStorage.list_workflows` on Postgres: one query built from `query`'s filters."""
        statement, params = list_workflows_sql(self._schema, query)
        timeout_s = self._options.observability_query_timeout_s
        with self._connection() as connection:
            cursor = connection.cursor(row_factory=workflow_rows)
            if timeout_s is None:
                return cursor.execute(statement, params).fetchall()
            with connection.transaction():
                connection.execute(
                    self._queries["set_local_statement_timeout"],
                    {"timeout": f"{max(1, round(timeout_s * 1000))}ms"},
                )
                return cursor.execute(statement, params).fetchall()

    # --- messages, events and streams -------------------------------------------------------

    def _write_with_step(
        self,
        query: str,
        params: dict[str, Any],
        step: StepRecord | None,
        target: str,
        stream: tuple[str, str] | None = None,
    ) -> StepAck:
        """Run a write that may carry a checkpoint; translate its constraint errors. With
        `stream`, the write appends to that stream: it runs in a transaction, after the
        stream's append lock."""
        if step is not None:
            # The write's own values win: a message's trace_carrier, not the step's (None).
            params = {**as_params(step), **params}
        found: tuple[Any, ...] | None = None
        try:
            if stream is not None:
                with self._connection() as connection, connection.transaction():
                    self._lock_streams(connection, [stream])
                    cursor = connection.execute(self._queries[query], params, prepare=True)
                    if step is not None:
                        found = cursor.fetchone()
            elif step is None:
                self._execute(query, params)
            else:
                found = self._one(query, params)
        except DBOSStorageError as exc:
            cause = exc.__cause__
            if (
                isinstance(cause, psycopg.errors.UniqueViolation)
                and step is not None
                and cause.diag.constraint_name == "operation_outputs_pkey"
            ):
                raise DBOSStepConflictError(step.workflow_id, step.function_id) from cause
            if isinstance(cause, psycopg.errors.ForeignKeyViolation):
                constraint = cause.diag.constraint_name or ""
                if step is not None and constraint.startswith("operation_outputs"):
                    raise DBOSNonExistentWorkflowError(step.workflow_id) from cause
                raise DBOSNonExistentWorkflowError(target) from cause
            raise
        if found is None:
            return StepAck(workflow_status=None)
        return StepAck(workflow_status=found[0], owner_instance=found[1])

    def send(self, message: Message, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.send` on Postgres: one statement (with `step`'s checkpoint). Raises
        `DBOSNonExistentWorkflowError` for an unknown destination, `DBOSStepConflictError` if
        `step` is recorded already."""
        query = "send_message" if step is None else "send_message_step"
        return self._write_with_step(query, as_params(message), step, message.destination_id)

    def recv(self, request: RecvRequest) -> StepRecord | None:
        """`SystemStorage.recv` on Postgres: one statement consumes the oldest message of the topic
        and records it as the step; None if there is none. Raises `DBOSStepConflictError` if the
        step is recorded already (the statement's row of NULLs, or a unique violation when the
        record committed while it ran)."""
        try:
            found = self._one("recv_message", as_params(request))
        except DBOSStorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, psycopg.errors.UniqueViolation):
                raise DBOSStepConflictError(request.workflow_id, request.function_id) from cause
            raise
        if found is None:
            return None
        if found[0] is None:
            raise DBOSStepConflictError(request.workflow_id, request.function_id)
        return StepRecord(*found)

    def set_event(self, event: EventRecord, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.set_event` on Postgres: one statement (with `step`'s checkpoint). Raises
        `DBOSNonExistentWorkflowError` for an unknown workflow, `DBOSStepConflictError` if `step`
        is recorded already."""
        query = "set_event" if step is None else "set_event_step"
        params = write_params(event, None if step is None else step.function_id)
        return self._write_with_step(query, params, step, event.workflow_id)

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """`SystemStorage.get_event`: the event's stored text, or None if it was never set."""
        found = self._one("get_event", {"workflow_id": workflow_id, "key": key})
        return None if found is None else str(found[0])

    def write_stream(self, write: StreamWrite, step: StepRecord | None = None) -> StepAck:
        """`SystemStorage.write_stream` on Postgres: one statement (with `step`'s checkpoint),
        retried when another writer takes the same offset. Raises
        `DBOSNonExistentWorkflowError` for an unknown workflow, `DBOSStepConflictError` if
        `step` is recorded already."""
        query = "write_stream" if step is None else "write_stream_step"
        params = write_params(write, None if step is None else step.function_id)
        stream = (write.workflow_id, write.key)
        return self._write_with_step(query, params, step, write.workflow_id, stream)

    def read_stream(self, workflow_id: str, key: str, from_offset: int) -> StreamRead:
        """`SystemStorage.read_stream` on Postgres: the writer's status and the entries at
        `from_offset` or later, in one query."""
        rows = self._all(
            self._queries["read_stream"],
            {"workflow_id": workflow_id, "key": key, "from_offset": from_offset},
        )
        status = rows[0][0] if rows else None
        entries = tuple(StreamEntry(int(row[1]), row[2]) for row in rows if row[1] is not None)
        return StreamRead(status, entries)

    # --- management ------------------------------------------------------------------------

    def reset_system_database(self) -> None:
        """`SystemStorage.reset_system_database` on Postgres: drops the system schema with
        everything in it (the database itself stays)."""
        with connect(self._conninfo, self._display_url) as connection:
            connection.execute(self._queries["drop_schema"])

    def cancel_workflows(self, workflow_ids: tuple[str, ...], now_ms: int) -> dict[str, str]:
        """`SystemStorage.cancel_workflows` on Postgres: one statement; returns the status of each
        ID that exists (re-read where a concurrent writer held the row)."""
        rows = self._all(
            self._queries["cancel_workflows"],
            {"workflow_ids": list(workflow_ids), "now_ms": now_ms},
        )
        statuses: dict[str, str] = {}
        for workflow_id, seen in rows:
            status = self._settled_status(str(workflow_id), str(seen))
            if status is not None:
                statuses[str(workflow_id)] = status
        return statuses

    def requeue_workflows(
        self, workflow_ids: tuple[str, ...], queue_name: str, now_ms: int
    ) -> list[str]:
        """`SystemStorage.requeue_workflows` on Postgres: one statement; returns the IDs
        requeued."""
        rows = self._all(
            self._queries["requeue_workflows"],
            {"workflow_ids": list(workflow_ids), "queue_name": queue_name, "now_ms": now_ms},
        )
        return [str(row[0]) for row in rows]

    def fork_workflow(self, request: ForkRequest) -> WorkflowRow:
        """`SystemStorage.fork_workflow` on Postgres: one transaction that locks the original,
        inserts the fork and copies the steps before `start_step`.

        Raises:
            DBOSNonExistentWorkflowError: the original does not exist.
            DBOSWorkflowConflictIDError: a workflow with the forked ID exists already.
        """
        params = as_params(request)
        params["replacement_children"] = json.dumps(dict(request.replacement_children))
        with self._connection() as connection, connection.transaction():
            original = connection.execute(
                self._queries["lock_workflow_for_fork"], params
            ).fetchone()
            if original is None:
                raise DBOSNonExistentWorkflowError(request.workflow_id)
            name, last = original
            next_step = 0 if last is None else int(last) + 1
            rows = connection.cursor(row_factory=workflow_rows)
            inserted = rows.execute(self._queries["insert_fork"], params).fetchone()
            if inserted is None:
                taken = rows.execute(
                    self._queries["select_workflow"], {"workflow_id": request.forked_workflow_id}
                ).fetchone()
                raise DBOSWorkflowConflictIDError(
                    request.forked_workflow_id, taken.name if taken else "?", str(name)
                )
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
                connection.execute(self._queries[query], params)
        return inserted

    def delete_workflows(self, workflow_ids: tuple[str, ...]) -> list[str]:
        """`SystemStorage.delete_workflows` on Postgres: one statement; returns the IDs deleted."""
        rows = self._all(self._queries["delete_workflows"], {"workflow_ids": list(workflow_ids)})
        return [str(row[0]) for row in rows]

    def delete_older_than(self, cutoff_ms: int) -> int:
        """`SystemStorage.delete_older_than` on Postgres: deletes oldest first in batches of at
        most `DELETE_BATCH` workflows, each its own transaction, so no lock is held for long
        and no commit writes a large burst of WAL; returns the total."""
        params = {"cutoff_ms": cutoff_ms, "batch": DELETE_BATCH, "after_ms": -(2**63)}
        selected, total = DELETE_BATCH, 0
        while selected >= DELETE_BATCH:
            with self._connection() as connection:  # autocommit: one transaction per batch
                row = connection.execute(self._queries["delete_older_than"], params).fetchone()
            assert row is not None
            selected, params["after_ms"], deleted = row
            total += deleted
        return total
