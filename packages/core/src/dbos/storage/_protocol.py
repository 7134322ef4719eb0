"""The storage protocol: everything the engine asks of a system database.

A backend is any class with the methods of `StorageBackend`; core wraps it (`with_wakeups`, which
`dbos.plugins.backend_for_url` applies) into the `SystemStorage` the engine and clients use, which
adds this process's wake-ups after writes and waiting for a workflow's outcome. Methods are named
for what they mean in workflow terms; the engine never sends SQL. All methods are synchronous and
thread safe: the engine calls them from many threads at once (and from async code through a worker
thread). Payload strings are opaque to backends. Times are integer epoch milliseconds.

Errors: a backend raises `DBOSStorageError` subclasses only (`DBOSConnectionError` when the
database cannot be reached, `DBOSStepConflictError` for a duplicate checkpoint,
`DBOSMigrationError` for schema problems), chaining the driver's error with ``raise ... from``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ._queue_records import QueueDepth, StoredQueue
from ._records import (
    ApplicationVersion,
    ClaimRequest,
    EventRecord,
    FinishedAndClaimed,
    ForkRequest,
    Lease,
    LeaseHolder,
    Message,
    NewWorkflow,
    QueueActivity,
    RecvRequest,
    ResumeResult,
    RewindRequest,
    StepAck,
    StepRecord,
    StepWrite,
    StrandedVersion,
    StreamRead,
    StreamWrite,
    Wakeup,
    WorkflowInit,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowRow,
)
from ._schedule_records import ScheduleQuery, ScheduleRecord


@runtime_checkable
class StorageBackend(Protocol):
    """What a backend implements: the system database without this process's wake-ups, which
    core adds (see `SystemStorage`)."""

    @property
    def url_for_display(self) -> str:
        """The database URL with any password masked, for logs and errors."""
        ...

    def setup(self) -> None:
        """Make the database usable: create it if missing and apply pending migrations.

        Safe to call from several processes at once (migrations run under a lock) and
        idempotent. Raises `DBOSConnectionError` when the server cannot be reached.
        """
        ...

    def listen(self) -> None:
        """Start relaying other processes' writes (`relay_notifications`) without touching the
        schema: for a client of an app's database. `setup` does this too. Idempotent; a
        backend that cannot observe other processes does nothing."""
        ...

    def relay_notifications(self, deliver: Callable[[Wakeup | QueueActivity | None], None]) -> None:
        """Call `deliver` (from any thread, cheaply) for what OTHER processes write, once
        `listen` (or `setup`) has run: a `Wakeup` for a message, event or stream write, a
        `QueueActivity` for an enqueue or a queued task that stopped running, and None for
        "anything may have changed" (after a lost notification connection). Core calls it
        once, when it wraps the backend; core itself wakes this process's waiters after this
        process's calls, so a backend reports nothing of its own (it may, harmlessly). A
        backend that cannot observe other processes never calls `deliver`: waiters then see
        other processes' writes by polling.

        Optional (our extension, issue 17): a backend that also delivers
        ``QueueActivity(queue_name, False, settings_changed=True)`` whenever any process
        stores, changes or deletes a queue (`store_queue`, `update_queue`, `delete_queue`)
        says so with a property ``reports_queue_settings`` that is True while such deliveries
        reach this process (not before `listen`, nor while its notification connection is
        down; the None it delivers after reconnecting covers what was missed). Core reads it
        with a default of False. Only when it is True do queue workers read the stored queues
        rarely (a safety net) instead of once per polling interval; a backend that says True
        and misses a change leaves other processes on old limits until the safety net's read.
        It is not a member of this protocol, so backends without it still conform."""
        ...

    def close(self) -> None:
        """Release connections and threads. Idempotent. Other calls fail after it."""
        ...

    def create_workflow(self, workflow: NewWorkflow) -> WorkflowInit:
        """Insert the workflow row unless one with this ID exists; one round trip.

        Returns ``WorkflowInit(created=True, row=<the new row>)`` when inserted (with
        `recovery_attempts` 1), else ``WorkflowInit(created=False, row=<the existing row>)``
        with the existing row unchanged. Concurrent calls with one ID from any number of
        threads or processes: exactly one sees ``created=True``.

        A workflow with a `queue_name` and a `deduplication_id` is refused with
        `DBOSQueueDeduplicatedError` (nothing stored) while that queue holds an ENQUEUED or
        PENDING workflow with the same deduplication ID.
        """
        ...

    def create_workflows(self, workflows: tuple[NewWorkflow, ...]) -> list[WorkflowInit]:
        """Create several workflows at once (a batch enqueue): each as `create_workflow`
        creates one, all in one transaction (one statement, one round trip, on Postgres).
        Returns one `WorkflowInit` per workflow, in order. Core never passes two workflows
        with one ID, nor two with one queue and deduplication ID.

        All or nothing: nothing is stored when a workflow's deduplication ID is held by an
        ENQUEUED or PENDING task of its queue (`DBOSQueueDeduplicatedError` naming the first
        such workflow), or when a workflow's ID is stored under another workflow name
        (`DBOSWorkflowConflictIDError`). Rows created in the batch get increasing
        ``enqueue_seq`` in the batch's order.
        """
        ...

    def record_step(self, step: StepRecord, writes: tuple[StepWrite, ...] = ()) -> StepAck:
        """Durably record one operation's outcome; one round trip, no read before the write.

        Durable (committed) before returning. Raises `DBOSStepConflictError` if
        ``(workflow_id, function_id)`` is already recorded, leaving the stored record as it was.
        Returns the workflow's status and owner instance as of the commit (see `StepAck`).

        `writes` are what the step's body sent, set and wrote to streams, in order (a stream
        value of None closes that stream): applied in the same transaction as the checkpoint,
        so they are stored exactly when the checkpoint is (none on a conflict); core then
        wakes their waiters (`SystemStorage.on_wakeup`). Their events and stream entries are
        recorded as written by `step.function_id` (see `fork_workflow`). A message to a
        workflow that does not exist raises `DBOSNonExistentWorkflowError` and stores nothing.
        """
        ...

    def load_steps(self, workflow_id: str) -> list[StepRecord]:
        """All recorded operations of a workflow, ordered by `function_id`; one query."""
        ...

    def finish_workflow(self, outcome: WorkflowOutcome) -> str:
        """Set a workflow's final status, output and error, if it is still PENDING.

        Returns the status stored after the call: `outcome.status` when it was applied, or the
        status already there (for example CANCELLED) when the row was no longer PENDING.
        With `outcome.owner_instance` set, a row owned by another instance is left alone (its
        status, PENDING, is returned): an execution that lost its workflow to a takeover never
        finishes it. Raises `DBOSNonExistentWorkflowError` if there is no such workflow.
        """
        ...

    def get_workflow(self, workflow_id: str) -> WorkflowRow | None:
        """One workflow row, or None."""
        ...

    def recover_pending(
        self, executor_id: str, application_version: str, instance_id: str | None = None
    ) -> list[WorkflowRow]:
        """Claim this executor's PENDING workflows for recovery; one statement.

        For each PENDING row with this executor ID and application version: increment
        `recovery_attempts`; if it then exceeds ``max_recovery_attempts + 1`` set the status
        to MAX_RECOVERY_ATTEMPTS_EXCEEDED. A row of a queue (`queue_name` set) that is not
        marked goes back to its queue instead, unless its owner is `instance_id` (that
        process runs it): status ENQUEUED, executor, owner and `started_at_ms` None, queue,
        priority and deduplication ID kept, so that the claim that starts it again counts it
        against the queue's limits (DBOS Transact 3.4's recovery re-enqueues it). Returns the
        updated rows (all kinds), ordered by `created_at_ms`. Rows without a max (None) are
        never marked exceeded.

        With an `instance_id` (a launched process, whose lease is already renewed), rows whose
        owner instance holds an unexpired lease (see `Lease`) are left alone whatever their
        executor ID, unless the owner is `instance_id` itself, and the claimed rows get
        `instance_id` as their owner: a restarted process resumes its executor's work at once,
        but never a live process's. Atomic with respect to concurrent recoveries and
        `take_over_workflows`: each row is claimed by one caller.
        """
        ...

    def renew_lease(self, lease: Lease) -> None:
        """Create or extend `lease.instance_id`'s lease: it holds until `lease.duration_ms`
        after now, by the database's clock where the database has one (the calling host's
        otherwise). One small write (the heartbeat). Leases that expired long ago (a day) may
        be deleted meanwhile: a missing lease counts as expired."""
        ...

    def list_leases(self, host: str | None = None) -> list[LeaseHolder]:
        """The stored leases (of processes on `host` only, unless None), live or expired,
        ordered by instance ID; one query. Liveness is judged by the clock that
        `take_over_workflows` uses."""
        ...

    def release_lease(self, instance_id: str) -> None:
        """Delete the instance's lease (a clean shutdown), so that whatever it leaves PENDING
        may be taken over at once. One statement; nothing happens for an unknown instance."""
        ...

    def take_over_workflows(
        self, instance_id: str, executor_id: str, application_version: str, limit: int
    ) -> list[WorkflowRow]:
        """Take over up to `limit` PENDING workflows of `application_version` whose owner holds
        no unexpired lease (or that have no owner: rows written before owners were recorded, or
        by a process that died before its first heartbeat), from any executor; one statement.

        Each taken row gets `instance_id` as its owner and `executor_id` as its executor, and
        counts a recovery attempt as `recover_pending` does (marking rows past their limit
        MAX_RECOVERY_ATTEMPTS_EXCEEDED and putting a queue's tasks back on their queue, without
        owner or executor, as it does; both kinds are returned too). Rows owned by
        `instance_id` itself are not taken. Oldest first; returns the updated rows ordered by
        `created_at_ms`. Concurrent callers never take the same row (SKIP LOCKED, or the
        database's single writer). Ours, not DBOS Transact's (which leaves this to Conductor).
        """
        ...

    def count_stranded_workflows(self) -> list[StrandedVersion]:
        """The stranded workflows (see `WorkflowQuery.stranded`) counted by application
        version, ordered by version (None first); one query, leases judged by the clock that
        `take_over_workflows` uses. Ours."""
        ...

    def move_workflows(
        self, workflow_ids: tuple[str, ...], application_version: str, queue_name: str, now_ms: int
    ) -> list[str]:
        """Hand workflows to processes of `application_version`; one statement. Returns the
        IDs moved.

        Moves each ENQUEUED workflow (it stays in its queue) and each PENDING one whose owner
        holds no unexpired lease (a queue's task goes back to its own queue, with
        `started_at_ms` None and its deduplication ID kept, as `recover_pending` puts it back;
        any other waits on `queue_name`, like a requeued workflow; either continues from its
        last recorded step when it runs again): its application version becomes
        `application_version`, its executor and owner none. Leaves every other workflow as it
        is, so a workflow a live process runs is never moved (and never run twice). Atomic
        with respect to claims and takeovers: a row one of them is taking is not moved. Ours
        (DBOS Transact moves work only by forking it)."""
        ...

    def claim_queued(self, request: ClaimRequest) -> list[WorkflowRow]:
        """Start queued tasks: move up to N of them from ENQUEUED to PENDING for this executor.

        Candidates: the queue's ENQUEUED rows whose `delay_until_ms` has passed, whose name is
        in `request.workflow_names`, and whose application version is the request's (or None,
        if `request.takes_unversioned`);
        taken in order of (priority if the queue has `priority_enabled`, then creation time).
        N is `dbos.storage.claimable(queue, request.capacity, running, started)` where
        `running` counts the queue's PENDING rows and `started` the rows whose `started_at_ms`
        is within the last `period_s` seconds, both across all processes, and the count and the
        claim are atomic with respect to other claimers of the same queue, so the queue's
        limits hold across processes. On a partitioned queue that N is then dealt out to the
        partitions by `dbos.storage.partition_quotas`, from each partition's `PartitionLoad`
        (its `started` counted over `partition_period_s`, its `mine` the PENDING rows owned
        by `request.instance_id`, or of `request.executor_id` when that is None). Claimed
        rows get status PENDING, this executor, this application version,
        `request.instance_id` as owner and `started_at_ms = request.now_ms`; they are
        returned, each with `has_operations` set (whether the row has any recorded
        operation: a rewind may have put a task that ran before back on its queue; None
        makes the engine load its steps). Claimers of a queue without global limits never
        wait for each other (SKIP LOCKED).
        """
        ...

    def finish_and_claim(
        self, outcome: WorkflowOutcome, request: ClaimRequest
    ) -> FinishedAndClaimed:
        """`finish_workflow(outcome)`, then `claim_queued(request)`: a queue task that ends
        hands its slot straight to the next task, without a round of the queue worker.

        Both take effect, or on an error neither does. Backends may run both in one round
        trip and one commit, shared with other concurrent calls. Raises as `finish_workflow`
        does.
        """
        ...

    def cancel_workflow(self, workflow_id: str, now_ms: int) -> str | None:
        """Set an ENQUEUED or PENDING workflow's status to CANCELLED; one statement.

        A running execution notices at its next checkpoint (`StepAck`). Returns the status
        stored after the call (unchanged if the workflow had already finished), or None if
        there is no such workflow.
        """
        ...

    def resume_workflow(
        self,
        workflow_id: str,
        executor_id: str,
        application_version: str,
        now_ms: int,
        instance_id: str | None = None,
    ) -> ResumeResult | None:
        """Make a CANCELLED, ERROR or MAX_RECOVERY_ATTEMPTS_EXCEEDED workflow run again from
        its last recorded step, or start an ENQUEUED one now, bypassing its queue's limits.

        The workflow becomes PENDING for this executor, application version and owner
        instance (`instance_id`; None: no owner) with its
        recovery attempts reset to 1 (its output and error cleared), and `resumed` is True: the
        caller then runs it. A workflow in another status is returned unchanged with `resumed`
        False (so of two concurrent resumes, one runs it). None if there is no such workflow.
        """
        ...

    def cancel_expired(self, now_ms: int) -> list[str]:
        """Cancel every ENQUEUED or PENDING workflow whose deadline is at or before `now_ms`;
        returns their IDs. One statement (run by every process's worker now and then)."""
        ...

    def list_workflows(self, query: WorkflowQuery) -> list[WorkflowRow]:
        """Workflows matching every non-None filter of `query` (`query_filters` lists them),
        ordered by creation time (then workflow ID), descending if `query.sort_desc`.
        `inputs`/`output`/`error` are None in the result when `load_inputs`/`load_output` are
        False."""
        ...

    def update_workflow_attributes(
        self, workflow_id: str, attributes: str | None, merge: bool, now_ms: int
    ) -> bool:
        """Set a workflow's custom attributes (`attributes`: the JSON text of an object, or
        None for none) and its `updated_at_ms` to `now_ms`; one transaction.

        With `merge`, the object's top-level keys are written over the stored ones (a stored
        value that is not an object counts as an empty one) and other stored keys are kept;
        `attributes` is never None then. Concurrent merges of different keys all land.
        Returns False (nothing changed) if there is no such workflow.
        """
        ...

    # --- messages, events and streams -------------------------------------------------------

    def send(self, message: Message, step: StepRecord | None = None) -> StepAck:
        """Store a message for `message.destination_id`; with `step`, record that operation of
        the sending workflow in the same transaction (one round trip), so a recovered sender
        never sends twice.

        A `message_id` already stored is not stored again, nor a message whose
        `idempotency_key` was used for the same destination before (the key is remembered
        after the message is received, until the destination is deleted). The message's
        `trace_carrier` is stored with it, for the `recv` that consumes it. Raises
        `DBOSNonExistentWorkflowError` (nothing stored) if the destination does not exist,
        and `DBOSStepConflictError` (nothing stored) if `step` is already recorded. Returns the
        sending workflow's status as `record_step` does (None without a `step`). Core then
        wakes the destination's waiters (`SystemStorage.on_wakeup`).
        """
        ...

    def send_many(self, messages: tuple[Message, ...], step: StepRecord | None = None) -> StepAck:
        """Store several messages, in order, in one transaction (one round trip where the
        database allows); with `step`, record that operation of the sending workflow in the
        same transaction. Each message is handled as `send` handles one: a stored
        `message_id`, or an `idempotency_key` already used for that destination, stores
        nothing for that message and the others go on. Core never passes two messages with
        one destination and idempotency key.

        Raises `DBOSNonExistentWorkflowError` naming a destination that does not exist
        (nothing stored), and `DBOSStepConflictError` (nothing stored) if `step` is already
        recorded. Returns what `send` returns; core then wakes each destination's waiters.
        """
        ...

    def get_all_events(self, workflow_id: str) -> dict[str, str]:
        """Every event `workflow_id` has set: key -> its latest stored text (empty if none,
        or if there is no such workflow)."""
        ...

    def recv(self, request: RecvRequest) -> StepRecord | None:
        """Consume the oldest message of `request.topic` for `request.workflow_id` and record
        it as operation `request.function_id` (output: the message text verbatim), in one
        transaction: either both happen or neither.

        Returns the recorded step, or None (nothing changed) if there is no such message.
        Raises `DBOSStepConflictError` (the message stays) if the operation is already
        recorded, whether or not a message is waiting: a receiver whose message another
        execution of its workflow took (one whose lease ran out) learns so on its next look
        instead of waiting out its timeout. Messages of one topic are consumed in the order
        they were stored; one message is consumed by exactly one call. The returned step's
        `trace_carrier` is the consumed message's (not recorded with the step; None from a
        backend that stores none).
        """
        ...

    def set_event(self, event: EventRecord, step: StepRecord | None = None) -> StepAck:
        """Set (or overwrite) a workflow's event, and with `step` record that operation in the
        same transaction; the value is then also kept as the one `step.function_id` set (the
        event's history, which `fork_workflow` reads). Raises `DBOSStepConflictError`
        (nothing changed) if `step` is already recorded, `DBOSNonExistentWorkflowError` if the
        workflow does not exist. Core then wakes the event's waiters."""
        ...

    def get_event(self, workflow_id: str, key: str) -> str | None:
        """The event's value as stored, or None if it was never set. One query."""
        ...

    def write_stream(self, write: StreamWrite, step: StepRecord | None = None) -> StepAck:
        """Append a value (or, with `value` None, the close marker) at the next offset of the
        stream (offsets count from 0), and with `step` record that operation in the same
        transaction, the entry recording `step.function_id` as its writer. Concurrent appends
        to one stream through any path (this, or a step's writes in `record_step`) all
        succeed, each at its own offset, with no gap. Raises
        `DBOSStepConflictError` (nothing appended) if `step` is already recorded,
        `DBOSNonExistentWorkflowError` if the workflow does not exist. Core then wakes the
        stream's readers."""
        ...

    def read_stream(self, workflow_id: str, key: str, from_offset: int) -> StreamRead:
        """The stream's entries at `from_offset` or later and the writer's status, read in one
        snapshot (so a terminal status means no entry is missing). One query."""
        ...

    # --- management ---------------------------------------------------------------------------

    def verify_schema(self) -> list[str]:
        """The names of migrations this code has that the database lacks, without changing
        anything (all of them when the system tables do not exist yet).

        Raises `DBOSMigrationError` when the database's applied migrations differ from this
        code's (altered, or newer than this code), `DBOSConnectionError` when it cannot be
        reached.
        """
        ...

    def reset_system_database(self) -> None:
        """Drop every table this backend created (workflows, steps, the migration ledger, and
        whatever later migrations add). `setup()` creates them again, empty."""
        ...

    def cancel_workflows(self, workflow_ids: tuple[str, ...], now_ms: int) -> dict[str, str]:
        """`cancel_workflow` for many workflows in one transaction. Returns, for each ID that
        exists, its status after the call (IDs with no workflow are left out)."""
        ...

    def requeue_workflows(
        self, workflow_ids: tuple[str, ...], queue_name: str, now_ms: int
    ) -> list[str]:
        """Make CANCELLED, ERROR and MAX_RECOVERY_ATTEMPTS_EXCEEDED workflows run again in
        whichever process has their code: each becomes ENQUEUED on `queue_name` with no
        executor, its output, error and deduplication ID cleared and its recovery attempts
        reset to 1; its recorded steps and application version are kept, so the worker that
        claims it continues from its last recorded step. Workflows in any other status, and IDs
        with no workflow, are left alone. One transaction; returns the IDs requeued."""
        ...

    def fork_workflow(self, request: ForkRequest) -> WorkflowRow:
        """Create a new workflow that re-runs `request.workflow_id` from `request.start_step`.

        In one transaction: read the original, copy its recorded operations with a function ID
        below `start_step` to the new ID, and insert the new row (see `ForkRequest`); the
        original is not changed. Returns the new row.

        The effects of the copied operations are copied in the same transaction: the stream
        entries they wrote (in offset order, renumbered from 0), their event history, and as
        each event's value the one the latest of them set. Events and entries written without
        an operation (by a storage older than this rule, or without a `step`) are copied only
        when every recorded operation is (`start_step` >= last function ID + 1). A
        `start_step` past the last recorded operation copies them all (DBOS Transact accepts
        it too). The fork's `forked_from` is the original's ID.

        Raises `DBOSNonExistentWorkflowError` if the original does not exist and
        `DBOSWorkflowConflictIDError` if `forked_workflow_id` is already taken (nothing is
        written in those cases).
        """
        ...

    def rewind_workflow(self, request: RewindRequest) -> tuple[str, bool] | None:
        """Run a finished workflow again in place from operation `request.start_step`.

        One transaction, holding the workflow's row, that checks first that no execution of
        it can be running: its status must be SUCCESS, ERROR, CANCELLED or
        MAX_RECOVERY_ATTEMPTS_EXCEEDED (DBOS Transact 3.4 refuses active ones too), and a
        CANCELLED row must have no owner instance holding an unexpired lease (a cancelled
        execution runs on to its next step boundary, then gives its ownership up:
        `release_cancelled`). So no claim, resume or recovery interleaves, and no step of
        the old run is still running when the new run may start. Then, as DBOS Transact
        3.4 defines a rewind:

        - the recorded operations from `start_step` on are deleted (with a `recv`'s, the
          message it consumed), and so is its event history from there; each event key set
          from there gets back the value the latest earlier operation set (or none);
        - stream entries stay, except close markers written from there (or by no known
          operation), so the new run can write on;
        - every message still waiting for the workflow is deleted;
        - the row becomes ENQUEUED on `request.queue_name` / `queue_partition_key` with
          output, error, owner, executor, deduplication ID, delay, deadline, start and
          completion times cleared, recovery attempts reset, and `application_version` if
          given.

        Returns the status the workflow had and whether it was rewound (False: nothing
        changed), or None if there is no such workflow.
        """
        ...

    def release_cancelled(self, workflow_id: str, instance_id: str) -> None:
        """An execution of `workflow_id` in process instance `instance_id` has stopped because
        the workflow was cancelled: clear the row's owner if it is still CANCELLED and owned
        by `instance_id` (see `rewind_workflow`). One statement."""
        ...

    def set_workflow_delay(self, workflow_id: str, delay_until_ms: int, now_ms: int) -> bool:
        """Make a delayed workflow (ENQUEUED, its `delay_until_ms` still after `now_ms`) wait
        until `delay_until_ms` instead (epoch ms; a past time lets it start at once). One
        statement; returns whether a row changed (False: no such workflow, or not delayed:
        DBOS Transact 3.4 changes only DELAYED workflows)."""
        ...

    def delete_workflows(self, workflow_ids: tuple[str, ...]) -> list[str]:
        """Delete these workflows with everything recorded for them (steps, and rows of any
        table that references a workflow); one transaction. Returns the IDs that existed. A
        running execution of a deleted workflow fails at its next checkpoint."""
        ...

    def delete_older_than(self, cutoff_ms: int) -> int:
        """Retention: delete every workflow in a terminal status (SUCCESS, ERROR, CANCELLED,
        MAX_RECOVERY_ATTEMPTS_EXCEEDED) created before `cutoff_ms`, with everything recorded
        for it, as `delete_workflows` does. ENQUEUED and PENDING workflows are kept whatever
        their age. Returns how many workflows were deleted."""
        ...

    def register_application_version(self, version: ApplicationVersion) -> None:
        """Record `version` unless a version of that name is registered already (then the
        stored one is left as it is, timestamp included); one round trip, safe to race (one
        of several concurrent registrations of a name wins)."""
        ...

    def list_application_versions(self) -> list[ApplicationVersion]:
        """Every registered version, the latest (greatest timestamp) first; ties by later
        creation, then by name. One query."""
        ...

    def set_latest_application_version(
        self, version_name: str, now_ms: int
    ) -> ApplicationVersion | None:
        """Make `version_name` the latest version: its timestamp becomes `now_ms`, or one more
        than the greatest stored timestamp if that is not less (so it is the latest even when
        clocks disagree). One transaction; returns the updated version, or None if no
        version of that name is registered (nothing is changed)."""
        ...

    def store_queue(self, queue: StoredQueue, replace: bool, now_ms: int) -> bool:
        """Store `queue` under its name (DBOS Transact 3.4's ``upsert_queue``): insert it, or,
        when a queue of that name is stored, overwrite its settings and application name if
        `replace` (its creation time stays) and leave it as it is otherwise. `now_ms` becomes
        its update time (and creation time when inserted). One statement, safe to race.
        Returns True if the queue was inserted (it was not stored before)."""
        ...

    def get_queue(self, name: str) -> StoredQueue | None:
        """The stored queue named `name`, or None. One query."""
        ...

    def list_queues(self) -> list[StoredQueue]:
        """Every stored queue, by name. One query."""
        ...

    def update_queue(
        self,
        name: str,
        changes: dict[str, int | float | None],
        now_ms: int,
        expected: StoredQueue | None = None,
    ) -> StoredQueue | None:
        """Set the settings named in `changes` (keys among `QUEUE_SETTINGS`; a None value
        clears a limit; ``partition_queue`` follows whether any partition limit is then set,
        or stays set) and the update time, leaving the other settings as they are, in one
        statement, so concurrent changes of different settings are all kept. With
        `expected`, only if every stored setting of `QUEUE_SETTINGS` is still `expected`'s
        (a compare-and-set: the caller checked the new combination against what it read).
        Returns the updated queue, or None if no queue of that name is stored or, with
        `expected`, its settings differ from it (nothing is changed either way).

        Raises:
            DBOSConfigError: a key that is not a setting (nothing is changed)."""
        ...

    def delete_queue(self, name: str) -> bool:
        """Delete the stored queue `name` (its tasks stay as they are). One statement;
        returns whether a queue was deleted."""
        ...

    def queue_depths(self) -> list[QueueDepth]:
        """For every queue with ENQUEUED or PENDING tasks, how many of each, by queue name.
        One query."""
        ...

    # --- stored schedules (DBOS Transact 3.4's workflow_schedules) ----------------------------

    def create_schedule(self, schedule: ScheduleRecord) -> bool:
        """Store a new schedule; one statement. Returns False, and changes nothing, if a
        schedule of that name exists."""
        ...

    def apply_schedules(self, schedules: tuple[ScheduleRecord, ...]) -> None:
        """Create or replace each schedule by name, in one transaction (all or none); safe to
        race (concurrent applies of one name leave one schedule). A replaced schedule keeps
        its `schedule_id`, `status` and `last_fired_at`; everything else is the new one's."""
        ...

    def list_schedules(self, query: ScheduleQuery) -> list[ScheduleRecord]:
        """The schedules `query` selects, by name; one query."""
        ...

    def get_schedule(self, schedule_name: str) -> ScheduleRecord | None:
        """The schedule of that name, or None; one query."""
        ...

    def set_schedule_status(self, schedule_name: str, status: str) -> bool:
        """Set the schedule's status (ACTIVE or PAUSED); returns whether it exists."""
        ...

    def delete_schedule(self, schedule_name: str) -> bool:
        """Delete the schedule; returns whether it existed. Its workflows are left alone."""
        ...

    def record_schedule_fired(self, schedule_name: str, fired_at: str) -> None:
        """Set `last_fired_at` to ISO 8601 time `fired_at` unless a later tick is already
        recorded (ticks fired late by another process never move it back)."""
        ...


@runtime_checkable
class SystemStorage(StorageBackend, Protocol):
    """The system database, as the engine sees it: a `StorageBackend` wrapped by core's
    `with_wakeups`, which implements the methods below for every backend, from the calls that
    pass through it and what the backend relays (`relay_notifications`)."""

    def wait_workflow_outcome(
        self, workflow_id: str, timeout_s: float | None
    ) -> WorkflowRow | None:
        """Block until the workflow is in a terminal status and return its row.

        Returns None if `timeout_s` elapses first (None waits forever). A workflow that does
        not exist yet is waited for. Holds no connection while waiting; a finish or cancel
        through this storage wakes the waiter at once, one in another process within the
        polling interval (or at once, where the backend relays it).
        """
        ...

    def on_queue_activity(self, callback: Callable[[str | None, bool], None]) -> None:
        """Call ``callback(queue_name, slot_freed)`` (from any thread, cheaply) whenever some
        process enqueues a task (`slot_freed` False) or a queued task stops running
        (`slot_freed` True), so idle queue workers start work at once. `queue_name` None
        means "any queue" (for example after a lost connection, when events may be missed).

        Called for other processes' activity, as the backend relays it
        (`relay_notifications`): core already wakes its own worker for this process's enqueues
        and finishes, and with a backend that cannot observe other processes it is never
        called (workers then rely on their polling interval).
        """
        ...

    def on_queue_settings(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(queue_name)`` (from any thread, cheaply) when the backend relays
        another process's change of queue `queue_name`'s stored settings (None: any queue's),
        `QueueActivity.settings_changed`. Never called for a backend whose
        `reports_queue_settings` is False; a lost connection is reported to
        `on_queue_activity` as ``(None, True)``, which covers settings too."""
        ...

    @property
    def reports_queue_settings(self) -> bool:
        """Whether other processes' changes of stored queues reach `on_queue_settings` now:
        the backend's optional ``reports_queue_settings`` (see `relay_notifications`), False
        for a backend without it."""
        ...

    def on_wakeup(self, callback: Callable[[Wakeup | None], None]) -> None:
        """Call `callback(wakeup)` (from any thread, cheaply) after a message, event or stream
        write through this storage commits (in the writing thread, as the call returns), and
        a `WAKE_STREAM` wake-up for a workflow this storage finished or cancelled (its streams
        are over); and for other processes' writes as the backend relays them
        (`relay_notifications`). `callback(None)` means "anything may have changed" (for
        example after a lost notification connection). Waiters re-check storage when woken and
        poll slowly as a fallback, so with a backend that cannot observe other processes only
        this process's writes are reported.
        """
        ...
