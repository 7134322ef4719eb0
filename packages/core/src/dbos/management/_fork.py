"""Forking a workflow (`DBOS.fork_workflow`, `DBOSClient.fork_workflow` and ``dbos workflow
fork``): checking DBOS Transact 3.4's fork options and turning them into a `ForkRequest`.

The options: the queue the fork waits on and its partition key, its own timeout, and child
workflows its copied operations should address under new IDs (``replacement_children``).
Every check runs before anything is written, so a refused fork leaves no trace.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping

from .._base.errors import DBOSException
from .._base.ids import check_text, check_workflow_id
from .._engine.effects import Procedure
from .._engine.outcome import now_ms
from .._engine.queues import INTERNAL_QUEUE_NAME, check_partition_fit
from ..storage._protocol import SystemStorage
from ..storage._records import ForkRequest
from ._queue_names import log_undeclared_queue, queue_settings
from ._timeops import check_start_step


def check_fork_timeout(timeout_seconds: object) -> int | None:
    """`timeout_seconds` in whole milliseconds (None: no timeout).

    Raises:
        DBOSException: not a finite number > 0 (DBOS Transact 3.4 refuses 0 and negative
            timeouts too); a bool is not a number here.
    """
    if timeout_seconds is None:
        return None
    if (
        isinstance(timeout_seconds, bool)
        or not isinstance(timeout_seconds, (int, float))
        or not math.isfinite(timeout_seconds)
        or timeout_seconds <= 0
    ):
        raise DBOSException(
            f"fork timeout_seconds must be a number of seconds > 0, got {timeout_seconds!r}"
        )
    # At least 1 ms: a tiny positive timeout must not become "no timeout".
    return max(1, int(timeout_seconds * 1000))


def check_replacement_children(replacements: object) -> tuple[tuple[str, str], ...]:
    """`replacements` (a mapping of old child workflow ID to new child workflow ID) as
    (old, new) pairs.

    Raises:
        DBOSException: not a mapping, or a key or value that is not a workflow ID.
    """
    if replacements is None:
        return ()
    if not isinstance(replacements, Mapping):
        raise DBOSException(
            "fork replacement_children must be a dict of old child workflow ID -> new child "
            f"workflow ID, got {type(replacements).__name__}"
        )
    pairs: list[tuple[str, str]] = []
    for old, new in replacements.items():
        old_id = check_workflow_id(old, "a replacement_children key (an old child's ID)")
        new_id = check_workflow_id(new, f"the replacement_children value for {old_id!r}")
        pairs.append((old_id, new_id))
    return tuple(pairs)


def check_no_shard_key(
    shard_key: object, call: str = "fork_workflow", keyword: str = "shard_key"
) -> None:
    """Accept DBOS Transact 3.4's `shard_key` (or another sharding keyword, `keyword`) only
    as None: this library has one system database (no sharding). `call` names the method in
    the error.

    Raises:
        DBOSException: any other value.
    """
    if shard_key is not None:
        raise DBOSException(
            f"{call}: {keyword} is not supported (there is no sharding), got {shard_key!r}"
        )


def fork_request(
    storage: SystemStorage,
    workflow_id: str,
    start_step: int,
    *,
    forked_workflow_id: str | None,
    application_version: str | None,
    queue_name: str | None = None,
    queue_partition_key: str | None = None,
    replacement_children: Mapping[str, str] | None = None,
    timeout_seconds: float | None = None,
    shard_key: str | None = None,
) -> Procedure[ForkRequest]:
    """The `ForkRequest` for these arguments (see `DBOS.fork_workflow` for their meaning),
    after every check. Reads the stored queue `queue_name` (unless this process declares
    it) to check the partition key; logs a WARNING for a queue no process declares.

    Raises:
        DBOSException: a bad `start_step`, ID, queue name, partition key, timeout,
            replacement or a `shard_key` (the message names which).
    """
    check_no_shard_key(shard_key)
    check_start_step(start_step)
    check_workflow_id(workflow_id)
    forked = (
        str(uuid.uuid4())
        if forked_workflow_id is None
        else check_workflow_id(forked_workflow_id, "the forked workflow's ID")
    )
    for value, what in (
        (queue_name, "the fork's queue_name"),
        (queue_partition_key, "the fork's queue_partition_key"),
    ):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise DBOSException(f"{what} must be a non-empty string, got {value!r}")
        check_text(value, what)
    check_text(application_version, "the fork's application_version")
    timeout_ms = check_fork_timeout(timeout_seconds)
    replacements = check_replacement_children(replacement_children)
    queue = INTERNAL_QUEUE_NAME if queue_name is None else queue_name
    if queue == INTERNAL_QUEUE_NAME:
        if queue_partition_key is not None:
            raise DBOSException(
                "a fork's queue_partition_key needs a partitioned queue_name (the internal "
                f"queue {INTERNAL_QUEUE_NAME!r} has no partitions)"
            )
    else:
        stored = yield from queue_settings(storage, queue)
        if stored is not None:  # as an enqueue checks it
            check_partition_fit(
                queue,
                stored.partition_queue,
                queue_partition_key,
                "a fork",
                "fork onto it with a queue_partition_key",
            )
        else:
            # DBOS Transact 3.4 accepts any name; a queue no process declares would hold the
            # fork silently, so say so (ours). Declared nowhere: its key is not checked.
            log_undeclared_queue(queue, f"fork of workflow {workflow_id!r}", "the fork")
    created = now_ms()
    return ForkRequest(
        workflow_id=workflow_id,
        forked_workflow_id=forked,
        start_step=start_step,
        queue_name=queue,
        application_version=application_version,
        now_ms=created,
        queue_partition_key=queue_partition_key,
        timeout_ms=timeout_ms,
        # Counted from the fork's creation, as an enqueue with a timeout counts it.
        deadline_ms=None if timeout_ms is None else created + timeout_ms,
        replacement_children=replacements,
    )
