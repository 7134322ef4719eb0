"""Frozen records that cross the storage protocol.

Every value that core hands to a backend, or a backend hands back, is one of these. Payloads
(`inputs`, `output`, `error`) are already serialized text: backends store and return them
verbatim and never interpret them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ._schedule_records import ScheduleRecord


class WorkflowStatusString(str, Enum):
    """The states a workflow row can be in."""

    PENDING = "PENDING"
    ENQUEUED = "ENQUEUED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    MAX_RECOVERY_ATTEMPTS_EXCEEDED = "MAX_RECOVERY_ATTEMPTS_EXCEEDED"


#: Statuses after which a workflow never runs again on its own.
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        WorkflowStatusString.SUCCESS.value,
        WorkflowStatusString.ERROR.value,
        WorkflowStatusString.CANCELLED.value,
        WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value,
    }
)


@dataclass(frozen=True, slots=True)
class NewWorkflow:
    """A workflow about to be created (input of `SystemStorage.create_workflow`)."""

    workflow_id: str
    name: str
    inputs: str
    executor_id: str | None
    application_version: str | None
    created_at_ms: int
    max_recovery_attempts: int | None = None
    parent_workflow_id: str | None = None
    queue_name: str | None = None
    status: str = WorkflowStatusString.PENDING.value
    priority: int = 0
    deduplication_id: str | None = None
    queue_partition_key: str | None = None
    delay_until_ms: int | None = None
    deadline_ms: int | None = None
    #: The process instance that runs it (see `Lease`): set for a PENDING workflow started
    #: in a launched process, None for an enqueued one.
    owner_instance: str | None = None
    #: For a workflow that is a method (DBOS semantics): the registered name of its class
    #: (an instance method's or class method's); None for a function or a static method.
    class_name: str | None = None
    #: For an instance method: the ``config_name`` of the `DBOSConfiguredInstance` it ran on,
    #: which recovery uses to find that instance again.
    config_name: str | None = None
    #: The schedule whose tick this workflow runs for (a scheduled workflow), else None.
    schedule_name: str | None = None
    #: Set for a tick the scheduler fires (ours, not stored): the `ScheduleRecord.schedule_id`
    #: of the schedule it planned from. The row is then created only while schedule
    #: `schedule_name` is stored under this ID and ACTIVE, checked atomically with the insert,
    #: so a pause or delete committed first wins; else `create_workflow` raises
    #: `ScheduleInactiveError`. None (every other start, backfill and trigger): no check.
    schedule_id: str | None = None
    #: The workflow's custom attributes: the JSON text of an object (core checks it), stored
    #: so that SQL can read it (Postgres: ``jsonb``); None: no attributes.
    attributes: str | None = None
    #: The format of `inputs` and of the outcome stored later (DBOS 3.4's per-row marker):
    #: None for core's own format, ``"portable_json"`` for the portable JSON other languages'
    #: SDKs and the SQL functions write. Backends store it as given.
    serialization: str | None = None
    #: The identity it runs as (DBOS semantics, stored as DBOS Transact 3.4 stores it): the
    #: authenticated user, the roles granted to that user (the JSON text of a list of
    #: strings; None: no authentication information) and the role the workflow assumed.
    authenticated_user: str | None = None
    authenticated_roles: str | None = None
    assumed_role: str | None = None
    #: The function ID of its first operation: 1, as in DBOS Transact 3.4 (its operations are
    #: numbered 1, 2, ...). Workflows stored before a backend knew this field read 0 (this
    #: library numbered operations from 0 before); backends store it as given.
    first_function_id: int = 1
    #: The timeout it was started or enqueued with, in milliseconds (DBOS 3.4's
    #: ``workflow_timeout_ms``): None when none was set for it (a child that only inherits
    #: its parent's deadline has none of its own). `deadline_ms` is what enforces it.
    timeout_ms: int | None = None
    #: The application that created it (DBOS 3.4's ``application_name``: the ``name`` of the
    #: creating app's config, or the one a `DBOSClient` was given); None: none named.
    application_name: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    """One stored workflow, as read back from storage."""

    workflow_id: str
    status: str
    name: str
    inputs: str | None
    output: str | None
    error: str | None
    executor_id: str | None
    application_version: str | None
    recovery_attempts: int
    max_recovery_attempts: int | None
    created_at_ms: int
    updated_at_ms: int
    parent_workflow_id: str | None = None
    queue_name: str | None = None
    priority: int = 0
    deduplication_id: str | None = None
    queue_partition_key: str | None = None
    started_at_ms: int | None = None
    deadline_ms: int | None = None
    #: The process instance that runs it while PENDING (see `Lease`); None before any did.
    owner_instance: str | None = None
    #: The method's class and configured instance (see `NewWorkflow`); None for a function.
    class_name: str | None = None
    config_name: str | None = None
    #: When it reached a terminal status (`TERMINAL_STATUSES`), epoch ms; None before that
    #: (and again once resumed). Backends keep it with the status, whichever call changes it.
    completed_at_ms: int | None = None
    #: The workflow this one was forked from (`fork_workflow`), else None.
    forked_from: str | None = None
    #: The schedule whose tick it runs for (`NewWorkflow.schedule_name`), else None.
    schedule_name: str | None = None
    #: The workflow's custom attributes as JSON text (an object, as written; a backend may
    #: normalize spacing and key order), or None.
    attributes: str | None = None
    #: The format of `inputs`, `output` and `error` (`NewWorkflow.serialization`); None for
    #: core's own format (every row stored before the column existed).
    serialization: str | None = None
    #: The identity it runs as (see `NewWorkflow.authenticated_user`).
    authenticated_user: str | None = None
    authenticated_roles: str | None = None
    assumed_role: str | None = None
    #: The function ID of its first operation (`NewWorkflow.first_function_id`): 0 for a
    #: workflow stored under this library's earlier numbering, else 1. A fork copies it.
    first_function_id: int = 1
    #: When a delayed enqueue may start (epoch ms; `NewWorkflow.delay_until_ms`), else None.
    delay_until_ms: int | None = None
    #: `NewWorkflow.timeout_ms`; None also for rows stored before a backend kept it.
    timeout_ms: int | None = None
    #: Whether some fork was made from it (`fork_workflow` sets it on the original, in the
    #: fork's transaction; deleting the fork leaves it set, as in DBOS 3.4).
    was_forked_from: bool = False
    #: `NewWorkflow.application_name`; a fork keeps its original's. None also for rows
    #: stored before a backend kept it.
    application_name: str | None = None
    #: Whether it had recorded operations when a claim, recovery or takeover took it
    #: (`claim_queued`, `finish_and_claim`, `recover_pending`, `take_over_workflows`); None
    #: where the reading did not look. A workflow taken without any runs without loading its
    #: steps; one with some (a rewind, resume or move put it back on a queue, or it crashed
    #: after a step) replays them. None recorded does not mean it never ran: a datasource
    #: transaction's checkpoint lives in the application database.
    has_operations: bool | None = None

    @property
    def is_terminal(self) -> bool:
        """True if the status is one a workflow never leaves by itself (`TERMINAL_STATUSES`:
        SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED)."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class WorkflowInit:
    """What `create_workflow` found or made.

    `created` is True when this call inserted the row; otherwise `row` is the row that was
    already there (possibly finished, possibly another workflow's name under the same ID).
    """

    created: bool
    row: WorkflowRow


