"""`WorkflowStatus`: a stored workflow as users see it (from handles, listings, the client)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .._base.portable import codec_for
from .._base.serialization import Codec
from .._engine.roles import decode_roles
from ..storage._records import WorkflowRow


@dataclass(frozen=True)
class WorkflowStatus:
    """A workflow's stored state. Times are epoch milliseconds.

    As in DBOS Transact 3.4: `completed_at` is when it reached a terminal status (None while
    it has not, and again after a resume); `forked_from` is the ID of the workflow it was
    forked from; `schedule_name` the schedule it ran for (ours: a ``@DBOS.scheduled``
    workflow's schedule is named after the workflow's registered name). Each is None for
    workflows stored before the system database migration that added them, and so are
    `workflow_timeout_ms` and `application_name` (Postgres migration 0024, SQLite 0020).
    `attributes` are the custom attributes set with `SetWorkflowAttributes`, the
    ``attributes`` enqueue option or ``update_workflow_attributes`` (None if it has none).
    """

    workflow_id: str
    status: str
    name: str
    input: dict[str, Any] | None
    output: Any
    error: BaseException | None
    created_at: int
    updated_at: int
    executor_id: str | None
    app_version: str | None
    recovery_attempts: int
    max_recovery_attempts: int | None
    queue_name: str | None
    parent_workflow_id: str | None
    workflow_deadline_epoch_ms: int | None = None
    #: The registered class name of a workflow that is a method (an instance or class
    #: method; ``@DBOS.dbos_class(class_name=...)`` or the class's qualified name), None for
    #: a function or a static method (DBOS semantics).
    class_name: str | None = None
    #: The ``config_name`` of the `DBOSConfiguredInstance` an instance-method workflow runs
    #: on, else None (DBOS semantics).
    config_name: str | None = None
    completed_at: int | None = None
    forked_from: str | None = None
    schedule_name: str | None = None
    attributes: dict[str, Any] | None = None
    #: The identity it runs as (DBOS semantics): the authenticated user it was started or
    #: enqueued by, the roles granted to that user (None: no authentication information),
    #: and the role it assumed (the first of its required roles the user holds, else its
    #: caller's). Restored when it is recovered.
    authenticated_user: str | None = None
    authenticated_roles: list[str] | None = None
    assumed_role: str | None = None
    #: Its queue settings as enqueued, and when a worker took it from its queue (epoch ms;
    #: None while ENQUEUED and for a workflow never queued) (DBOS semantics).
    deduplication_id: str | None = None
    priority: int = 0
    queue_partition_key: str | None = None
    dequeued_at: int | None = None
    #: The timeout it was started or enqueued with, in milliseconds (`SetWorkflowTimeout`,
    #: the ``workflow_timeout`` enqueue option); None when it had none of its own (a child
    #: that only inherits its parent's deadline) (DBOS semantics). Ours: the timeout counts
    #: from the start or the enqueue, so `workflow_deadline_epoch_ms` is set at once.
    workflow_timeout_ms: int | None = None
    #: When a delayed enqueue (``delay_seconds``, `DBOS.set_workflow_delay`) may start,
    #: epoch ms; None for a workflow that was never delayed (DBOS semantics).
    delay_until_epoch_ms: int | None = None
    #: True if some fork was made from it (`fork_workflow`); it stays True after the fork is
    #: deleted (DBOS semantics).
    was_forked_from: bool = False
    #: The application that started or enqueued it: its config's ``name``, or the
    #: ``application_name`` a `DBOSClient` was given (None for a client without one); a fork
    #: keeps its original's (DBOS semantics).
    application_name: str | None = None

    @classmethod
    def from_row(cls, row: WorkflowRow, codec: Codec) -> WorkflowStatus:
        """The status of a stored workflow row: inputs, output and error decoded with `codec`
        (so a decoding failure raises what the codec raises; `LenientCodec` never does), times
        in epoch milliseconds as stored. A portable row is decoded as portable JSON."""
        codec = codec_for(codec, row.serialization)
        inputs = None
        if row.inputs is not None:
            args, kwargs = codec.decode_inputs(row.inputs)
            inputs = {"args": args, "kwargs": kwargs}
        return cls(
            workflow_id=row.workflow_id,
            status=row.status,
            name=row.name,
            input=inputs,
            output=codec.decode_value(row.output),
            error=None if row.error is None else codec.decode_error(row.error),
            created_at=row.created_at_ms,
            updated_at=row.updated_at_ms,
            executor_id=row.executor_id,
            app_version=row.application_version,
            recovery_attempts=row.recovery_attempts,
            max_recovery_attempts=row.max_recovery_attempts,
            queue_name=row.queue_name,
            parent_workflow_id=row.parent_workflow_id,
            workflow_deadline_epoch_ms=row.deadline_ms,
            class_name=row.class_name,
            config_name=row.config_name,
            completed_at=row.completed_at_ms,
            forked_from=row.forked_from,
            schedule_name=row.schedule_name,
            attributes=_attributes(row.attributes),
            authenticated_user=row.authenticated_user,
            authenticated_roles=_roles(row.authenticated_roles),
            assumed_role=row.assumed_role,
            deduplication_id=row.deduplication_id,
            priority=row.priority,
            queue_partition_key=row.queue_partition_key,
            dequeued_at=row.started_at_ms if row.queue_name is not None else None,
            workflow_timeout_ms=row.timeout_ms,
            delay_until_epoch_ms=row.delay_until_ms,
            was_forked_from=row.was_forked_from,
            application_name=row.application_name,
        )


def _roles(text: str | None) -> list[str] | None:
    roles = decode_roles(text)
    return None if roles is None else list(roles)


def _attributes(text: str | None) -> dict[str, Any] | None:
    # Core only stores objects; a value written by hand that is not one reads as none,
    # rather than failing every listing that includes its workflow.
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
