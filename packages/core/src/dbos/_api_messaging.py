"""`DBOS`'s messaging calls that only a workflow makes (receive, set an event, write and close
a stream) and `get_all_events` (which `DBOSClient` does not have in DBOS Transact 3.4): a base
class of `DBOS` over the procedures of `_messaging`. Sending, reading events
and reading streams are `Facade`'s (`_facade`), shared with `DBOSClient`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base.portable import WorkflowSerializationFormat, serialization_for
from ._engine.blocking_calls import refuse_on_running_loop
from ._engine.effects import run_async, run_sync
from ._engine.messaging import (
    check_timeout,
    recv_procedure,
    set_event_procedure,
    write_stream_procedure,
)
from ._engine.stream_reads import get_all_events_procedure
from .management._fork import check_no_shard_key

if TYPE_CHECKING:
    from ._engine.engine import Engine


class MessagingAPI:
    """Receiving messages, setting events and writing streams, inside a workflow."""

    @classmethod
    def _launched_engine(cls) -> Engine:
        raise NotImplementedError  # DBOS provides it

    @classmethod
    def recv(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """Inside a workflow: the oldest unreceived message sent to it under `topic`, waiting
        up to `timeout_seconds` for one (None if none came). Each message is received once;
        a recovered workflow gets the same message again."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        refuse_on_running_loop("recv")
        return run_sync(recv_procedure(cls._launched_engine().recorder, topic, timeout))

    @classmethod
    async def recv_async(cls, topic: str | None = None, timeout_seconds: float = 60) -> Any:
        """`DBOS.recv` for async workflows (waits without holding a thread)."""
        timeout = check_timeout("DBOS.recv", timeout_seconds)
        return await run_async(recv_procedure(cls._launched_engine().recorder, topic, timeout))

    @classmethod
    def set_event(
        cls,
        key: str,
        value: Any,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
    ) -> None:
        """Inside a workflow: publish `value` under `key` for `DBOS.get_event` readers (a later
        call with the same key replaces it). `serialization_type` PORTABLE stores it as
        portable JSON (DBOS 3.4); the default is the workflow's own format."""
        recorder = cls._launched_engine().recorder
        fmt = serialization_for(serialization_type)
        run_sync(set_event_procedure(recorder, key, value, fmt))

    @classmethod
    async def set_event_async(
        cls,
        key: str,
        value: Any,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
    ) -> None:
        """`DBOS.set_event` for async workflows."""
        recorder = cls._launched_engine().recorder
        fmt = serialization_for(serialization_type)
        await run_async(set_event_procedure(recorder, key, value, fmt))

    @classmethod
    def get_all_events(cls, workflow_id: str, *, shard_key: str | None = None) -> dict[str, Any]:
        """Every event workflow `workflow_id` has set now, as ``{key: latest value}`` (empty
        if it set none, or if there is no such workflow), without waiting (DBOS Transact
        3.4). In a workflow body what was read is a recorded operation (``DBOS.get_events``),
        so a recovered workflow gets the same dict.

        Raises:
            DBOSException: a `shard_key` (DBOS Transact 3.4's sharding; only None).
        """
        check_no_shard_key(shard_key, "DBOS.get_all_events")
        return run_sync(get_all_events_procedure(cls._launched_engine().recorder, workflow_id))

    @classmethod
    async def get_all_events_async(
        cls, workflow_id: str, *, shard_key: str | None = None
    ) -> dict[str, Any]:
        """`DBOS.get_all_events` for async code."""
        check_no_shard_key(shard_key, "DBOS.get_all_events_async")
        recorder = cls._launched_engine().recorder
        return await run_async(get_all_events_procedure(recorder, workflow_id))

    @classmethod
    def write_stream(
        cls,
        key: str,
        value: Any,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
    ) -> None:
        """Inside a workflow (or step): append `value` to this workflow's stream `key`.
        `serialization_type` as for `set_event`."""
        recorder = cls._launched_engine().recorder
        fmt = serialization_for(serialization_type)
        run_sync(write_stream_procedure(recorder, key, value, False, fmt))

    @classmethod
    async def write_stream_async(
        cls,
        key: str,
        value: Any,
        *,
        serialization_type: WorkflowSerializationFormat | None = None,
    ) -> None:
        recorder = cls._launched_engine().recorder
        fmt = serialization_for(serialization_type)
        await run_async(write_stream_procedure(recorder, key, value, False, fmt))

    @classmethod
    def close_stream(cls, key: str) -> None:
        """Inside a workflow (or step): close this workflow's stream `key`; readers stop."""
        run_sync(write_stream_procedure(cls._launched_engine().recorder, key, None, close=True))

    @classmethod
    async def close_stream_async(cls, key: str) -> None:
        await run_async(
            write_stream_procedure(cls._launched_engine().recorder, key, None, close=True)
        )