@dataclass(frozen=True, slots=True)
class ResumeResult:
    """What `resume_workflow` did: `resumed` is True when this call made the row PENDING."""

    resumed: bool
    row: WorkflowRow


@dataclass(frozen=True, slots=True)
class StepRecord:
    """The recorded outcome of one operation of a workflow (a step, a child start, a sleep...).

    `function_id` counts from the workflow's `first_function_id` (1; 0 for workflows stored
    under this library's earlier numbering) in the order the workflow runs its operations.
    Exactly one of `output` and `error` is meaningful; `output` may be None for a step that
    returned nothing only if the serializer says so (core always stores a serialized value).

    `trace_carrier` is set only on the record `SystemStorage.recv` returns: the consumed
    message's `Message.trace_carrier`, so the receiver's trace can link to the sender's. It is
    never stored with the operation (backends ignore it when recording a step, and
    `load_steps` returns None), so a replayed receive has none. Ours, not DBOS Transact's.
    """

    workflow_id: str
    function_id: int
    function_name: str
    output: str | None
    error: str | None
    started_at_ms: int
    completed_at_ms: int
    child_workflow_id: str | None = None
    trace_carrier: str | None = None


@dataclass(frozen=True, slots=True)
class StepAck:
    """The answer to `record_step`: the workflow's status when the checkpoint committed.

    It rides on the same round trip as the checkpoint, so core can notice a cancellation at the
    next step boundary without an extra read. None means the workflow row is gone.
    `owner_instance` is the row's owner at that moment (see `Lease`): a process that finds
    another instance there has lost the workflow to a takeover and stops running it. None
    when the row has no owner, or the call recorded no step.
    """

    workflow_status: str | None
    owner_instance: str | None = None


