"""The backend kit: everything a system-database backend needs from core, and nothing more.

A backend implements `StorageBackend` (its docstrings state each call's round trips, results and
errors) over the records defined here, registers itself through the ``dbos`` entry-point group with
a `hookimpl` of ``dbos_storage_for_url``, and may use the helpers below: the pure queue decisions
(`claimable`, `partition_quotas`), `GroupCommit` for sharing commits, SQL files and numbered
migrations (`load_queries`, `load_migrations`, `pending_migrations`), and keeping passwords out of
messages (`mask_password`, `password_secrets`, `scrub_text`, `scrub_exception`). Core wraps the
backend (`with_wakeups`) into the `SystemStorage` the engine uses, which wakes this process's
waiters after writes: a backend writes no wake-up code, and only relays other processes'
notifications (`StorageBackend.relay_notifications`). The conformance suite in
``dbos_testing.conformance`` tests a backend against this protocol.

This module is public and versioned with dbos-core: the Postgres and SQLite backends import
only from here (and from ``dbos``), never from core's private modules. See
docs/guides/writing-a-backend.md.
"""

from __future__ import annotations

from .._base.errors import (
    DBOSConfigError,
    DBOSConnectionError,
    DBOSForkStepError,
    DBOSMigrationError,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
    DBOSStepConflictError,
    DBOSStorageError,
    DBOSWorkflowConflictIDError,
)
from .._base.hookmarks import hookimpl
from .._base.secrets import password_secrets, scrub_exception, scrub_text
from .._base.urls import mask_password, url_scheme, validate_schema_name
from ._fanout import with_wakeups
from ._group_commit import GroupCommit
from ._protocol import StorageBackend, SystemStorage
from ._queue_decisions import claimable, partition_quotas
from ._queue_records import QUEUE_SETTINGS, QueueDepth, StoredQueue
from ._records import (
    TERMINAL_STATUSES,
    WAKE_EVENT,
    WAKE_MESSAGE,
    WAKE_SETTLED,
    WAKE_STREAM,
    ApplicationVersion,
    ClaimRequest,
    EventRecord,
    Filter,
    FinishedAndClaimed,
    ForkRequest,
    Lease,
    LeaseHolder,
    Message,
    NewWorkflow,
    PartitionLoad,
    QueueActivity,
    QueueSpec,
    RecvRequest,
    ResumeResult,
    RewindRequest,
    StepAck,
    StepRecord,
    StepWrite,
    StorageOptions,
    StrandedVersion,
    StreamEntry,
    StreamRead,
    StreamWrite,
    Wakeup,
    WorkflowInit,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowRow,
    WorkflowStatusString,
    as_params,
    json_contains,
    query_filters,
    skipped_fields,
)
from ._schedule_records import (
    SCHEDULE_ACTIVE,
    SCHEDULE_PAUSED,
    ScheduleInactiveError,
    ScheduleQuery,
    ScheduleRecord,
)
from ._schema_check import require_current_schema
from ._sqlfiles import (
    AppliedMigration,
    Migration,
    load_fragments,
    load_migrations,
    load_queries,
    pending_migrations,
)

__all__ = [
    "QUEUE_SETTINGS",
    "SCHEDULE_ACTIVE",
    "SCHEDULE_PAUSED",
    "TERMINAL_STATUSES",
    "WAKE_EVENT",
    "WAKE_MESSAGE",
    "WAKE_SETTLED",
    "WAKE_STREAM",
    "ApplicationVersion",
    "AppliedMigration",
    "ClaimRequest",
    "DBOSConfigError",
    "DBOSConnectionError",
    "DBOSForkStepError",
    "DBOSMigrationError",
    "DBOSNonExistentWorkflowError",
    "DBOSQueueDeduplicatedError",
    "DBOSStepConflictError",
    "DBOSStorageError",
    "DBOSWorkflowConflictIDError",
    "EventRecord",
    "Filter",
    "FinishedAndClaimed",
    "ForkRequest",
    "GroupCommit",
    "Lease",
    "LeaseHolder",
    "Message",
    "Migration",
    "NewWorkflow",
    "PartitionLoad",
    "QueueActivity",
    "QueueDepth",
    "QueueSpec",
    "RecvRequest",
    "ResumeResult",
    "RewindRequest",
    "ScheduleInactiveError",
    "ScheduleQuery",
    "ScheduleRecord",
    "StepAck",
    "StepRecord",
    "StepWrite",
    "StorageBackend",
    "StorageOptions",
    "StreamEntry",
    "StreamRead",
    "StreamWrite",
    "StoredQueue",
    "StrandedVersion",
    "SystemStorage",
    "Wakeup",
    "WorkflowInit",
    "WorkflowOutcome",
    "WorkflowQuery",
    "WorkflowRow",
    "WorkflowStatusString",
    "as_params",
    "claimable",
    "hookimpl",
    "json_contains",
    "load_fragments",
    "load_migrations",
    "load_queries",
    "mask_password",
    "partition_quotas",
    "password_secrets",
    "pending_migrations",
    "query_filters",
    "require_current_schema",
    "scrub_exception",
    "scrub_text",
    "skipped_fields",
    "url_scheme",
    "validate_schema_name",
    "with_wakeups",
]
