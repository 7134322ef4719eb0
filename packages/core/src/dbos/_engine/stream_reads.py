"""Reading streams and all events (DBOS Transact 3.4): `read_stream` from an offset, one value
at a time, `read_stream_offset`, and `get_all_events`; procedures that sync and async callers
share.

In a workflow body each value a stream read delivers is a recorded operation (named
``DBOS.readStream``, or ``DBOS.readStreamOffset``), and so is the end of the stream (a record
with no output) and a timeout (a record with the error): a recovered reader gets the values it
got before, and stops or fails where it did, even if the stream has grown since. Reads from a
step, outside a workflow or from a `DBOSClient` are not recorded. `get_all_events` in a
workflow body records the events it read (``DBOS.get_events``)."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .._base.errors import DBOSNonExistentWorkflowError, DBOSStreamTimeoutError
from .._base.ids import check_text, check_workflow_id
from ..storage._records import TERMINAL_STATUSES, WAKE_STREAM, StepRecord, StreamEntry, StreamRead
from .context import WorkflowContext, in_workflow_body
from .effects import Blocking, Procedure
from .operations import Produced, Recorder, recorded_operation, stop_if_cancelled
from .outcome import now_ms

if TYPE_CHECKING:
    from collections.abc import Generator

    from .messaging import MessagingHost

READ_STREAM_NAME = "DBOS.readStream"
READ_STREAM_OFFSET_NAME = "DBOS.readStreamOffset"
GET_EVENTS_NAME = "DBOS.get_events"
#: The smallest `polling_interval_sec` a stream read takes (DBOS Transact's bound).
MIN_POLL_S = 0.001


def _check_number(name: str, value: object, minimum: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
    ):
        raise ValueError(f"{name} must be a finite number of at least {minimum}, got {value!r}")
    return float(value)


class StreamCursor:
    """Where one reader of stream `key` of `workflow_id` is: the next offset, and entries read
    ahead by the last query (written entries never change, so they are delivered from here).

    Raises (on construction) ValueError for a negative or non-int `offset`, a
    `polling_interval_sec` under 0.001 s, or a negative `timeout_seconds`, as DBOS Transact
    does; `DBOSException` for a bad workflow ID or key."""

    def __init__(
        self,
        workflow_id: str,
        key: str,
        offset: object,
        polling_interval_sec: object,
        timeout_seconds: object,
    ) -> None:
        self.workflow_id = check_workflow_id(workflow_id)
        check_text(key, "the stream key")
        self.key = key
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be an int >= 0, got {offset!r}")
        self.offset = offset
        self.poll_s = (
            None
            if polling_interval_sec is None
            else _check_number("polling_interval_sec", polling_interval_sec, MIN_POLL_S)
        )
        self.timeout_s = (
            None
            if timeout_seconds is None
            else _check_number("timeout_seconds", timeout_seconds, 0.0)
        )
        self.ahead: deque[StreamEntry] = deque()


def _live_read(
    host: MessagingHost, cursor: StreamCursor, context: WorkflowContext | None
) -> Procedure[StreamEntry | None]:
    """The entry at the cursor's offset (its `value` None: the close marker), or None if the
    writer finished with no entry there; waits for it up to the cursor's timeout.

    Raises:
        DBOSNonExistentWorkflowError: no workflow `cursor.workflow_id`.
        DBOSStreamTimeoutError: no entry came within the timeout.
        DBOSWorkflowCancelledError: `context`'s workflow was cancelled meanwhile.
    """
    from .messaging import wait_for

    if cursor.ahead:
        return cursor.ahead.popleft()
    storage = host.storage
    workflow_id, key, offset = cursor.workflow_id, cursor.key, cursor.offset

    def attempt() -> StreamRead | None:
        read = storage.read_stream(workflow_id, key, offset)
        if read.workflow_status is None:
            raise DBOSNonExistentWorkflowError(workflow_id)
        return read if read.entries or read.workflow_status in TERMINAL_STATUSES else None

    wake_at = None if cursor.timeout_s is None else time.time() + cursor.timeout_s
    read = yield from wait_for(
        host, WAKE_STREAM, workflow_id, attempt, wake_at, context, max_poll_s=cursor.poll_s
    )
    if read is None:
        if context is not None:
            yield from stop_if_cancelled(context)  # the workflow's own deadline ended it
        raise DBOSStreamTimeoutError(workflow_id, key, cursor.timeout_s)
    entries = [entry for entry in read.entries if entry.offset >= offset]
    if not entries:
        return None  # the writer finished (in the same snapshot): nothing more will come
    for later in entries[1:]:
        cursor.ahead.append(later)
        if later.value is None:
            break  # the close marker ends what can be read ahead
    return entries[0]


def next_stream_value(
    host: MessagingHost, recorder: Recorder | None, cursor: StreamCursor, name: str
) -> Procedure[tuple[bool, Any]]:
    """The next value of the cursor's stream as ``(True, value)``, or ``(False, None)`` once
    the stream is over (closed, or its writer finished). With `recorder` (an app's), called
    in a workflow body, the outcome is the recorded operation `name` (see the module's text).

    Raises:
        DBOSNonExistentWorkflowError: no such workflow (not recorded).
        DBOSStreamTimeoutError: no value came within the cursor's timeout.
    """
    context = in_workflow_body() if recorder is not None else None
    if context is None or recorder is None:
        entry = yield from _live_read(host, cursor, None)
        if entry is None or entry.value is None:
            return False, None
        cursor.offset += 1
        return True, host.codec.decode_value(entry.value)
    body, codec = context, recorder.codec

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        started = now_ms()
        try:
            entry = yield from _live_read(recorder, cursor, body)
        except DBOSStreamTimeoutError as exc:
            error = codec.encode_error(exc, "a stream read")
            record = StepRecord(
                body.workflow_id, function_ids[0], name, None, error, started, now_ms()
            )
            return Produced(record)
        # No output (SQL NULL) records the end: a value, even None, is stored as text.
        output = None if entry is None else entry.value
        record = StepRecord(
            body.workflow_id, function_ids[0], name, output, None, started, now_ms()
        )
        return Produced(record)

    stored = yield from recorded_operation(body, name, run)
    if stored.error is not None:
        raise codec.decode_error(stored.error)
    if stored.output is None:
        return False, None
    cursor.offset += 1
    return True, codec.decode_value(stored.output)


def read_stream_offset_procedure(
    host: MessagingHost, recorder: Recorder | None, cursor: StreamCursor
) -> Procedure[Any]:
    """The value at the cursor's offset (see `next_stream_value`).

    Raises:
        DBOSStreamTimeoutError: no value came within the timeout, or the stream ended before
            the offset (then its `timeout_seconds` is None), as in DBOS Transact.
    """
    found, value = yield from next_stream_value(host, recorder, cursor, READ_STREAM_OFFSET_NAME)
    if not found:
        raise DBOSStreamTimeoutError(cursor.workflow_id, cursor.key)
    return value


def get_all_events_procedure(recorder: Recorder, workflow_id: str) -> Procedure[dict[str, Any]]:
    """Every event `workflow_id` has set, key -> value (empty if none, or no such workflow);
    in a workflow body what was read is recorded (``DBOS.get_events``)."""
    check_workflow_id(workflow_id)
    storage, codec = recorder.storage, recorder.codec

    def read() -> dict[str, Any]:
        texts = storage.get_all_events(workflow_id)
        return {key: codec.decode_value(text) for key, text in texts.items()}

    context = in_workflow_body()
    if context is None:
        events: dict[str, Any] = yield Blocking(read)
        return events
    body = context

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        started = now_ms()
        found: dict[str, Any] = yield Blocking(read)
        output = codec.encode_value(found, f"the events of workflow {workflow_id!r}")
        return Produced(
            StepRecord(
                body.workflow_id, function_ids[0], GET_EVENTS_NAME, output, None, started, now_ms()
            )
        )

    stored = yield from recorded_operation(body, GET_EVENTS_NAME, run)
    result: dict[str, Any] = recorder.replay_result(stored)
    return result