#: Kinds of `Wakeup`: a message arrived, an event was set, a stream was written, a workflow
#: may have reached a final status (a cancel reaches the workflow's own waits through it).
WAKE_MESSAGE = "message"
WAKE_EVENT = "event"
WAKE_STREAM = "stream"
WAKE_SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Wakeup:
    """Something a waiter may be waiting for has been written (see `SystemStorage.on_wakeup`).

    `kind` is one of `WAKE_MESSAGE` (`workflow_id` is the destination), `WAKE_EVENT` or
    `WAKE_STREAM` (`workflow_id` is the writer), or `WAKE_SETTLED` (the workflow may have
    reached a final status; backends relay it for other processes' cancels).
    """

    kind: str
    workflow_id: str


@dataclass(frozen=True, slots=True)
class QueueActivity:
    """Another process enqueued a task (`slot_freed` False) or a queued task stopped running,
    its outcome written (`slot_freed` True); `queue_name` None: any queue. Relayed by a backend
    (see `StorageBackend.relay_notifications`).

    `settings_changed` True (our extension, default False): instead, a process stored, changed
    or deleted queue `queue_name`'s settings (None: any queue's); `slot_freed` is then False.
    Only a backend that reports settings changes (``reports_queue_settings``) relays these."""

    queue_name: str | None
    slot_freed: bool
    settings_changed: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """A message for a workflow (input of `SystemStorage.send`).

    `message_id` is unique: sending one ID twice stores the message once. `topic` is never
    None (core maps the default topic to a fixed string). `message` is serialized text.
    `idempotency_key` (optional): a key used before for the same destination, by any send
    (even one whose message was received since), makes the send store nothing; backends
    remember used keys for as long as the destination workflow exists.
    `trace_carrier` (optional; ours, DBOS Transact 3.4 stores none): the sender's W3C trace
    context as JSON text of an object (``{"traceparent": ..., "tracestate": ...}``, the form
    of the ``dbos.otelContext`` workflow attribute), stored with the message and handed back
    by the `recv` that consumes it (`StepRecord.trace_carrier`); backends store it verbatim.
    """

    message_id: str
    destination_id: str
    topic: str
    message: str
    created_at_ms: int
    idempotency_key: str | None = None
    trace_carrier: str | None = None


@dataclass(frozen=True, slots=True)
class RecvRequest:
    """Input of `SystemStorage.recv`: take the oldest message of `topic` for `workflow_id` and
    record it as that workflow's operation `function_id` named `function_name`."""

    workflow_id: str
    function_id: int
    function_name: str
    topic: str
    now_ms: int
    #: When the receiver started waiting (the record's start time); None: `now_ms`.
    started_at_ms: int | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A workflow's event: `key` set to `value` (serialized text) by `workflow_id`."""

    workflow_id: str
    key: str
    value: str
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class StreamWrite:
    """One append to the stream `key` of `workflow_id`; `value` None closes the stream."""

    workflow_id: str
    key: str
    value: str | None
    created_at_ms: int


#: A write a step's body makes to the system database: committed with the step's checkpoint
#: (see `SystemStorage.record_step`), so only the attempt that succeeds leaves it.
StepWrite = Message | EventRecord | StreamWrite


