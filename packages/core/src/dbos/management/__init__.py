"""The calls made outside any workflow, shared by `DBOS`, `DBOSClient`, the ``dbos`` command
and other tools: managing workflows, sending and reading messages, events and streams, and
waiting for a workflow's outcome in another process.

`Facade` is what `DBOS` and `DBOSClient` share: their management and messaging calls, each
written once over a few accessors that each side provides (`DBOSClient` subclasses it).
`Management` does the management calls over a `SystemStorage` (list, inspect, cancel,
resume, fork, delete, enqueue by name); `RemoteWaiter` waits for an outcome; the messaging
procedures `send_from_outside`, `send_bulk_from_outside` (of `SendMessage` items) and
`get_event_from_outside` are generator procedures that
`run_sync` or `run_async` drive; `message_trace_carrier` is the trace context a message sent
now carries (for sends that write their own SQL). A tool reads values of apps whose
code it lacks with `LenientCodec` (unreadable values come back as `UnreadableValue`).
`ResilientStorage` retries a storage's calls through connection errors for a budget.
`schedule_record` builds a checked stored schedule (`DBOSClient.create_schedule`).
`INTERNAL_QUEUE_NAME` is DBOS's internal queue (``dbos.internal``), which every launched
process works on without declaring it (forks, resumes, rewinds, debounced workflows).
`debounce` is the caller's side of a debounce (`Debouncer`, `DebouncerClient`).

Public and versioned with dbos-core: dbos-client imports only from here, ``dbos.storage`` and
``dbos``.
"""

from __future__ import annotations

from .._base.ids import check_workflow_id
from .._base.serialization import Codec, LenientCodec, UnreadableValue
from .._base.urls import sqlalchemy_engine_url, validate_url
from .._engine.batch import EnqueueCall
from .._engine.context import message_trace_carrier, take_assigned_workflow_id
from .._engine.effects import Procedure, run_async, run_sync
from .._engine.messaging import get_event_from_outside, send_from_outside
from .._engine.queues import INTERNAL_QUEUE_NAME
from .._engine.resilient import (
    DEFAULT_RETRY_TIMEOUT_S,
    ResilientStorage,
    attempt_timeout,
    retry_timeout,
)
from .._engine.sending import SendMessage, send_bulk_from_outside
from ..storage._waiting import Wakeups
from ._debounce import debounce
from ._facade import Facade
from ._listing import build_query, build_queued_query, to_epoch_ms
from ._management import ActionResult, EnqueueOptions, Management, RemoteWaiter, StepInfo
from ._queue_settings import (
    QueueConflictResolution,
    QueueRateLimit,
    QueueSettings,
    queue_from_arguments,
    store_procedure,
)
from ._schedules import ClientScheduleInput, WorkflowSchedule, schedule_record
from ._stranded import StrandedCount, served_versions
from ._versions import VersionInfo
from ._wait_times import RecordedTimes, wake_up_ms

__all__ = [
    "DEFAULT_RETRY_TIMEOUT_S",
    "INTERNAL_QUEUE_NAME",
    "ActionResult",
    "ClientScheduleInput",
    "Codec",
    "EnqueueCall",
    "EnqueueOptions",
    "Facade",
    "LenientCodec",
    "Management",
    "Procedure",
    "QueueConflictResolution",
    "QueueRateLimit",
    "QueueSettings",
    "RecordedTimes",
    "RemoteWaiter",
    "ResilientStorage",
    "SendMessage",
    "StepInfo",
    "StrandedCount",
    "UnreadableValue",
    "VersionInfo",
    "Wakeups",
    "WorkflowSchedule",
    "attempt_timeout",
    "build_query",
    "build_queued_query",
    "check_workflow_id",
    "debounce",
    "get_event_from_outside",
    "message_trace_carrier",
    "queue_from_arguments",
    "retry_timeout",
    "run_async",
    "run_sync",
    "schedule_record",
    "send_bulk_from_outside",
    "send_from_outside",
    "served_versions",
    "store_procedure",
    "take_assigned_workflow_id",
    "to_epoch_ms",
    "sqlalchemy_engine_url",
    "validate_url",
    "wake_up_ms",
]
