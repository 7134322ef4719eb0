"""Moving workflows in time (issue 13, item 5; DBOS Transact 3.4's ``rewind_workflow`` and
``set_workflow_delay``): run a finished workflow again in place from an earlier step, and
change when a delayed queued workflow may start.

Both are procedures over a `SystemStorage`, shared by `DBOS` and `DBOSClient` through
`Facade`. The storage does each in one transaction that checks the workflow's status while
holding its row, so a rewind never overlaps an execution that a claim, resume or recovery
started (see `SystemStorage.rewind_workflow`).
"""

from __future__ import annotations

import math
import time

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.ids import check_text, check_workflow_id
from .._datasource.registry import drop_for_rewind
from .._engine.effects import Blocking, Procedure
from .._engine.outcome import now_ms
from .._engine.queues import INTERNAL_QUEUE_NAME
from ..storage._protocol import SystemStorage
from ..storage._records import TERMINAL_STATUSES, RewindRequest

#: What `start_step` takes, for errors and help texts: step IDs count from 1 (DBOS
#: Transact 3.4), and 0 stays valid for a workflow an earlier release numbered from 0
#: (docs/guides/upgrading.md, "Operation numbering"), whose first step is 0.
START_STEP_RULE = (
    "a step ID as list_workflow_steps shows it, counted from 1 (0 only for the first step of "
    "a workflow numbered from 0 by an earlier release)"
)


def check_start_step(start_step: object) -> int:
    """`start_step` (a fork's or a rewind's first step to run again) if it is an int >= 0.

    Raises:
        DBOSException: another value; the message says what a step ID is.
    """
    if type(start_step) is not int or start_step < 0:
        raise DBOSException(f"start_step must be {START_STEP_RULE}; got {start_step!r}")
    return start_step


def rewind(
    storage: SystemStorage,
    workflow_id: str,
    start_step: int | None,
    *,
    application_version: str | None,
    queue_name: str | None,
    queue_partition_key: str | None,
) -> Procedure[str]:
    """Rewind finished workflow `workflow_id` to operation `start_step` (None: its first
    operation, under either numbering) and enqueue it again under its own ID; returns the
    queue it waits on.

    Raises:
        DBOSNonExistentWorkflowError: no workflow has this ID.
        DBOSException: the workflow is ENQUEUED or PENDING (DBOS Transact 3.4: only a
            workflow in a terminal state can be rewound, so cancel it first), or it is
            CANCELLED but its execution has not stopped yet (ours); `start_step`
            is not a step ID (`check_start_step`); a blank queue name, partition key or
            version.
    """
    check_workflow_id(workflow_id)
    # None is 0: before the first operation whether the workflow counts from 1 or (stored
    # by an earlier release) from 0.
    step = 0 if start_step is None else check_start_step(start_step)
    for value, what in (
        (queue_name, "the queue name"),
        (queue_partition_key, "the queue partition key"),
        (application_version, "the application version"),
    ):
        if value is not None:
            check_text(value, what)
    queue = INTERNAL_QUEUE_NAME if queue_name is None else queue_name
    request = RewindRequest(
        workflow_id=workflow_id,
        start_step=step,
        queue_name=queue,
        queue_partition_key=queue_partition_key,
        application_version=application_version,
        now_ms=now_ms(),
    )
    # The datasources' checkpoint rows of the steps that run again go first (DBOS Transact
    # 3.4): a row left there would answer the new run with the old result. If the rewind
    # then fails, it can be tried again; those transactions had run to completion anyway.
    yield Blocking(drop_for_rewind, (storage, workflow_id, step))
    found: tuple[str, bool] | None = yield Blocking(storage.rewind_workflow, (request,))
    if found is None:
        raise DBOSNonExistentWorkflowError(workflow_id)
    status, rewound = found
    if status not in TERMINAL_STATUSES:
        raise DBOSException(
            f"Cannot rewind workflow {workflow_id!r} ({status}): only a workflow in a "
            "terminal state can be rewound, so cancel it first"
        )
    if not rewound:
        raise DBOSException(
            f"Cannot rewind workflow {workflow_id!r} yet: it was cancelled, but its execution "
            "has not reached a step boundary and stopped; try again when it has"
        )
    return queue


def delay_until_ms(delay_seconds: float | None, delay_until_epoch_ms: int | None) -> int:
    """The epoch-ms time a `set_workflow_delay` asks for: `delay_seconds` from now, or
    `delay_until_epoch_ms`; exactly one must be given.

    Raises:
        DBOSException: both or neither given; a negative, non-finite or non-number value.
    """
    if (delay_seconds is None) == (delay_until_epoch_ms is None):
        raise DBOSException("Specify exactly one of delay_seconds or delay_until_epoch_ms")
    if delay_seconds is not None:
        if (
            isinstance(delay_seconds, bool)
            or not isinstance(delay_seconds, (int, float))
            or not math.isfinite(delay_seconds)
            or delay_seconds < 0
        ):
            raise DBOSException(f"delay_seconds must be a number >= 0, got {delay_seconds!r}")
        return int((time.time() + delay_seconds) * 1000)
    if type(delay_until_epoch_ms) is not int or delay_until_epoch_ms < 0:
        raise DBOSException(
            f"delay_until_epoch_ms must be an integer >= 0, got {delay_until_epoch_ms!r}"
        )
    return delay_until_epoch_ms


def set_delay(
    storage: SystemStorage,
    workflow_id: str,
    delay_seconds: float | None,
    delay_until_epoch_ms: int | None,
) -> Procedure[bool]:
    """Make delayed workflow `workflow_id` wait until the time `delay_until_ms` resolves;
    returns whether it was delayed (and so changed). See `Facade.set_workflow_delay`."""
    check_workflow_id(workflow_id)
    until = delay_until_ms(delay_seconds, delay_until_epoch_ms)
    changed: bool = yield Blocking(storage.set_workflow_delay, (workflow_id, until, now_ms()))
    return changed
