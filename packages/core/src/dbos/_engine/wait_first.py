"""Waiting for the first of several workflows to finish (`DBOS.wait_first`, DBOS Transact 3.4).

Outside a workflow it is a wait on storage: one query of the workflows' statuses, re-run when
any of them may have settled (`WAKE_SETTLED`) and at least every `polling_interval_s`.
Inside a workflow the choice is a recorded operation named ``DBOS.waitFirst`` whose output is
the chosen workflow's ID, so a replay returns the same workflow even if others have finished
since; a cancel of the waiting workflow ends the wait at once (see `interrupt`)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from .._base.errors import DBOSException
from .._base.ids import check_workflow_id
from ..storage._records import TERMINAL_STATUSES, WAKE_SETTLED, StepRecord, WorkflowQuery
from .context import WorkflowContext, in_workflow_body
from .decisions import replayed_step
from .effects import Blocking, Procedure, WaitWakeup, run_async
from .interrupt import CancelCheck, own_settled_key
from .operations import Produced, recorded_operation, stop_if_cancelled
from .outcome import now_ms

if TYPE_CHECKING:
    from .messaging import MessagingHost

WAIT_FIRST_NAME = "DBOS.waitFirst"
#: The default `polling_interval_sec` of `wait_first` (DBOS Transact's default, seconds).
DEFAULT_POLLING_INTERVAL_S = 1.0


def check_wait_first(workflow_ids: Sequence[str], polling_interval_s: object) -> float:
    """Check `wait_first`'s arguments; returns the polling interval as a float.

    Raises:
        ValueError: no workflow IDs, or one given twice (as DBOS Transact 3.4 raises).
        DBOSException: a polling interval that is not a finite number > 0.
    """
    if not workflow_ids:
        raise ValueError("handles must not be empty")
    if len(set(workflow_ids)) != len(workflow_ids):
        raise ValueError("handles must not contain duplicate workflow IDs")
    for workflow_id in workflow_ids:
        check_workflow_id(workflow_id)
    if (
        isinstance(polling_interval_s, bool)
        or not isinstance(polling_interval_s, (int, float))
        or not math.isfinite(polling_interval_s)
        or polling_interval_s <= 0
    ):
        raise DBOSException(
            f"polling_interval_sec must be a finite number > 0, got {polling_interval_s!r}"
        )
    return float(polling_interval_s)


def _first_finished(host: MessagingHost, workflow_ids: tuple[str, ...]) -> str | None:
    query = WorkflowQuery(
        workflow_ids=workflow_ids,
        statuses=tuple(sorted(TERMINAL_STATUSES)),
        limit=1,
        load_inputs=False,
        load_output=False,
    )
    rows = host.storage.list_workflows(query)
    return rows[0].workflow_id if rows else None


def _await_first(
    host: MessagingHost,
    workflow_ids: tuple[str, ...],
    polling_interval_s: float,
    context: WorkflowContext | None,
) -> Procedure[str]:
    keys = [(WAKE_SETTLED, workflow_id) for workflow_id in workflow_ids]
    if context is not None:
        keys.append(own_settled_key(context))
    waiter = host.wakeups.register(*keys[0], *keys[1:])
    cancel_check = CancelCheck(context) if context is not None else None
    try:
        woken = False
        while True:
            waiter.clear()
            found: str | None = yield Blocking(_first_finished, (host, workflow_ids))
            if found is not None:
                return found
            if cancel_check is not None:
                yield from cancel_check.after(woken)
            # A finish in another process may send no wake-up here: the interval bounds how
            # late it is seen. A cancel check of our own needs the shorter of the two.
            timeout = polling_interval_s
            if cancel_check is not None:
                timeout = min(timeout, cancel_check.every_s)
            woken = yield WaitWakeup(waiter, timeout)
    finally:
        host.wakeups.unregister(waiter)


def wait_first_procedure(
    host: MessagingHost, workflow_ids: Sequence[str], polling_interval_s: float
) -> Procedure[str]:
    """The ID of the first of `workflow_ids` found in a final status (SUCCESS, ERROR,
    CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED), waiting as long as it takes. Called in a
    workflow body, the choice is recorded (see the module's text).

    Raises:
        DBOSWorkflowCancelledError: the waiting workflow was cancelled.
    """
    ids = tuple(workflow_ids)
    context = in_workflow_body()
    if context is None:
        return (yield from _await_first(host, ids, polling_interval_s, None))
    body = context
    recorder = body.recorder

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        started = now_ms()
        chosen = yield from _await_first(recorder, ids, polling_interval_s, body)
        output = recorder.codec.encode_value(chosen)
        record = StepRecord(
            body.workflow_id, function_ids[0], WAIT_FIRST_NAME, output, None, started, now_ms()
        )
        return Produced(record)

    stored = yield from recorded_operation(body, WAIT_FIRST_NAME, run)
    chosen: str = recorder.replay_result(stored)
    return chosen


ASYNCIO_WAIT_NAME = "DBOS.asyncio_wait"


async def durable_asyncio_wait(
    awaitables: Sequence[Awaitable[Any]], timeout: float | None, return_when: str
) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
    """`asyncio.wait` whose split into done and pending is recorded in a workflow body (as
    the positions of the done ones), so a replay returns the same split (DBOS Transact 3.4's
    ``DBOS.asyncio_wait``). Outside a workflow body it is `asyncio.wait`."""
    futures: list[asyncio.Future[Any]] = [asyncio.ensure_future(a) for a in awaitables]
    context = in_workflow_body()
    if context is None:
        plain: tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]
        plain = await asyncio.wait(futures, timeout=timeout, return_when=return_when)
        return plain
    # The operation's ID is taken before the awaitables run (they start at this call's first
    # suspension), so it does not depend on how they are scheduled.
    function_id = context.take_function_id()
    recorder = context.recorder
    replayed = replayed_step(context.recorded, context.workflow_id, function_id, ASYNCIO_WAIT_NAME)
    if replayed is not None:
        return await _recorded_split(futures, recorder.replay_result(replayed))
    await run_async(stop_if_cancelled(context))
    started = now_ms()
    done, pending = await asyncio.wait(futures, timeout=timeout, return_when=return_when)
    positions_done = [i for i, future in enumerate(futures) if future in done]
    record = StepRecord(
        context.workflow_id,
        function_id,
        ASYNCIO_WAIT_NAME,
        recorder.codec.encode_value(positions_done),
        None,
        started,
        now_ms(),
    )
    stored = await run_async(recorder.checkpoint(context, record))
    if stored is not record:
        # Another execution of this workflow recorded its split first: that one counts.
        return await _recorded_split(futures, recorder.replay_result(stored))
    return done, pending


async def _recorded_split(
    futures: list[asyncio.Future[Any]], positions: list[int] | None
) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
    """The split an execution recorded: the futures at `positions` done, the rest pending."""
    chosen = set(positions or [])
    done = {future for i, future in enumerate(futures) if i in chosen}
    if done:
        # A recorded-done awaitable replays its own recorded work, so this wait is short.
        await asyncio.wait(done)
    return done, {future for future in futures if future not in done}
