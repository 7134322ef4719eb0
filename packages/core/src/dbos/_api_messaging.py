"""`DBOS`'s messages, events and streams: a base class of `DBOS` over the procedures of
`_messaging` (one implementation for sync and async callers)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from ._engine.effects import run_async, run_sync
from ._engine.messaging import (
    check_timeout,
    get_event_procedure,
    recv_procedure,
    send_procedure,
    set_event_procedure,
    stream_batch_procedure,
    write_stream_procedure,
)

if TYPE_CHECKING:
    from ._engine.engine import Engine


class MessagingAPI:
    """Messages between workflows, events and streams."""

    @classmethod
    def _launched_engine(cls) -> Engine:
        raise NotImplementedError  # DBOS provides it

    @classmethod
    def send(cls, destination_id: str, message: Any, topic: str | None = None) -> None:
        """Send `message` to the workflow `destination_id`, under `topic` (optional).

        From a workflow the send is checkpointed with the message in one transaction, so it
        happens exactly once however often the sender recovers; from anywhere else it is one
        write. Raises `DBOSNonExistentWorkflowError` if there is no such workflow.
        """
        run_sync(send_procedure(cls._launched_engine().recorder, destination_id, message, topic))

    @classmethod
    async def send_async(cls, destination_id: str, message: Any, topic: str | None = None) -> None:
        """`DBOS.send` for async code."""
        await run_async(
            send_procedure(cls._launched_engine().recorder, destination_id, message, topic)
        )

    @classmethod
    def recv(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """Inside a workflow: the oldest unreceived message sent to it under `topic`, waiting
        up to `timeout_seconds` for one (None if none came). Each message is received once;
        a recovered workflow gets the same message again."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        return run_sync(recv_procedure(cls._launched_engine().recorder, topic, timeout))

    @classmethod
    async def recv_async(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """`DBOS.recv` for async workflows (waits without holding a thread)."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        return await run_async(recv_procedure(cls._launched_engine().recorder, topic, timeout))

    @classmethod
    def set_event(cls, key: str, value: Any) -> None:
        """Inside a workflow: publish `value` under `key` for `DBOS.get_event` readers (a later
        call with the same key replaces it)."""
        run_sync(set_event_procedure(cls._launched_engine().recorder, key, value))

    @classmethod
    async def set_event_async(cls, key: str, value: Any) -> None:
        """`DBOS.set_event` for async workflows."""
        await run_async(set_event_procedure(cls._launched_engine().recorder, key, value))

    @classmethod
    def get_event(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """The value workflow `workflow_id` set under `key`, waiting up to `timeout_seconds`
        for it to be set (None if it was not). Works from anywhere; inside a workflow the
        value read is checkpointed."""
        timeout = check_timeout("DBOS.get_event", timeout_seconds)
        return run_sync(
            get_event_procedure(cls._launched_engine().recorder, workflow_id, key, timeout)
        )

    @classmethod
    async def get_event_async(cls, workflow_id: str, key: str, timeout_seconds: float = 60) -> Any:
        """`DBOS.get_event` for async code (waits without holding a thread)."""
        timeout = check_timeout("DBOS.get_event", timeout_seconds)
        engine = cls._launched_engine()
        return await run_async(get_event_procedure(engine.recorder, workflow_id, key, timeout))

    @classmethod
    def write_stream(cls, key: str, value: Any) -> None:
        """Inside a workflow (or step): append `value` to this workflow's stream `key`."""
        run_sync(write_stream_procedure(cls._launched_engine().recorder, key, value, close=False))

    @classmethod
    async def write_stream_async(cls, key: str, value: Any) -> None:
        await run_async(
            write_stream_procedure(cls._launched_engine().recorder, key, value, close=False)
        )

    @classmethod
    def close_stream(cls, key: str) -> None:
        """Inside a workflow (or step): close this workflow's stream `key`; readers stop."""
        run_sync(write_stream_procedure(cls._launched_engine().recorder, key, None, close=True))

    @classmethod
    async def close_stream_async(cls, key: str) -> None:
        await run_async(
            write_stream_procedure(cls._launched_engine().recorder, key, None, close=True)
        )

    @classmethod
    def read_stream(cls, workflow_id: str, key: str) -> Generator[Any, None, None]:
        """Yield the values of workflow `workflow_id`'s stream `key` as they are written, until
        the stream is closed or the workflow ends."""
        engine = cls._launched_engine()
        offset, done = 0, False
        while not done:
            batch = stream_batch_procedure(engine.recorder, workflow_id, key, offset)
            values, offset, done = run_sync(batch)
            yield from values

    @classmethod
    async def read_stream_async(cls, workflow_id: str, key: str) -> AsyncGenerator[Any, None]:
        """`DBOS.read_stream` for async code."""
        engine = cls._launched_engine()
        offset, done = 0, False
        while not done:
            batch = stream_batch_procedure(engine.recorder, workflow_id, key, offset)
            values, offset, done = await run_async(batch)
            for value in values:
                yield value
