"""Reading streams and all events as in DBOS Transact 3.4: `read_stream(..., offset=,
polling_interval_sec=, timeout_seconds=)`, `read_stream_offset` (+ `_async`, on `DBOS` and
`DBOSClient`) and `DBOS.get_all_events`. In a workflow body each read is a recorded operation:
a replay (here: a fork past it) gets what the first execution got, even after the stream or
the events changed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSNonExistentWorkflowError,
    SetWorkflowID,
    SystemStorage,
)
from dbos.error import DBOSStreamTimeoutError
from dbos_client import DBOSClient

Launch = Callable[..., None]


def _writer() -> Any:
    @DBOS.workflow()
    def writer(count: int, close: bool) -> None:
        for i in range(count):
            DBOS.write_stream("s", i)
        if close:
            DBOS.close_stream("s")
        else:
            DBOS.recv("more", timeout_seconds=60)  # stays PENDING until told
            DBOS.write_stream("s", "late")

    return writer


def test_read_stream_from_an_offset(launch: Launch, dbos_system_database_url: str) -> None:
    writer = _writer()
    launch()
    with SetWorkflowID("w"):
        DBOS.start_workflow(writer, 5, True).get_result()
    assert list(DBOS.read_stream("w", "s", offset=2)) == [2, 3, 4]
    assert list(DBOS.read_stream("w", "s", offset=9, polling_interval_sec=0.01)) == []

    async def read_async() -> list[Any]:
        return [v async for v in DBOS.read_stream_async("w", "s", offset=4)]

    assert asyncio.run(read_async()) == [4]
    client = DBOSClient(dbos_system_database_url)
    try:
        assert list(client.read_stream("w", "s", offset=3)) == [3, 4]
        assert client.read_stream_offset("w", "s", 1) == 1
        assert asyncio.run(client.read_stream_offset_async("w", "s", 0)) == 0
    finally:
        client.destroy()


def test_read_stream_offset_waits_times_out_and_sees_the_end(launch: Launch) -> None:
    writer = _writer()
    launch()
    with SetWorkflowID("open"):
        handle = DBOS.start_workflow(writer, 2, False)
    assert DBOS.read_stream_offset("open", "s", 1) == 1
    with pytest.raises(DBOSStreamTimeoutError) as caught:
        DBOS.read_stream_offset("open", "s", 2, timeout_seconds=0.2, polling_interval_sec=0.05)
    assert caught.value.timeout_seconds == 0.2
    with pytest.raises(DBOSStreamTimeoutError):
        list(DBOS.read_stream("open", "s", offset=2, timeout_seconds=0.2))
    DBOS.send("open", "go", "more")
    assert asyncio.run(DBOS.read_stream_offset_async("open", "s", 2)) == "late"
    handle.get_result()
    # The writer finished: no value will come at offset 3, and none is waited for.
    with pytest.raises(DBOSStreamTimeoutError) as caught:
        DBOS.read_stream_offset("open", "s", 3)
    assert caught.value.timeout_seconds is None
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.read_stream_offset("nobody", "s", 0)


def test_stream_read_arguments_are_checked(launch: Launch) -> None:
    launch()
    with pytest.raises(ValueError, match="polling_interval_sec"):
        DBOS.read_stream_offset("w", "s", 0, polling_interval_sec=0)
    with pytest.raises(ValueError, match="offset"):
        list(DBOS.read_stream("w", "s", offset=-1))
    with pytest.raises(ValueError, match="timeout_seconds"):
        DBOS.read_stream_offset("w", "s", 0, timeout_seconds=-1)


def test_stream_reads_in_a_workflow_are_recorded_and_replayed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    writer = _writer()

    @DBOS.workflow()
    def full_reader() -> list[Any]:
        return list(DBOS.read_stream("done", "s"))

    launch()
    with SetWorkflowID("done"):
        DBOS.start_workflow(writer, 2, True).get_result()
    with SetWorkflowID("full"):
        assert DBOS.start_workflow(full_reader).get_result() == [0, 1]
    names = [s.function_name for s in dbos_storage.load_steps("full")]
    assert names == ["DBOS.readStream"] * 3  # two values and the end
    assert dbos_storage.load_steps("full")[2].output is None
    assert DBOS.fork_workflow("full", 4).get_result() == [0, 1]


def test_a_recorded_timeout_replays_after_the_value_came(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    writer = _writer()

    @DBOS.workflow()
    def reader() -> list[Any]:
        got: list[Any] = [DBOS.read_stream_offset("open", "s", 0)]
        try:
            got.append(DBOS.read_stream_offset("open", "s", 2, timeout_seconds=0.2))
        except DBOSStreamTimeoutError:
            got.append("timed out")
        return got

    launch()
    with SetWorkflowID("open"):
        handle = DBOS.start_workflow(writer, 2, False)
    with SetWorkflowID("reader"):
        assert DBOS.start_workflow(reader).get_result() == [0, "timed out"]
    steps = dbos_storage.load_steps("reader")
    assert [s.function_name for s in steps] == ["DBOS.readStreamOffset"] * 2
    assert steps[1].error is not None
    DBOS.send("open", "go", "more")
    handle.get_result()
    assert DBOS.read_stream_offset("open", "s", 2) == "late"
    # The value at offset 2 exists now; a replay still gets the recorded timeout.
    assert DBOS.fork_workflow("reader", 3).get_result() == [0, "timed out"]


def test_get_all_events(launch: Launch, dbos_storage: SystemStorage) -> None:
    @DBOS.workflow()
    def source() -> None:
        DBOS.set_event("a", 1)
        DBOS.set_event("b", {"x": [1]})
        DBOS.recv("more", timeout_seconds=60)
        DBOS.set_event("a", "changed")

    @DBOS.workflow()
    def inspector() -> dict[str, Any]:
        return DBOS.get_all_events("source")

    launch()
    with SetWorkflowID("source"):
        handle = DBOS.start_workflow(source)
    while DBOS.get_event("source", "b", timeout_seconds=30) is None:
        pass
    assert DBOS.get_all_events("source") == {"a": 1, "b": {"x": [1]}}
    assert DBOS.get_all_events("nobody") == {}
    with SetWorkflowID("inspector"):
        assert DBOS.start_workflow(inspector).get_result() == {"a": 1, "b": {"x": [1]}}
    assert [s.function_name for s in dbos_storage.load_steps("inspector")] == ["DBOS.get_events"]
    DBOS.send("source", "go", "more")
    handle.get_result()
    assert asyncio.run(DBOS.get_all_events_async("source")) == {"a": "changed", "b": {"x": [1]}}
    # A replay gets what the first execution read.
    assert DBOS.fork_workflow("inspector", 2).get_result() == {"a": 1, "b": {"x": [1]}}


def test_a_stream_read_in_a_step_is_not_recorded(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    writer = _writer()
    done = threading.Event()

    @DBOS.step()
    def read_in_step() -> list[Any]:
        return list(DBOS.read_stream("done", "s"))

    @DBOS.workflow()
    def stepper() -> list[Any]:
        values = read_in_step()
        done.set()
        return values

    launch()
    with SetWorkflowID("done"):
        DBOS.start_workflow(writer, 3, True).get_result()
    with SetWorkflowID("stepper"):
        assert DBOS.start_workflow(stepper).get_result() == [0, 1, 2]
    assert len(dbos_storage.load_steps("stepper")) == 1


def test_async_reads_in_an_async_workflow_are_recorded(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    writer = _writer()

    @DBOS.workflow()
    async def reader() -> list[Any]:
        first = await DBOS.read_stream_offset_async("done", "s", 0)
        rest = [v async for v in DBOS.read_stream_async("done", "s", offset=1)]
        events = await DBOS.get_all_events_async("done")
        return [first, rest, events]

    launch()
    with SetWorkflowID("done"):
        DBOS.start_workflow(writer, 2, True).get_result()

    async def run() -> Any:
        with SetWorkflowID("async-reader"):
            handle = await DBOS.start_workflow_async(reader)
        return await handle.get_result()

    assert asyncio.run(run()) == [0, [1], {}]
    names = [s.function_name for s in dbos_storage.load_steps("async-reader")]
    assert names == [
        "DBOS.readStreamOffset",
        "DBOS.readStream",
        "DBOS.readStream",
        "DBOS.get_events",
    ]
