"""Messages, events and streams end to end, on every backend."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    SetWorkflowID,
    SystemStorage,
    hookimpl,
)
from dbos.plugins._hooks import plugin_manager
from dbos.storage._records import StepRecord

Launch = Callable[..., None]


def test_send_and_recv_in_order_per_topic(launch: Launch, dbos_storage: SystemStorage) -> None:
    @DBOS.workflow()
    def receiver() -> list[Any]:
        got = [DBOS.recv("b", timeout_seconds=10)]
        got += [DBOS.recv("a", timeout_seconds=10) for _ in range(3)]
        got.append(DBOS.recv(timeout_seconds=10))  # the default topic
        return got

    @DBOS.workflow()
    def sender(destination: str) -> None:
        for value in ("a1", "a2", "a3"):
            DBOS.send(destination, value, topic="a")
        DBOS.send(destination, {"n": 1}, topic="b")
        DBOS.send(destination, None)

    launch()
    with SetWorkflowID("rx"):
        handle = DBOS.start_workflow(receiver)
    with SetWorkflowID("tx"):
        sender("rx")
    assert handle.get_result() == [{"n": 1}, "a1", "a2", "a3", None]
    names = [s.function_name for s in dbos_storage.load_steps("tx")]
    assert names == ["DBOS.send"] * 5
    # Replaying the finished sender with its ID sends nothing again.
    with SetWorkflowID("tx"):
        sender("rx")
    assert dbos_storage.recv(_recv_request("rx", 99, "a")) is None


def _recv_request(workflow_id: str, function_id: int, topic: str) -> Any:
    from dbos.storage._records import RecvRequest

    return RecvRequest(workflow_id, function_id, "DBOS.recv", topic, 0)


def test_send_from_outside_and_recv_timeout(launch: Launch) -> None:
    @DBOS.workflow()
    def waits_for_one() -> tuple[Any, Any]:
        first = DBOS.recv("t", timeout_seconds=30)
        second = DBOS.recv("t", timeout_seconds=0.2)
        return first, second

    launch()
    handle = DBOS.start_workflow(waits_for_one)
    time.sleep(0.2)  # the receiver is waiting by now
    DBOS.send(handle.workflow_id, [1, 2, 3], topic="t")
    assert handle.get_result() == ([1, 2, 3], None)


def test_send_to_a_missing_workflow_is_an_error(launch: Launch) -> None:
    @DBOS.workflow()
    def sends_to_nobody() -> None:
        DBOS.send("nobody-here", "hello")

    launch()
    with pytest.raises(DBOSNonExistentWorkflowError, match="nobody-here"):
        DBOS.send("nobody-here", "hello")
    with pytest.raises(DBOSNonExistentWorkflowError, match="nobody-here"):
        sends_to_nobody()


def test_recv_and_set_event_need_a_workflow(launch: Launch) -> None:
    @DBOS.step()
    def recv_in_step() -> Any:
        return DBOS.recv()

    @DBOS.workflow()
    def calls_step() -> Any:
        return recv_in_step()

    launch()
    with pytest.raises(DBOSException, match=r"DBOS\.recv can only be called from a workflow"):
        DBOS.recv()
    with pytest.raises(DBOSException, match=r"DBOS\.recv can only be called from a workflow"):
        calls_step()
    with pytest.raises(DBOSException, match="set_event can only be called"):
        DBOS.set_event("k", "v")
    with pytest.raises(DBOSException, match="write_stream can only be called"):
        DBOS.write_stream("k", "v")
    with pytest.raises(DBOSException, match="timeout_seconds"):
        DBOS.get_event("x", "k", timeout_seconds=-1)


class Crash(BaseException):
    """Raised from a hook: the execution stops as if the process died."""


class CrashAfter:
    def __init__(self, name: str) -> None:
        self.name = name

    @hookimpl
    def dbos_after_step_checkpoint(self, step: StepRecord) -> None:
        if step.function_name == self.name:
            raise Crash(step.function_name)


@pytest.fixture
def crash_after_first_recv() -> Iterator[CrashAfter]:
    plugin = CrashAfter("DBOS.recv")
    plugin_manager().register(plugin)
    try:
        yield plugin
    finally:
        if plugin_manager().is_registered(plugin):
            plugin_manager().unregister(plugin)


def test_recovered_receiver_gets_the_message_it_got_before(
    launch: Launch, dbos_storage: SystemStorage, crash_after_first_recv: CrashAfter
) -> None:
    seen: list[Any] = []

    @DBOS.workflow()
    def receiver() -> list[Any]:
        first = DBOS.recv(timeout_seconds=10)
        seen.append(first)
        second = DBOS.recv(timeout_seconds=10)
        seen.append(second)
        return [first, second]

    launch()
    with SetWorkflowID("rx-crash"):
        handle = DBOS.start_workflow(receiver)
    DBOS.send("rx-crash", "one")
    with pytest.raises(Crash):
        handle.get_result()
    plugin_manager().unregister(crash_after_first_recv)
    row = dbos_storage.get_workflow("rx-crash")
    assert row is not None and row.status == "PENDING"
    DBOS.send("rx-crash", "two")
    launch()  # a restart: recovery replays the first recv and consumes the second message
    assert DBOS.retrieve_workflow("rx-crash").get_result() == ["one", "two"]
    assert seen == ["one", "two"]  # the crashed run stopped before appending
    names = [s.function_name for s in dbos_storage.load_steps("rx-crash")]
    assert names.count("DBOS.recv") == 2


def test_a_receiver_whose_message_a_stale_execution_took_replays_it(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    """After a takeover, the previous execution of a workflow (its lease ran out, but it was
    still running) can consume the message the new execution waits for, and record it at the
    same operation. The waiting receiver must replay that record on its next look (within
    the fallback poll, about a second) rather than wait out its timeout; seen under load in
    the rolling-deploy test. The stale execution's consume is made here as it leaves
    storage: the operation recorded, the message gone."""

    @DBOS.workflow()
    def receiver() -> Any:
        return DBOS.recv("t", timeout_seconds=600)

    launch()
    with SetWorkflowID("rx-stale"):
        handle = DBOS.start_workflow(receiver)
    deadline = time.monotonic() + 30
    # Operation 2 is the recv's recorded wake-up time: written before the receiver waits.
    while [s.function_id for s in dbos_storage.load_steps("rx-stale")] != [2]:
        assert time.monotonic() < deadline, "the receiver never started waiting"
        time.sleep(0.02)
    taken = StepRecord("rx-stale", 1, "DBOS.recv", json.dumps("taken"), None, 1, 2)
    assert dbos_storage.record_step(taken).workflow_status == "PENDING"
    waiter = threading.Thread(target=handle.get_result)
    waiter.start()
    waiter.join(timeout=60)  # a correctness bound (the timeout is 600 s), not a speed target
    assert not waiter.is_alive(), "the receiver waited on after its operation was recorded"
    assert handle.get_result() == "taken"
    assert handle.get_status().status == "SUCCESS"


def test_events_wait_for_a_value_and_are_checkpointed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    release = threading.Event()

    @DBOS.workflow()
    def publisher() -> None:
        DBOS.set_event("status", "started")
        release.wait(10)
        DBOS.set_event("status", "done")
        DBOS.set_event("payload", {"items": [1, 2]})

    @DBOS.workflow()
    def reader(target: str) -> Any:
        return DBOS.get_event(target, "payload", timeout_seconds=10)

    launch()
    with SetWorkflowID("pub"):
        handle = DBOS.start_workflow(publisher)
    with SetWorkflowID("reader"):
        reading = DBOS.start_workflow(reader, "pub")
    assert DBOS.get_event("pub", "status", timeout_seconds=10) == "started"
    assert DBOS.get_event("pub", "missing", timeout_seconds=0.1) is None
    results: list[Any] = []
    waiter = threading.Thread(target=lambda: results.append(DBOS.get_event("pub", "payload")))
    waiter.start()
    time.sleep(0.1)
    release.set()
    waiter.join(10)
    handle.get_result()
    assert results == [{"items": [1, 2]}]
    assert DBOS.get_event("pub", "status") == "done"
    assert reading.get_result() == {"items": [1, 2]}
    steps = dbos_storage.load_steps("reader")
    assert steps[0].function_name == "DBOS.getEvent"


def test_streams_yield_values_until_closed_or_finished(launch: Launch) -> None:
    release = threading.Event()

    @DBOS.step()
    def from_a_step() -> None:
        DBOS.write_stream("numbers", 2)

    @DBOS.workflow()
    def producer() -> None:
        DBOS.write_stream("numbers", 1)
        release.wait(10)
        from_a_step()
        DBOS.write_stream("numbers", None)
        DBOS.close_stream("numbers")
        DBOS.write_stream("unclosed", "x")

    launch()
    with SetWorkflowID("producer"):
        handle = DBOS.start_workflow(producer)
    stream = DBOS.read_stream("producer", "numbers")
    assert next(stream) == 1
    release.set()
    assert list(stream) == [2, None]
    handle.get_result()
    # A stream that was never closed ends with its workflow.
    assert list(DBOS.read_stream("producer", "unclosed")) == ["x"]
    assert list(DBOS.read_stream("producer", "never-written")) == []


def test_async_messaging(launch: Launch) -> None:
    @DBOS.workflow()
    async def async_receiver() -> list[Any]:
        await DBOS.set_event_async("ready", True)
        first = await DBOS.recv_async("t", timeout_seconds=10)
        await DBOS.write_stream_async("s", first)
        await DBOS.close_stream_async("s")
        return [first, await DBOS.recv_async("t", timeout_seconds=0.1)]

    async def main() -> tuple[list[Any], list[Any]]:
        handle = await DBOS.start_workflow_async(async_receiver)
        assert await DBOS.get_event_async(handle.workflow_id, "ready", 10) is True
        await DBOS.send_async(handle.workflow_id, "hi", topic="t")
        values = [value async for value in DBOS.read_stream_async(handle.workflow_id, "s")]
        return await handle.get_result(), values

    launch()
    assert asyncio.run(main()) == (["hi", None], ["hi"])


def test_many_async_waiters_hold_no_threads(launch: Launch) -> None:
    """Async receivers wait on their event loop: far more of them than worker threads."""

    @DBOS.workflow()
    async def parked(index: int) -> Any:
        return await DBOS.recv_async(timeout_seconds=30)

    async def main() -> list[Any]:
        handles = [await DBOS.start_workflow_async(parked, i) for i in range(64)]
        await asyncio.sleep(0.3)
        for index, handle in enumerate(handles):
            await DBOS.send_async(handle.workflow_id, index)
        return [await handle.get_result() for handle in handles]

    launch()
    assert asyncio.run(main()) == list(range(64))


def test_exactly_once_event_processing(launch: Launch, dbos_storage: SystemStorage) -> None:
    """The seed's pattern: an event handler starts a workflow under the event's ID, so a
    redelivered event does not start a second one."""
    processed: list[str] = []

    @DBOS.step()
    def process(event_id: str, body: str) -> str:
        processed.append(event_id)
        return body.upper()

    @DBOS.workflow()
    def process_event(event_id: str, body: str) -> str:
        return process(event_id, body)

    def handle_event(event_id: str, body: str) -> str:
        with SetWorkflowID(event_id):
            handle = DBOS.start_workflow(process_event, event_id, body)
        return str(handle.get_result())

    launch()
    assert handle_event("evt-1", "hello") == "HELLO"
    assert handle_event("evt-1", "hello") == "HELLO"  # redelivered
    assert handle_event("evt-2", "again") == "AGAIN"
    assert processed == ["evt-1", "evt-2"]
    assert len(DBOS.list_workflows(name=process_event.__qualname__)) == 2


def test_cancel_and_finish_report_the_end_of_a_workflows_streams(launch: Launch) -> None:
    # The storage that settles a workflow wakes its stream readers; they need not poll.
    from dbos.storage._records import WAKE_STREAM, Wakeup

    gate = threading.Event()

    @DBOS.workflow()
    def writer() -> None:
        DBOS.write_stream("s", 1)
        gate.wait(10)

    launch()
    heard: list[Wakeup | None] = []
    DBOS._launched_engine().storage.on_wakeup(heard.append)
    handle = DBOS.start_workflow(writer)
    values: list[object] = []
    reader = threading.Thread(
        target=lambda: values.extend(DBOS.read_stream(handle.workflow_id, "s")), daemon=True
    )
    reader.start()
    time.sleep(0.2)
    heard.clear()
    DBOS.cancel_workflow(handle.workflow_id)
    assert Wakeup(WAKE_STREAM, handle.workflow_id) in heard
    reader.join(5)
    gate.set()
    assert values == [1]

    @DBOS.workflow()
    def short() -> int:
        return 1

    heard.clear()
    finished = DBOS.start_workflow(short)
    assert finished.get_result() == 1
    assert Wakeup(WAKE_STREAM, finished.workflow_id) in heard
