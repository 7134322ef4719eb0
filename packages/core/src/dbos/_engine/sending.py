"""Bulk and idempotent sends (DBOS Transact 3.4's `SendMessage`, `DBOS.send_bulk` and
`send(..., idempotency_key=...)`): procedures that sync and async callers share.

An idempotency key makes a send deliver once per destination: storage remembers the keys used
for each destination (after the message is received too, until the destination is deleted),
so a send repeated with the same key (a retry after a crash, from a script or a
`DBOSClient`) stores nothing. Inside a workflow a bulk send is one recorded operation
(``DBOS.send_bulk``) whose messages commit with its checkpoint."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._base.errors import DBOSException, DBOSNonExistentWorkflowError
from .._base.ids import check_text, check_workflow_id
from .._base.portable import codec_for
from .._base.random_ids import random_uuid
from ..storage._records import Message
from .context import current_step, current_workflow, in_workflow_body, message_trace_carrier
from .effects import Blocking, Procedure
from .fork_fanout import with_fork_copies
from .operations import Produced, Recorder, recorded_operation
from .outcome import now_ms

if TYPE_CHECKING:
    from .._base.serialization import Codec
    from .messaging import MessagingHost

SEND_BULK_NAME = "DBOS.send_bulk"


@dataclass
class SendMessage:
    """One message of `DBOS.send_bulk` / `DBOSClient.send_bulk` (DBOS Transact 3.4's shape).

    Attributes:
        destination_id: The workflow that receives it.
        message: Any value the serializer stores.
        topic: The topic `DBOS.recv` takes it from (None: the default topic).
        idempotency_key: Optional; a message whose key was sent to the same destination
            before is not delivered again (see `DBOS.send`).
        shard_key: DBOS Transact 3.4's shard of the destination; only None is accepted here
            (there is no sharding: `send_bulk` raises `DBOSException` for any other value).
    """

    destination_id: str
    message: Any
    topic: str | None = None
    idempotency_key: str | None = None
    shard_key: str | None = None


def check_idempotency_key(key: object) -> str | None:
    """`key` if it can be an idempotency key (None: none).

    Raises:
        DBOSException: not a non-empty string, or a string that cannot be stored as text.
    """
    if key is None:
        return None
    if not isinstance(key, str) or not key:
        raise DBOSException(f"an idempotency_key must be a non-empty string or None, got {key!r}")
    check_text(key, "the idempotency_key")
    return key


def check_messages(messages: object) -> list[SendMessage]:
    """`messages` as a list, checked for shape.

    Raises:
        DBOSException: not a list (or tuple) of `SendMessage`, or one idempotency key given
            twice (as DBOS Transact refuses it).
    """
    if not isinstance(messages, (list, tuple)):
        raise DBOSException(f"send_bulk takes a list of SendMessage, got {messages!r}")
    for message in messages:
        if not isinstance(message, SendMessage):
            raise DBOSException(f"send_bulk takes SendMessage items, got {message!r}")
        if message.shard_key is not None:
            raise DBOSException(
                "send_bulk: a SendMessage's shard_key is not supported (there is no "
                f"sharding), got {message.shard_key!r}"
            )
    keys = Counter(m.idempotency_key for m in messages if m.idempotency_key is not None)
    repeated = sorted(str(key) for key, count in keys.items() if count > 1)
    if repeated:
        raise DBOSException(f"send_bulk received duplicate idempotency keys: {', '.join(repeated)}")
    return list(messages)


def encode_messages(
    codec: Codec, messages: list[SendMessage], message_ids: Sequence[str]
) -> tuple[Message, ...]:
    """The stored form of checked `messages` (with these IDs), written with `codec`, each
    with the trace context active now (`message_trace_carrier`).

    Raises:
        DBOSException: a bad destination, topic, key, or a message the codec cannot store.
    """
    from .messaging import topic_key

    stored: list[Message] = []
    created = now_ms()
    carrier = message_trace_carrier()
    for message, message_id in zip(messages, message_ids, strict=True):
        destination = check_workflow_id(message.destination_id, "the destination of a message")
        text = codec.encode_value(message.message, f"the message to workflow {destination!r}")
        key = check_idempotency_key(message.idempotency_key)
        stored.append(
            Message(message_id, destination, topic_key(message.topic), text, created, key, carrier)
        )
    return tuple(stored)


def send_bulk_procedure(
    recorder: Recorder,
    messages: list[SendMessage],
    serialization: str | None = None,
    to_forks: bool = False,
) -> Procedure[None]:
    """Send `messages` in one transaction: in a workflow body as one recorded operation (sent
    exactly once however often the workflow recovers), from a step with the step's
    checkpoint, elsewhere as one write. `serialization` and `to_forks` as for
    `messaging.send_procedure` (the forks are found when the operation first runs).

    Raises:
        DBOSNonExistentWorkflowError: a destination does not exist (nothing is sent).
        DBOSException: bad input (see `check_messages`, `encode_messages`).
    """
    from .messaging import value_codec

    messages = check_messages(messages)
    frame = current_step()
    if frame is not None and current_workflow() is not None:
        context = current_workflow()
        assert context is not None
        base = f"{context.workflow_id}:{frame.function_id}:{len(frame.writes)}"
        ids = [f"{base}:{i}" for i in range(len(messages))]
        stored = encode_messages(value_codec(recorder, serialization), messages, ids)
        for destination_id in dict.fromkeys(m.destination_id for m in stored):
            row = yield Blocking(recorder.storage.get_workflow, (destination_id,))
            if row is None:
                raise DBOSNonExistentWorkflowError(destination_id)
        if to_forks:
            stored = yield Blocking(with_fork_copies, (recorder.storage, stored))
        frame.writes.extend(stored)
        return
    body = in_workflow_body()
    if body is None:
        yield from send_bulk_from_outside(recorder, messages, serialization, to_forks)
        return
    workflow = body

    def run(function_ids: list[int]) -> Procedure[Produced]:
        function_id = function_ids[0]
        # The IDs are the operation's identity: a replayed send cannot store them twice.
        ids = [f"{workflow.workflow_id}:{function_id}:{i}" for i in range(len(messages))]
        stored = encode_messages(value_codec(recorder, serialization), messages, ids)
        if to_forks:
            stored = yield Blocking(with_fork_copies, (recorder.storage, stored))
        record = recorder.plain_record(workflow, function_id, SEND_BULK_NAME)
        return Produced(record, functools.partial(recorder.storage.send_many, stored))

    yield from recorded_operation(workflow, SEND_BULK_NAME, run)


def send_bulk_from_outside(
    host: MessagingHost,
    messages: list[SendMessage],
    serialization: str | None = None,
    to_forks: bool = False,
) -> Procedure[None]:
    """`send_bulk` outside any workflow: one write (with `to_forks`, one read before it to
    find the forks), in the format `serialization` marks (None: the configured one)."""
    messages = check_messages(messages)
    ids = [random_uuid() for _ in messages]
    stored = encode_messages(codec_for(host.codec, serialization), messages, ids)
    if to_forks:
        stored = yield Blocking(with_fork_copies, (host.storage, stored))
    yield Blocking(host.storage.send_many, (stored,))
