"""Messages, events and streams: procedures (see `_effects`) that sync and async callers share.

Inside a workflow each operation is checkpointed at its own function ID, so a recovered
workflow replays the same results: `send`, `set_event` and stream writes commit their data and
their checkpoint in one transaction (never done twice); `recv` consumes a message and records it
in one transaction (a recovered receiver gets the message it got before); `get_event` records
what it read. A wait with a timeout also records its wake-up time as a ``DBOS.sleep`` at the
next function ID, before it waits (as DBOS Transact 3.4 does: step lists match), so a recovered
waiter waits only for what is left.

Waiting holds no connection: a `Waiter` is woken in-process when storage reports a write
(`SystemStorage.on_wakeup`), and polls storage slowly as a fallback.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._base.errors import (
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSStepConflictError,
)
from .._base.ids import check_text, check_workflow_id
from .._base.portable import codec_for
from .._base.random_ids import random_uuid
from ..storage._records import (
    WAKE_EVENT,
    WAKE_MESSAGE,
    EventRecord,
    Message,
    RecvRequest,
    StepAck,
    StepRecord,
    StreamWrite,
)
from .context import (
    StepFrame,
    WorkflowContext,
    current_step,
    current_workflow,
    in_workflow_body,
    message_trace_carrier,
)
from .decisions import replayed_step
from .effects import Blocking, Procedure, WaitWakeup
from .fork_fanout import with_fork_copies
from .interrupt import CancelCheck, own_settled_key
from .operations import Produced, Recorder, recorded_operation, stop_if_cancelled
from .outcome import now_ms
from .sending import check_idempotency_key
from .step import SLEEP_NAME

if TYPE_CHECKING:
    from .._base.serialization import Codec
    from ..storage._protocol import SystemStorage
    from ..storage._waiting import Wakeups

T = TypeVar("T")


class MessagingHost(Protocol):
    """What messaging outside a workflow needs: the engine of an app, or a `DBOSClient`."""

    @property
    def storage(self) -> SystemStorage: ...

    @property
    def codec(self) -> Codec: ...

    @property
    def wakeups(self) -> Wakeups: ...


SEND_NAME = "DBOS.send"
RECV_NAME = "DBOS.recv"
SET_EVENT_NAME = "DBOS.setEvent"
GET_EVENT_NAME = "DBOS.getEvent"
WRITE_STREAM_NAME = "DBOS.writeStream"
CLOSE_STREAM_NAME = "DBOS.closeStream"
#: The stored topic of messages sent without one.
DEFAULT_TOPIC = "__dbos_default_topic__"
#: Fallback polling while waiting: the first re-check (the longest gap between two is the
#: host's `Wakeups.max_poll_s`).
POLL_FIRST_S = 0.05


def topic_key(topic: str | None) -> str:
    if topic is None:
        return DEFAULT_TOPIC
    if not isinstance(topic, str):
        raise DBOSException(f"a message topic must be a string or None, got {topic!r}")
    check_text(topic, "the message topic")
    return topic


def check_timeout(name: str, seconds: object) -> float:
    """`seconds` as a float, for a `timeout_seconds` argument of the call `name`.

    Raises:
        DBOSException: `seconds` is not a finite number >= 0 (a bool is refused too).
    """
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise DBOSException(f"{name} timeout_seconds must be a finite number >= 0, got {seconds!r}")
    return float(seconds)


def _require_workflow(operation: str, allow_step: bool) -> WorkflowContext:
    context = current_workflow()
    if context is None or (current_step() is not None and not allow_step):
        where = "a workflow or a step" if allow_step else "a workflow"
        raise DBOSException(f"{operation} can only be called from {where}")
    return context


def _durable_deadline(
    context: WorkflowContext, function_id: int, timeout_s: float, started_at_ms: int
) -> tuple[float, Callable[[], Procedure[None]] | None]:
    """The wake-up time of a wait whose timeout is recorded at operation `function_id`: the
    recorded one after a recovery, else now + `timeout_s` together with the procedure that
    records it (run before the wait starts)."""
    recorder = context.recorder
    replayed = replayed_step(context.recorded, context.workflow_id, function_id, SLEEP_NAME)
    if replayed is not None:
        return float(recorder.codec.decode_value(replayed.output)), None
    wake_at = time.time() + timeout_s

    def persist() -> Procedure[None]:
        record = StepRecord(
            workflow_id=context.workflow_id,
            function_id=function_id,
            function_name=SLEEP_NAME,
            output=recorder.codec.encode_value(wake_at),
            error=None,
            started_at_ms=started_at_ms,
            completed_at_ms=now_ms(),
        )
        yield from recorder.checkpoint(context, record)

    return wake_at, persist


def wait_for(
    host: MessagingHost,
    kind: str,
    workflow_id: str,
    attempt: Callable[[], T | None],
    wake_at: float | None,
    context: WorkflowContext | None = None,
    max_poll_s: float | None = None,
) -> Procedure[T | None]:
    """Call `attempt` until it returns a value, re-checking whenever storage reports a write
    of `kind` for `workflow_id` (and now and then in case a report was missed). Returns None
    once `wake_at` (epoch seconds; None: never) or the workflow's own deadline passes.
    `max_poll_s` bounds the gap between two re-checks (default: the host's
    `Wakeups.max_poll_s`)."""
    # Inside a workflow, its own cancel wakes the wait too, which then stops (`interrupt`).
    also = (own_settled_key(context),) if context is not None else ()
    waiter = host.wakeups.register(kind, workflow_id, *also)
    cancel_check = CancelCheck(context) if context is not None else None
    longest = host.wakeups.max_poll_s if max_poll_s is None else max_poll_s
    try:
        interval = min(POLL_FIRST_S, longest)
        woken = False
        while True:
            waiter.clear()
            result: T | None = yield Blocking(attempt)
            if result is not None:
                return result
            if cancel_check is not None:
                yield from cancel_check.after(woken)
            limit = wake_at
            if context is not None and context.deadline_ms is not None:
                workflow_limit = context.deadline_ms / 1000
                limit = workflow_limit if limit is None else min(limit, workflow_limit)
            now = time.time()
            if limit is not None and now >= limit:
                return None
            timeout = interval if limit is None else min(interval, limit - now)
            woken = yield WaitWakeup(waiter, timeout)
            interval = min(interval * 2, longest)
    finally:
        host.wakeups.unregister(waiter)


# --- messages ----------------------------------------------------------------------------------


def value_codec(host: MessagingHost, serialization: str | None) -> Codec:
    """The codec a message, event or stream value is written with: `serialization`'s if
    given, else the running workflow's own format (a portable workflow's values are portable,
    as in DBOS 3.4), else the configured one."""
    if serialization is None:
        context = current_workflow()
        serialization = context.serialization if context is not None else None
    return codec_for(host.codec, serialization)


def send_procedure(
    recorder: Recorder,
    destination_id: str,
    message: Any,
    topic: str | None,
    serialization: str | None = None,
    idempotency_key: str | None = None,
    to_forks: bool = False,
) -> Procedure[None]:
    """Send a message; inside a workflow, exactly once however often the workflow recovers.
    From a step, the message is sent with the step's checkpoint, if the step succeeds.
    `serialization` is the row marker of the format to write it in (`value_codec`). With an
    `idempotency_key`, a message is delivered at most once per destination and key, wherever
    it is sent from (see `sending`). With `to_forks`, a copy also goes to every workflow
    forked from the destination, recursively (`fork_fanout`); inside a workflow the forks
    are found when the operation first runs and a replay sends nothing again."""
    key = check_idempotency_key(idempotency_key)
    frame = current_step()
    if frame is not None and current_workflow() is not None:
        yield from _send_from_step(
            recorder, frame, destination_id, message, topic, serialization, key, to_forks
        )
        return
    context = in_workflow_body()
    if context is None:
        yield from send_from_outside(
            recorder, destination_id, message, topic, serialization, key, to_forks
        )
        return
    check_workflow_id(destination_id, "the destination of DBOS.send")
    text = value_codec(recorder, serialization).encode_value(
        message, f"the message to workflow {destination_id!r}"
    )
    topic_name = topic_key(topic)

    def run(function_ids: list[int]) -> Procedure[Produced]:
        function_id = function_ids[0]
        # The message ID is the operation's identity: a replayed send cannot store it twice.
        message_id = f"{context.workflow_id}:{function_id}"
        # Taken here, where this operation's own span (if traced) is the active one.
        carrier = message_trace_carrier()
        sent = (Message(message_id, destination_id, topic_name, text, now_ms(), key, carrier),)
        if to_forks:
            sent = yield Blocking(with_fork_copies, (recorder.storage, sent))
        record = recorder.plain_record(context, function_id, SEND_NAME)
        return Produced(record, functools.partial(_send_or_record_failure, recorder, sent))

    stored = yield from recorded_operation(context, SEND_NAME, run)
    recorder.replay_result(stored)  # a recorded failure is raised again


def _send_or_record_failure(
    recorder: Recorder, sent: tuple[Message, ...], record: StepRecord
) -> StepAck:
    """Send `sent` (a message and its copies for forks) with the checkpoint `record`; if the
    destination does not exist, record that error as the operation's outcome instead (as DBOS
    Transact 3.4 does), then raise it, so a replay or a fork raises it again rather than
    sending to a workflow created since."""
    try:
        if len(sent) == 1:
            return recorder.storage.send(sent[0], record)
        return recorder.storage.send_many(sent, record)
    except DBOSNonExistentWorkflowError as exc:
        error = recorder.codec.encode_error(exc)
        recorder.storage.record_step(replace(record, output=None, error=error))
        raise


def _send_from_step(
    recorder: Recorder,
    frame: StepFrame,
    destination_id: str,
    message: Any,
    topic: str | None,
    serialization: str | None,
    key: str | None,
    to_forks: bool = False,
) -> Procedure[None]:
    """Queue a message (and with `to_forks` its copies for the destination's forks, found
    now) on the running step's attempt. The destination is checked now, so a wrong ID fails
    in the step body, where the caller can handle it."""
    context = current_workflow()
    assert context is not None
    text = value_codec(recorder, serialization).encode_value(message)
    destination = yield Blocking(recorder.storage.get_workflow, (destination_id,))
    if destination is None:
        raise DBOSNonExistentWorkflowError(destination_id)
    # Unique per step and position; a retried attempt reuses it, but only one commits.
    message_id = f"{context.workflow_id}:{frame.function_id}:{len(frame.writes)}"
    carrier = message_trace_carrier()
    sent = (Message(message_id, destination_id, topic_key(topic), text, now_ms(), key, carrier),)
    if to_forks:
        sent = yield Blocking(with_fork_copies, (recorder.storage, sent))
    frame.writes.extend(sent)


def send_from_outside(
    host: MessagingHost,
    destination_id: str,
    message: Any,
    topic: str | None,
    serialization: str | None = None,
    idempotency_key: str | None = None,
    to_forks: bool = False,
) -> Procedure[None]:
    """Send a message from outside any workflow: one write, in the format `serialization`
    marks (None: the configured one); with `to_forks`, also to the destination's forks (one
    read to find them first)."""
    check_workflow_id(destination_id, "the destination of a message")
    key = check_idempotency_key(idempotency_key)
    text = codec_for(host.codec, serialization).encode_value(
        message, f"the message to workflow {destination_id!r}"
    )
    carrier = message_trace_carrier()
    sent = Message(random_uuid(), destination_id, topic_key(topic), text, now_ms(), key, carrier)
    if not to_forks:
        yield Blocking(host.storage.send, (sent,))
        return
    copies = yield Blocking(with_fork_copies, (host.storage, (sent,)))
    yield Blocking(host.storage.send_many, (copies,))


def recv_procedure(recorder: Recorder, topic: str | None, timeout_s: float) -> Procedure[Any]:
    """Receive the oldest message of `topic` sent to this workflow, waiting up to `timeout_s`
    (None if none came). The message is consumed and checkpointed in one transaction."""
    context = _require_workflow("DBOS.recv", allow_step=False)
    key = topic_key(topic)
    workflow_id = context.workflow_id
    storage = recorder.storage

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        function_id, timeout_id = function_ids
        started = now_ms()

        def attempt() -> StepRecord | None:
            request = RecvRequest(workflow_id, function_id, RECV_NAME, key, now_ms(), started)
            return storage.recv(request)

        wake_at, persist = _durable_deadline(context, timeout_id, timeout_s, started)
        if persist is not None:
            yield from persist()
        try:
            record = yield from wait_for(
                recorder, WAKE_MESSAGE, workflow_id, attempt, wake_at, context
            )
        except DBOSStepConflictError:
            # Another execution of this workflow received (and recorded) it first.
            record = yield from recorder.reload_step(context, function_id)
        if record is not None:
            return Produced(record, durable=True)
        yield from stop_if_cancelled(context)
        timed_out = recorder.plain_record(context, function_id, RECV_NAME)
        return Produced(replace(timed_out, started_at_ms=started))

    record = yield from recorded_operation(context, RECV_NAME, run, ids=2)
    return recorder.replay_result(record)


# --- events ------------------------------------------------------------------------------------


def set_event_procedure(
    recorder: Recorder, key: str, value: Any, serialization: str | None = None
) -> Procedure[None]:
    """Set this workflow's event `key`; checkpointed in the same transaction. From a step, it
    is set with the step's checkpoint, if the step succeeds. `serialization`: see
    `value_codec`."""
    check_text(key, "the event key")
    context = _require_workflow("DBOS.set_event", allow_step=True)
    text = value_codec(recorder, serialization).encode_value(value, f"the value of event {key!r}")
    event = EventRecord(context.workflow_id, key, text, now_ms())
    frame = current_step()
    if frame is not None:
        frame.writes.append(event)  # set with the step's checkpoint
        return

    def run(function_ids: list[int]) -> Produced:
        record = recorder.plain_record(context, function_ids[0], SET_EVENT_NAME)
        return Produced(record, functools.partial(recorder.storage.set_event, event))

    yield from recorded_operation(context, SET_EVENT_NAME, run)


def get_event_procedure(
    recorder: Recorder, workflow_id: str, key: str, timeout_s: float
) -> Procedure[Any]:
    """The value of another workflow's event, waiting up to `timeout_s` for it to be set (None
    if it is not). Inside a workflow, what was read is checkpointed."""
    check_workflow_id(workflow_id)
    check_text(key, "the event key")
    storage = recorder.storage

    def attempt() -> str | None:
        return storage.get_event(workflow_id, key)

    context = in_workflow_body()
    if context is None:
        return (yield from get_event_from_outside(recorder, workflow_id, key, timeout_s))
    body = context

    def run(function_ids: list[int]) -> Generator[Any, Any, Produced]:
        function_id, timeout_id = function_ids
        started = now_ms()
        wake_at, persist = _durable_deadline(body, timeout_id, timeout_s, started)
        if persist is not None:
            yield from persist()
        text = yield from wait_for(recorder, WAKE_EVENT, workflow_id, attempt, wake_at, body)
        if text is None:
            yield from stop_if_cancelled(body)
            text = recorder.codec.encode_value(None)
        # Started when the wait did: the record's duration is how long the read waited.
        return Produced(
            StepRecord(body.workflow_id, function_id, GET_EVENT_NAME, text, None, started, now_ms())
        )

    stored = yield from recorded_operation(context, GET_EVENT_NAME, run, ids=2)
    return recorder.replay_result(stored)


def get_event_from_outside(
    host: MessagingHost, workflow_id: str, key: str, timeout_s: float
) -> Procedure[Any]:
    """`get_event` outside any workflow: wait (holding no connection) for the value."""
    check_workflow_id(workflow_id)
    check_text(key, "the event key")
    storage = host.storage

    def attempt() -> str | None:
        return storage.get_event(workflow_id, key)

    text = yield from wait_for(host, WAKE_EVENT, workflow_id, attempt, time.time() + timeout_s)
    return None if text is None else host.codec.decode_value(text)


# --- streams -----------------------------------------------------------------------------------


def write_stream_procedure(
    recorder: Recorder, key: str, value: Any, close: bool, serialization: str | None = None
) -> Procedure[None]:
    """Append `value` to this workflow's stream `key` (or close it), checkpointed in the same
    transaction. From a step, the write waits for the step's checkpoint and commits with it:
    only the attempt that succeeds leaves its writes, exactly once."""
    operation = "DBOS.close_stream" if close else "DBOS.write_stream"
    check_text(key, "the stream key")
    context = _require_workflow(operation, allow_step=True)
    text = (
        None
        if close
        else value_codec(recorder, serialization).encode_value(
            value, f"the value written to stream {key!r}"
        )
    )
    write = StreamWrite(context.workflow_id, key, text, now_ms())
    frame = current_step()
    if frame is not None:
        frame.writes.append(write)  # appended with the step's checkpoint
        return
    name = CLOSE_STREAM_NAME if close else WRITE_STREAM_NAME

    def run(function_ids: list[int]) -> Produced:
        record = recorder.plain_record(context, function_ids[0], name)
        return Produced(record, functools.partial(recorder.storage.write_stream, write))

    yield from recorded_operation(context, name, run)
