"""Statement parameters and advisory-lock keys for `PostgresStorage`: pure helpers with no
connection of their own."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import psycopg

from dbos.storage import (
    ClaimRequest,
    Message,
    StepRecord,
    StepWrite,
    WorkflowOutcome,
    as_params,
)


@functools.lru_cache(maxsize=1024)
def queue_lock_key(schema: str, queue_name: str) -> int:
    digest = hashlib.sha256(f"dbos-queue:{schema}:{queue_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True, slots=True)
class Finish:
    """One caller's part of a group-committed finish."""

    outcome: WorkflowOutcome
    request: ClaimRequest | None


def finish_params(outcomes: list[WorkflowOutcome]) -> dict[str, Any]:
    return {
        "workflow_ids": [o.workflow_id for o in outcomes],
        "statuses": [o.status for o in outcomes],
        "outputs": [o.output for o in outcomes],
        "errors": [o.error for o in outcomes],
        "completed_at": [o.completed_at_ms for o in outcomes],
        "owners": [o.owner_instance for o in outcomes],
    }


def missing_workflow(
    step: StepRecord, writes: tuple[StepWrite, ...], violation: psycopg.errors.ForeignKeyViolation
) -> str:
    """The workflow a foreign-key violation of a step's checkpoint or writes names."""
    if (violation.diag.constraint_name or "").startswith(("notifications", "message_keys")):
        for write in writes:
            if isinstance(write, Message):
                return write.destination_id
    return step.workflow_id


@functools.lru_cache(maxsize=4096)
def stream_lock_key(schema: str, workflow_id: str, key: str) -> int:
    """The advisory lock that serializes appends to one stream (see lock_stream)."""
    name = f"dbos-stream:{schema}:{len(workflow_id)}:{workflow_id}:{key}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1


def write_params(write: StepWrite, function_id: int | None) -> dict[str, Any]:
    """A write's parameters, with the operation that made it (None: none)."""
    return {**as_params(write), "function_id": function_id}


def claims_without_lock(members: list[tuple[int, ClaimRequest]]) -> bool:
    queue = members[0][1].queue
    return not queue.has_global_limits and not queue.partitioned
