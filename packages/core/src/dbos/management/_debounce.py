"""Debouncing (issue 13, item 4; DBOS Transact 3.4's ``Debouncer`` and ``DebouncerClient``):
many calls with one key within a window start one workflow, with the last call's inputs.

Our design, on our own primitives (DBOS Transact 3.4 instead keeps one DELAYED workflow per
key and rewrites its inputs and delay in place): each key has at most one *debouncer
workflow* at a time, a small durable workflow that app processes run (registered at every
launch as `DEBOUNCER_WORKFLOW`) on the internal queue, with the deduplication ID
``"<workflow name>-<key>"``. The first call enqueues it with its inputs and the target's
workflow ID; a later call finds it (the queue's deduplication answers with the holder) and
sends it its inputs, then waits for the debouncer's acknowledgement, an event keyed by the
message, whose value is the target's workflow ID. The debouncer waits with ``DBOS.recv`` for
more inputs until a whole period passes without any (or the deadline comes), then enqueues
the target under that ID with the last inputs received, and finishes.

Everything the debouncer does is recorded, so it survives crashes: a recovered debouncer
replays the inputs it received and the time it read, and starts the target exactly once
under its fixed ID. A call whose message arrived too late (the debouncer had stopped
listening) sees the debouncer finish without acknowledging it and starts a new debouncer
for the key, as DBOS Transact starts a new workflow once the delayed one has started.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import replace
from typing import Any

from .._base.errors import DBOSException
from .._base.ids import check_text, check_workflow_id
from .._engine.effects import Blocking, Procedure
from .._engine.messaging import get_event_from_outside, send_from_outside
from .._engine.queues import INTERNAL_QUEUE_NAME
from .._engine.starting import RETURN_EXISTING, create_workflow
from ..storage._records import WorkflowInit, WorkflowRow
from ._management import EnqueueOptions, Management

#: The registered name of the debouncer workflow (the ``_dbos_`` prefix: internal, left out
#: of the application version).
DEBOUNCER_WORKFLOW = "_dbos_debouncer"
#: The topic its inputs arrive on.
DEBOUNCE_TOPIC = "_dbos_debounce"
#: How long a later call waits for an acknowledgement before it checks whether the debouncer
#: is still there to acknowledge it (it keeps waiting while it is).
_ACK_POLL_S = 1.0

#: The enqueue options a debounce owns or cannot honour (DBOS Transact 3.4 refuses them too).
_REFUSED_OPTIONS = {
    "deduplication_id": "the debounce key is the workflow's deduplication ID",
    "delay_seconds": "the debounce period controls when the workflow starts",
    "priority": "priority is not supported for debounced workflows",
    "duplication_policy": "a debounce owns the workflow's deduplication behaviour",
}


def check_period(period_s: object, what: str) -> float:
    """`period_s` as a float: a finite number >= 0 (seconds). Raises `DBOSException`."""
    if (
        isinstance(period_s, bool)
        or not isinstance(period_s, (int, float))
        or not math.isfinite(period_s)
        or period_s < 0
    ):
        raise DBOSException(f"{what} must be a number of seconds >= 0, got {period_s!r}")
    return float(period_s)


def target_options(options: EnqueueOptions) -> EnqueueOptions:
    """The target's enqueue options as a debouncer passes them on, checked.

    Raises:
        DBOSException: an option a debounce owns or refuses (a deduplication ID, delay,
            priority or duplication policy, or ``workflow_id_reuse_policy="reject"``), or no
            workflow or queue name.
    """
    for key, why in _REFUSED_OPTIONS.items():
        if options.get(key) is not None:
            raise DBOSException(f"Cannot debounce a workflow with {key} set: {why}")
    if options.get("workflow_id_reuse_policy") == "reject":
        raise DBOSException(
            "Cannot debounce a workflow with workflow_id_reuse_policy 'reject': a debounce "
            "owns how its workflow is started"
        )
    for key in ("workflow_name", "queue_name"):
        value = options.get(key)
        if not isinstance(value, str) or not value:
            raise DBOSException(f"debounce options need {key!r}: a non-empty string")
    return options


def debounce(
    management: Management,
    host: Any,
    target: EnqueueOptions,
    key: str,
    period_s: float,
    timeout_s: float | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Procedure[str]:
    """Debounce a start of `target` (see `target_options`) under `key`; returns the
    workflow ID the target will start under (the first call's ``target["workflow_id"]``,
    or a random UUID).

    `host` is a `MessagingHost` (the app's engine or a `DBOSClient`). `period_s`: the window
    this call opens, in seconds; `timeout_s`: at most this long after the first call of a
    window, the target starts even if calls keep coming (only the first call's counts).

    Raises:
        DBOSException: options `target_options` refuses, a blank key, a bad period or
            timeout, or a deduplication ID held by a workflow that is not a debouncer.
    """
    target = target_options(target)
    check_text(key, "the debounce key")
    period = check_period(period_s, "debounce_period_sec")
    timeout = None if timeout_s is None else check_period(timeout_s, "debounce_timeout_sec")
    target_id = target.get("workflow_id") or str(uuid.uuid4())
    check_workflow_id(target_id, "the debounced workflow's ID")
    spec = {**target, "workflow_id": target_id}
    deduplication_id = f"{target['workflow_name']}-{key}"
    inputs = {"args": list(args), "kwargs": dict(kwargs)}
    while True:
        deadline_ms = None if timeout is None else int((time.time() + timeout) * 1000)
        debouncer_id = str(uuid.uuid4())
        options: EnqueueOptions = {
            "workflow_name": DEBOUNCER_WORKFLOW,
            # Replaced below: Management refuses the internal queue to callers.
            "queue_name": "_",
            "workflow_id": debouncer_id,
            "deduplication_id": deduplication_id,
        }
        if target.get("app_version") is not None:
            options["app_version"] = target["app_version"]
        new = management._enqueued_workflow(options, (spec, period, deadline_ms, inputs), {})
        new = replace(new, queue_name=INTERNAL_QUEUE_NAME)
        init: WorkflowInit = yield from create_workflow(
            management.storage, new, (None, RETURN_EXISTING)
        )
        holder = init.row.workflow_id
        if holder == debouncer_id:
            return target_id  # a new window, opened with these inputs
        if init.row.name != DEBOUNCER_WORKFLOW:
            raise DBOSException(
                f"Cannot debounce under key {key!r}: workflow {holder!r} ({init.row.name}) "
                f"holds deduplication ID {deduplication_id!r} on the internal queue"
            )
        acknowledged = yield from _hand_over(management, host, holder, inputs, period)
        if acknowledged is not None:
            return acknowledged
        # The debouncer stopped listening before our inputs came: open a new window.


def _hand_over(
    management: Management, host: Any, holder: str, inputs: dict[str, Any], period: float
) -> Procedure[str | None]:
    """Send `inputs` to debouncer `holder` and wait for its acknowledgement (the target's
    workflow ID); None if it finished without taking them."""
    message_id = str(uuid.uuid4())
    message = {"message_id": message_id, "inputs": inputs, "period": period}
    yield from send_from_outside(host, holder, message, DEBOUNCE_TOPIC)
    while True:
        ack = yield from get_event_from_outside(host, holder, message_id, _ACK_POLL_S)
        if ack is not None:
            return str(ack)
        row: WorkflowRow | None = yield Blocking(management.storage.get_workflow, (holder,))
        if row is None or row.is_terminal:
            # It may have acknowledged just before finishing.
            ack = yield from get_event_from_outside(host, holder, message_id, 0)
            return None if ack is None else str(ack)