def wakeup_for(write: StepWrite) -> Wakeup:
    """Who to wake once `write` is committed: a message's receiver, or the readers of a
    workflow's events or streams."""
    if isinstance(write, Message):
        return Wakeup(WAKE_MESSAGE, write.destination_id)
    if isinstance(write, EventRecord):
        return Wakeup(WAKE_EVENT, write.workflow_id)
    return Wakeup(WAKE_STREAM, write.workflow_id)


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stored stream entry; `value` None is the close marker."""

    offset: int
    value: str | None


@dataclass(frozen=True, slots=True)
class StreamRead:
    """What `SystemStorage.read_stream` saw, in one snapshot: the writer's status (None if it
    does not exist) and the entries from the requested offset on, in offset order."""

    workflow_status: str | None
    entries: tuple[StreamEntry, ...]


@dataclass(frozen=True, slots=True)
class WorkflowOutcome:
    """The final result of a workflow (input of `finish_workflow`)."""

    workflow_id: str
    status: str
    output: str | None
    error: str | None
    completed_at_ms: int
    #: When set, the outcome applies only while the row's owner is this instance (or it has
    #: none): an execution that lost its workflow to a takeover cannot finish it.
    owner_instance: str | None = None


@dataclass(frozen=True, slots=True)
class ForkRequest:
    """Input of `SystemStorage.fork_workflow`: start a copy of `workflow_id` at `start_step`.

    The copy gets the ID `forked_workflow_id`, the original's name, inputs, attributes,
    identity (authenticated user, roles and assumed role) and `first_function_id` (the copied
    operations keep their numbers, so the copy numbers its own as the original did), and is
    ENQUEUED on `queue_name` (partition `queue_partition_key`, None: none) with
    `application_version` (None: the original's version), created at `now_ms`. The recorded
    operations with a function ID below `start_step` are copied to it, so a worker replays
    them instead of running them again.

    DBOS 3.4's fork options: `timeout_ms` is the fork's own timeout and `deadline_ms` (epoch
    ms) enforces it (None: none; the original's is not inherited). A copied operation whose
    ``child_workflow_id`` is an old ID of `replacement_children` ((old, new) pairs) gets
    the new one; its output is copied as it is."""

    workflow_id: str
    forked_workflow_id: str
    start_step: int
    queue_name: str
    application_version: str | None
    now_ms: int
    queue_partition_key: str | None = None
    timeout_ms: int | None = None
    deadline_ms: int | None = None
    replacement_children: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RewindRequest:
    """Input of `SystemStorage.rewind_workflow`: run finished workflow `workflow_id` again, in
    place, from operation `start_step` (a function ID, as `load_steps` reports it).

    The workflow keeps its ID, name and inputs; it is ENQUEUED on `queue_name` (with
    `queue_partition_key`) and `application_version` (None: its own), at `now_ms`.
    """

    workflow_id: str
    start_step: int
    queue_name: str
    queue_partition_key: str | None
    application_version: str | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class WorkflowQuery:
    """Filters for `list_workflows`; None means "any". Times are epoch milliseconds.

    A tuple where a field allows one means "any of these" (an empty tuple matches nothing);
    `workflow_id_prefix` as a tuple matches IDs starting with any of the prefixes.
    `has_parent` True keeps child workflows only, False top-level ones only; `is_fork` the
    same for forks (rows with `forked_from`).
    """

    workflow_ids: tuple[str, ...] | None = None
    workflow_id_prefix: str | tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    name: str | tuple[str, ...] | None = None
    executor_id: str | tuple[str, ...] | None = None
    application_version: str | tuple[str, ...] | None = None
    queue_name: str | tuple[str, ...] | None = None
    parent_workflow_id: str | tuple[str, ...] | None = None
    created_after_ms: int | None = None
    created_before_ms: int | None = None
    forked_from: str | tuple[str, ...] | None = None
    schedule_name: str | tuple[str, ...] | None = None
    #: Only workflows run by this authenticated user (or any of a tuple of them).
    authenticated_user: str | tuple[str, ...] | None = None
    has_parent: bool | None = None
    is_fork: bool | None = None
    completed_after_ms: int | None = None
    completed_before_ms: int | None = None
    limit: int | None = None
    offset: int | None = None
    sort_desc: bool = False
    load_inputs: bool = True
    load_output: bool = True
    queued_only: bool = False
    #: Only stranded workflows (ours): PENDING or ENQUEUED ones whose application version no
    #: process with an unexpired lease serves. A version-less ENQUEUED row counts as served
    #: while a live process serves the latest registered version (the one that claims it).
    stranded: bool = False
    #: Only tasks holding this deduplication ID (on `queue_name`, when that is given).
    deduplication_id: str | None = None
    #: JSON text of an object: only workflows whose attributes contain it, as Postgres's
    #: ``jsonb @>`` decides (every key present, with a value that contains the given one).
    attributes_contain: str | None = None
    #: Only workflows a fork was made from (True) or none was (False).
    was_forked_from: bool | None = None
    #: Only workflows taken from their queue at or after / at or before this time (epoch ms;
    #: `WorkflowRow.started_at_ms` of a queued workflow).
    dequeued_after_ms: int | None = None
    dequeued_before_ms: int | None = None
    #: Only workflows of this application (or any of a tuple of them), and those with no
    #: application name (DBOS 3.4: an unnamed workflow belongs to every application).
    application_name: str | tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A queue's flow-control settings, as the claiming backend needs them (DBOS Transact
    3.4's meanings).

    Whole queue: `concurrency` bounds tasks running at once across all processes;
    `worker_concurrency` bounds them per process (core passes what is left of it as
    `ClaimRequest.capacity`); `limit` tasks may start per `period_s` seconds across all
    processes. On a `partitioned` queue these still bound the whole queue, and the
    ``partition_*`` settings bound each partition on its own: `partition_concurrency` tasks
    running at once across all processes, `partition_worker_concurrency` in one process (the
    claimer counts its own running tasks of the partition, by `ClaimRequest.instance_id`),
    `partition_limit` starts per `partition_period_s` seconds.
    """

    name: str
    concurrency: int | None = None
    worker_concurrency: int | None = None
    limit: int | None = None
    period_s: float | None = None
    priority_enabled: bool = False
    partitioned: bool = False
    partition_concurrency: int | None = None
    partition_worker_concurrency: int | None = None
    partition_limit: int | None = None
    partition_period_s: float | None = None

    @property
    def has_global_limits(self) -> bool:
        """True if claims must count tasks across all processes (`concurrency`, `limit`,
        `partition_concurrency` or `partition_limit` is set), so a backend has to serialize
        claims on this queue."""
        return (
            self.concurrency is not None
            or self.limit is not None
            or self.partition_concurrency is not None
            or self.partition_limit is not None
        )

    @property
    def has_queue_limits(self) -> bool:
        """True if a limit bounds the whole queue across all processes (`concurrency` or
        `limit`), so a claim counts the queue's running tasks and recent starts."""
        return self.concurrency is not None or self.limit is not None


@dataclass(frozen=True, slots=True)
class PartitionLoad:
    """One partition of a partitioned queue, as a claimer sees it before claiming.

    `queued` counts its tasks that could start now; `running` its PENDING tasks and `started`
    its starts within the partition rate-limit period, across all processes;
    `last_started_ms` its most recent start (None if it never started one), which orders
    partitions for fairness; `mine` its PENDING tasks owned by the claiming process (what
    `QueueSpec.partition_worker_concurrency` bounds).
    """

    key: str
    queued: int
    running: int = 0
    started: int = 0
    last_started_ms: int | None = None
    mine: int = 0


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """Input of `SystemStorage.claim_queued`: claim up to `capacity` tasks of `queue`."""

    queue: QueueSpec
    executor_id: str
    application_version: str
    capacity: int
    workflow_names: tuple[str, ...]
    now_ms: int
    #: The claiming process instance, recorded as the owner of the rows it claims.
    instance_id: str | None = None
    #: Whether tasks enqueued without an application version may be claimed. DBOS Transact
    #: gives them only to processes of the latest application version; core passes False in
    #: a process of an older one.
    takes_unversioned: bool = True


@dataclass(frozen=True, slots=True)
class Lease:
    """A launched process's claim to be alive (input of `SystemStorage.renew_lease`).

    Ours, not DBOS Transact's. `instance_id` is new at every launch (unlike `executor_id`,
    which a restarted process keeps); the lease holds for `duration_ms` milliseconds after
    each renewal, by the database's clock where it has one. A PENDING workflow whose owner
    instance holds no unexpired lease may be taken over by another process
    (`take_over_workflows`).
    """

    instance_id: str
    executor_id: str
    application_version: str
    duration_ms: int
    #: Where the process runs (see `LeaseHolder`): a host key and a process ID.
    host: str = ""
    pid: int = 0
    #: The queues the process works on (`DBOS.listen_queues`); None: every queue.
    queues: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """A stored lease (output of `SystemStorage.list_leases`): `Lease`'s identity, where its
    process runs (`host`, a key that core derives from the host name and process namespace, and
    `pid`), when it expires (epoch milliseconds) and whether it is live now, by the same clock
    that takeovers use. Ours."""

    instance_id: str
    executor_id: str
    application_version: str
    host: str
    pid: int
    expires_at_ms: int
    live: bool
    #: The queues the process works on; None: every queue.
    queues: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StrandedVersion:
    """Stranded workflows of one application version (output of
    `SystemStorage.count_stranded_workflows`; see `WorkflowQuery.stranded`): how many are
    PENDING and ENQUEUED, and when the oldest was created (epoch milliseconds). A None
    version stands for version-less ENQUEUED rows. Ours."""

    application_version: str | None
    pending: int
    enqueued: int
    oldest_created_at_ms: int


@dataclass(frozen=True, slots=True)
class FinishedAndClaimed:
    """What `finish_and_claim` did: the status stored for the finished workflow (as
    `finish_workflow` returns it) and the tasks claimed in its place."""

    status: str
    claimed: list[WorkflowRow]


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """Backend-independent knobs passed to `dbos_storage_for_url` with the URL."""

    system_schema: str = "dbos"
    pool_size: int = 10
    application_name: str = "dbos"
    connect_timeout_s: float = 10.0
    #: How long setup waits for another process's migration lock before failing; None: the
    #: backend's default (Postgres: ``$DBOS_MIGRATION_LOCK_TIMEOUT_S``, else 60 s).
    migration_lock_timeout_s: float | None = None
    #: Relay other processes' writes through the database's notifications (Postgres LISTEN/
    #: NOTIFY); False: waits see them by polling only (DBOS's ``use_listen_notify``).
    use_listen_notify: bool = True
    #: Postgres ``idle_in_transaction_session_timeout`` for the backend's connections, in
    #: seconds; None leaves the server's setting (DBOS's ``sys_db_idle_transaction_timeout_sec``).
    idle_transaction_timeout_s: float | None = 60.0
    #: Statement timeout of listing queries (`list_workflows`), in seconds; None: no limit
    #: (DBOS's ``observability_query_timeout_sec``).
    observability_query_timeout_s: float | None = 30.0


def as_params(
    record: NewWorkflow
    | StepRecord
    | WorkflowOutcome
    | Message
    | RecvRequest
    | EventRecord
    | StreamWrite
    | ForkRequest
    | RewindRequest
    | Lease
    | ScheduleRecord,
) -> dict[str, Any]:
    """A record's fields by name: backends name their statement parameters after them."""
    names: tuple[str, ...] = type(record).__slots__  # slots dataclasses list their fields here
    return {name: getattr(record, name) for name in names}


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition of a `WorkflowQuery`, for backends to render in their own SQL dialect.

    `field` names a `WorkflowRow` field (``created_at_ms``, not a column): each backend maps
    it to its own column. kinds: ``eq`` (field = value), ``in`` (field in a tuple of values),
    ``prefix`` (field starts with value, compared exactly, no wildcards), ``any_prefix``
    (field starts with one of a tuple of two or more values), ``gte``, ``lte``, ``not_null``,
    ``null``, ``in_or_null`` (field in a non-empty tuple of values, or NULL) and
    ``contains`` (the field's JSON contains the JSON text `value`, with the meaning of
    Postgres's ``jsonb @>``; see `json_contains`).
    """

    kind: str
    field: str
    value: Any


def query_filters(query: WorkflowQuery) -> list[Filter]:
    """The conditions a `WorkflowQuery` asks for, in a fixed order, on `WorkflowRow` fields."""
    filters: list[Filter] = []
    if query.workflow_ids is not None:
        filters.append(Filter("in", "workflow_id", query.workflow_ids))
    if query.statuses is not None:
        filters.append(Filter("in", "status", query.statuses))
    prefix = query.workflow_id_prefix
    if isinstance(prefix, str):
        filters.append(Filter("prefix", "workflow_id", prefix))
    elif prefix is not None and len(prefix) == 1:
        filters.append(Filter("prefix", "workflow_id", prefix[0]))
    elif prefix is not None:
        # No prefix at all matches nothing, as an empty `in` does.
        filters.append(Filter("any_prefix", "workflow_id", prefix) if prefix else _NOTHING)
    for field, value in (
        ("name", query.name),
        ("executor_id", query.executor_id),
        ("application_version", query.application_version),
        ("queue_name", query.queue_name),
        ("parent_workflow_id", query.parent_workflow_id),
        ("forked_from", query.forked_from),
        ("schedule_name", query.schedule_name),
        ("authenticated_user", query.authenticated_user),
        ("deduplication_id", query.deduplication_id),
    ):
        if isinstance(value, tuple):
            filters.append(Filter("in", field, value))
        elif value is not None:
            filters.append(Filter("eq", field, value))
    presence = (("parent_workflow_id", query.has_parent), ("forked_from", query.is_fork))
    for field, present in presence:
        if present is not None:
            filters.append(Filter("not_null" if present else "null", field, None))
    for kind, field, bound in (
        ("gte", "created_at_ms", query.created_after_ms),
        ("lte", "created_at_ms", query.created_before_ms),
        ("gte", "completed_at_ms", query.completed_after_ms),
        ("lte", "completed_at_ms", query.completed_before_ms),
        ("gte", "started_at_ms", query.dequeued_after_ms),
        ("lte", "started_at_ms", query.dequeued_before_ms),
    ):
        if bound is not None:
            filters.append(Filter(kind, field, bound))
    if query.dequeued_after_ms is not None or query.dequeued_before_ms is not None:
        # started_at is when a queued workflow was taken from its queue (its dequeued_at).
        filters.append(Filter("not_null", "queue_name", None))
    if query.was_forked_from is not None:
        filters.append(Filter("eq", "was_forked_from", query.was_forked_from))
    names = query.application_name
    if names is not None:
        names = (names,) if isinstance(names, str) else names
        # An empty tuple matches nothing, as an empty "in" does (not even unnamed rows).
        filters.append(Filter("in_or_null", "application_name", names) if names else _NOTHING)
    if query.queued_only:
        filters.append(Filter("not_null", "queue_name", None))
    if query.attributes_contain is not None:
        filters.append(Filter("contains", "attributes", query.attributes_contain))
    return filters


#: A condition no row meets.
_NOTHING = Filter("in", "workflow_id", ())


def json_contains(container: Any, contained: Any, *, top_level: bool = True) -> bool:
    """Whether the decoded JSON value `container` contains `contained`, as Postgres's
    ``jsonb @>`` decides: an object contains an object whose every key it has with a value
    that contains that key's value; an array contains an array whose every element is
    contained in one of its elements (order and duplicates do not matter), and, at the top
    level only, a scalar it holds; scalars contain equal scalars of the same JSON type
    (numbers compare by value, so 1 and 1.0 are equal; true is not 1). For backends without
    ``jsonb`` (SQLite registers it as a SQL function)."""
    if isinstance(contained, dict):
        return isinstance(container, dict) and all(
            key in container and json_contains(container[key], value, top_level=False)
            for key, value in contained.items()
        )
    if isinstance(contained, list):
        return isinstance(container, list) and all(
            any(json_contains(item, wanted, top_level=False) for item in container)
            for wanted in contained
        )
    if isinstance(container, list):
        return top_level and any(_json_equal(item, contained) for item in container)
    return _json_equal(container, contained)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


def skipped_fields(query: WorkflowQuery) -> frozenset[str]:
    """`WorkflowRow` payload fields a listing leaves out (returned as None)."""
    skipped = set()
    if not query.load_inputs:
        skipped.add("inputs")
    if not query.load_output:
        skipped.update({"output", "error"})
    return frozenset(skipped)


@dataclass(frozen=True, slots=True)
class ApplicationVersion:
    """One application version registered in the system database (DBOS Transact's
    ``application_versions`` row): its ID (random), name (what workflows store as their
    ``application_version``), the time that orders versions (the latest has the greatest; set
    at registration and by `SystemStorage.set_latest_application_version`), when it was
    first registered, and the name of the application that registered it (None if unknown).
    """

    version_id: str
    version_name: str
    version_timestamp_ms: int
    created_at_ms: int
    application_name: str | None
