"""Conformance suite for messages, events and streams in the storage protocol.

Run it from a test module with ``from dbos_testing.conformance.messaging import *``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest

from dbos import DBOSNonExistentWorkflowError, DBOSStepConflictError, SystemStorage
from dbos.storage import (
    WAKE_EVENT,
    WAKE_MESSAGE,
    WAKE_STREAM,
    EventRecord,
    Message,
    NewWorkflow,
    RecvRequest,
    StepRecord,
    StreamEntry,
    StreamWrite,
    Wakeup,
    WorkflowOutcome,
)

__all__ = [
    "test_send_to_a_missing_workflow_stores_nothing",
    "test_messages_are_received_once_in_order_per_topic",
    "test_recv_records_the_message_as_the_step_output",
    "test_recv_conflict_leaves_the_message",
    "test_a_message_trace_carrier_comes_back_with_its_recv",
    "test_send_with_step_commits_both_or_neither",
    "test_send_is_idempotent_by_message_id",
    "test_concurrent_receivers_take_each_message_once",
    "test_events_set_overwrite_and_read",
    "test_set_event_with_step_conflict_changes_nothing",
    "test_stream_appends_in_order_and_closes",
    "test_step_writes_commit_with_the_checkpoint_or_not_at_all",
    "test_stream_read_reports_the_writer_status",
    "test_concurrent_stream_appends_get_distinct_offsets",
    "test_concurrent_appends_through_every_path_get_gap_free_offsets",
    "test_writes_wake_this_process",
]


def workflow(storage: SystemStorage, workflow_id: str) -> None:
    storage.create_workflow(
        NewWorkflow(workflow_id, "module.workflow", "[]", "executor-a", "v1", 1_000)
    )


def message(
    destination: str, text: str, topic: str = "t", message_id: str | None = None
) -> Message:
    return Message(message_id or f"{destination}:{topic}:{text}", destination, topic, text, 5)


def step(workflow_id: str, function_id: int, name: str = "DBOS.send") -> StepRecord:
    return StepRecord(workflow_id, function_id, name, "null", None, 10, 20)


def recv(workflow_id: str, function_id: int, topic: str = "t") -> RecvRequest:
    return RecvRequest(workflow_id, function_id, "DBOS.recv", topic, 30)


def test_send_to_a_missing_workflow_stores_nothing(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "sender")
    with pytest.raises(DBOSNonExistentWorkflowError) as caught:
        dbos_storage.send(message("nobody", '"hi"'))
    assert caught.value.workflow_id == "nobody"
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.send(message("nobody", '"hi"'), step("sender", 0))
    assert dbos_storage.load_steps("sender") == []


def test_messages_are_received_once_in_order_per_topic(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    for text in ('"a1"', '"a2"', '"a3"'):
        dbos_storage.send(message("rx", text, topic="a"))
    dbos_storage.send(message("rx", '"b1"', topic="b"))
    got = []
    for function_id in range(4):
        record = dbos_storage.recv(recv("rx", function_id, topic="a"))
        got.append(None if record is None else record.output)
    assert got == ['"a1"', '"a2"', '"a3"', None]
    record = dbos_storage.recv(recv("rx", 10, topic="b"))
    assert record is not None and record.output == '"b1"'
    assert dbos_storage.recv(recv("rx", 11, topic="b")) is None


def test_recv_records_the_message_as_the_step_output(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    dbos_storage.send(message("rx", '{"k": [1, 2]}'))
    record = dbos_storage.recv(recv("rx", 3))
    assert record == StepRecord("rx", 3, "DBOS.recv", '{"k": [1, 2]}', None, 30, 30)
    assert dbos_storage.load_steps("rx") == [record]


def test_recv_conflict_leaves_the_message(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    dbos_storage.record_step(step("rx", 0, "DBOS.recv"))
    dbos_storage.send(message("rx", '"kept"'))
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.recv(recv("rx", 0))
    record = dbos_storage.recv(recv("rx", 1))
    assert record is not None and record.output == '"kept"'


def test_recv_of_a_recorded_operation_conflicts_with_no_message_waiting(
    dbos_storage: SystemStorage,
) -> None:
    """Another execution of the workflow (one whose lease ran out) received at this operation
    and took the message: the waiting receiver's next look raises the conflict (it then
    replays the recorded message) rather than finding nothing and waiting out its timeout.
    A message sent afterwards is left for the next operation."""
    workflow(dbos_storage, "rx")
    dbos_storage.send(message("rx", '"taken"'))
    taken = dbos_storage.recv(recv("rx", 2))
    assert taken is not None and taken.output == '"taken"'
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.recv(recv("rx", 2))
    dbos_storage.send(message("rx", '"later"'))
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.recv(recv("rx", 2))
    following = dbos_storage.recv(recv("rx", 3))
    assert following is not None and following.output == '"later"'
    assert [step.output for step in dbos_storage.load_steps("rx")] == ['"taken"', '"later"']


def test_a_message_trace_carrier_comes_back_with_its_recv(dbos_storage: SystemStorage) -> None:
    """`Message.trace_carrier` (ours) is stored by every send path (plain, with a step, bulk,
    bulk with a step, as a step's write, keyed) and comes back on the `recv` that consumes the
    message, verbatim; it is not recorded with the receiver's step, and a message sent
    without one comes back without one."""
    workflow(dbos_storage, "tx")
    workflow(dbos_storage, "rx")

    def traced(text: str, message_id: str, key: str | None = None) -> Message:
        carrier = json.dumps({"traceparent": f"00-{message_id}-01", "tracestate": "k=v"})
        return Message(message_id, "rx", "t", text, 5, key, carrier)

    sent = [
        traced('"plain"', "c-plain"),
        traced('"with-step"', "c-step"),
        traced('"bulk-1"', "c-bulk-1"),
        traced('"bulk-2"', "c-bulk-2", key="bulk-key"),
        traced('"bulk-step"', "c-bulk-step"),
        traced('"write"', "c-write"),
        traced('"keyed"', "c-keyed", key="send-key"),
        Message("c-none", "rx", "t", '"untraced"', 5),
    ]
    dbos_storage.send(sent[0])
    dbos_storage.send(sent[1], step("tx", 1))
    dbos_storage.send_many((sent[2], sent[3]))
    dbos_storage.send_many((sent[4],), step("tx", 2, "DBOS.send_bulk"))
    dbos_storage.record_step(step("tx", 3, "module.step"), (sent[5],))
    dbos_storage.send(sent[6])
    dbos_storage.send(sent[7])
    received = [dbos_storage.recv(recv("rx", function_id)) for function_id in range(1, 10)]
    assert received[-1] is None
    assert [(r.output, r.trace_carrier) for r in received if r is not None] == [
        (m.message, m.trace_carrier) for m in sent
    ]
    assert sent[0].trace_carrier is not None and sent[-1].trace_carrier is None
    # The receiver's recorded steps hold the messages, not their carriers.
    assert [(s.output, s.trace_carrier) for s in dbos_storage.load_steps("rx")] == [
        (m.message, None) for m in sent
    ]


def test_send_with_step_commits_both_or_neither(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "tx")
    workflow(dbos_storage, "rx")
    ack = dbos_storage.send(message("rx", '"one"'), step("tx", 0))
    assert ack.workflow_status == "PENDING"
    assert [s.function_id for s in dbos_storage.load_steps("tx")] == [0]
    # A recovered sender replays operation 0: refused, and no second message is stored.
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.send(message("rx", '"two"'), step("tx", 0))
    assert [s.function_id for s in dbos_storage.load_steps("tx")] == [0]
    first = dbos_storage.recv(recv("rx", 0))
    assert first is not None and first.output == '"one"'
    assert dbos_storage.recv(recv("rx", 1)) is None


def test_send_is_idempotent_by_message_id(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    dbos_storage.send(message("rx", '"x"', message_id="m-1"))
    dbos_storage.send(message("rx", '"x"', message_id="m-1"))
    assert dbos_storage.recv(recv("rx", 0)) is not None
    assert dbos_storage.recv(recv("rx", 1)) is None


def test_concurrent_receivers_take_each_message_once(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    for index in range(20):
        dbos_storage.send(message("rx", f'"m{index}"'))
    barrier = threading.Barrier(4)
    got: list[str] = []
    lock = threading.Lock()

    def receive(thread_index: int) -> None:
        barrier.wait()
        for attempt in range(20):
            function_id = thread_index * 100 + attempt
            record = dbos_storage.recv(recv("rx", function_id))
            if record is not None:
                with lock:
                    got.append(str(record.output))

    threads = [threading.Thread(target=receive, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == sorted(f'"m{index}"' for index in range(20))


def test_events_set_overwrite_and_read(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "wf")
    assert dbos_storage.get_event("wf", "k") is None
    dbos_storage.set_event(EventRecord("wf", "k", '"v1"', 1), step("wf", 0, "DBOS.setEvent"))
    assert dbos_storage.get_event("wf", "k") == '"v1"'
    dbos_storage.set_event(EventRecord("wf", "k", '"v2"', 2), step("wf", 1, "DBOS.setEvent"))
    assert dbos_storage.get_event("wf", "k") == '"v2"'
    assert dbos_storage.get_event("wf", "other") is None
    assert dbos_storage.get_event("missing", "k") is None
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.set_event(EventRecord("missing", "k", '"v"', 1))


def test_set_event_with_step_conflict_changes_nothing(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "wf")
    dbos_storage.set_event(EventRecord("wf", "k", '"first"', 1), step("wf", 0, "DBOS.setEvent"))
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.set_event(
            EventRecord("wf", "k", '"second"', 2), step("wf", 0, "DBOS.setEvent")
        )
    assert dbos_storage.get_event("wf", "k") == '"first"'


def test_stream_appends_in_order_and_closes(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "wf")
    assert dbos_storage.read_stream("wf", "s", 0).entries == ()
    for index, value in enumerate(['"a"', '"b"', None]):
        dbos_storage.write_stream(
            StreamWrite("wf", "s", value, 1), step("wf", index, "DBOS.writeStream")
        )
    dbos_storage.write_stream(StreamWrite("wf", "other", '"x"', 1))
    read = dbos_storage.read_stream("wf", "s", 0)
    assert read.entries == (StreamEntry(0, '"a"'), StreamEntry(1, '"b"'), StreamEntry(2, None))
    assert dbos_storage.read_stream("wf", "s", 2).entries == (StreamEntry(2, None),)
    assert dbos_storage.read_stream("wf", "other", 0).entries == (StreamEntry(0, '"x"'),)
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.write_stream(StreamWrite("wf", "s", '"c"', 1), step("wf", 0))
    assert len(dbos_storage.read_stream("wf", "s", 0).entries) == 3
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.write_stream(StreamWrite("missing", "s", '"c"', 1))


def test_step_writes_commit_with_the_checkpoint_or_not_at_all(
    dbos_storage: SystemStorage,
) -> None:
    woken: list[Wakeup] = []
    dbos_storage.on_wakeup(lambda wakeup: woken.append(wakeup) if wakeup is not None else None)
    workflow(dbos_storage, "wf")
    workflow(dbos_storage, "peer")
    dbos_storage.write_stream(StreamWrite("wf", "s", '"before"', 1))
    writes = (
        StreamWrite("wf", "s", '"a"', 2),
        message("peer", '"hello"', message_id="wf:0:1"),
        EventRecord("wf", "k", '"v"', 2),
        StreamWrite("wf", "t", '"b"', 2),
    )
    dbos_storage.record_step(
        step("wf", 0, "module.step"), (*writes, StreamWrite("wf", "s", None, 2))
    )
    assert dbos_storage.read_stream("wf", "s", 0).entries == (
        StreamEntry(0, '"before"'),
        StreamEntry(1, '"a"'),
        StreamEntry(2, None),
    )
    assert dbos_storage.read_stream("wf", "t", 0).entries == (StreamEntry(0, '"b"'),)
    assert dbos_storage.get_event("wf", "k") == '"v"'
    assert {
        Wakeup(WAKE_STREAM, "wf"),
        Wakeup(WAKE_EVENT, "wf"),
        Wakeup(WAKE_MESSAGE, "peer"),
    } <= set(woken)
    # A second execution of the same step conflicts and makes none of its writes.
    again = (
        StreamWrite("wf", "s", '"c"', 3),
        message("peer", '"again"', message_id="wf:0:9"),
        EventRecord("wf", "k", '"changed"', 3),
    )
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.record_step(step("wf", 0, "module.step"), again)
    assert len(dbos_storage.read_stream("wf", "s", 0).entries) == 3
    assert dbos_storage.get_event("wf", "k") == '"v"'
    received = dbos_storage.recv(RecvRequest("peer", 0, "DBOS.recv", "t", 9))
    assert received is not None and received.output == '"hello"'
    assert dbos_storage.recv(RecvRequest("peer", 1, "DBOS.recv", "t", 9)) is None
    # A message to a missing workflow fails the whole step, checkpoint included.
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.record_step(
            step("wf", 1, "module.step"),
            (StreamWrite("wf", "s", '"d"', 4), message("missing", '"m"', message_id="wf:1:0")),
        )
    assert 1 not in {s.function_id for s in dbos_storage.load_steps("wf")}
    assert len(dbos_storage.read_stream("wf", "s", 0).entries) == 3


def test_stream_read_reports_the_writer_status(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.read_stream("wf", "s", 0).workflow_status is None
    workflow(dbos_storage, "wf")
    dbos_storage.write_stream(StreamWrite("wf", "s", '"a"', 1))
    assert dbos_storage.read_stream("wf", "s", 0).workflow_status == "PENDING"
    dbos_storage.finish_workflow(WorkflowOutcome("wf", "SUCCESS", "null", None, 2))
    read = dbos_storage.read_stream("wf", "s", 1)
    assert (read.workflow_status, read.entries) == ("SUCCESS", ())


def test_concurrent_stream_appends_get_distinct_offsets(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "wf")
    barrier = threading.Barrier(4)

    def append(thread_index: int) -> None:
        barrier.wait()
        for index in range(10):
            dbos_storage.write_stream(StreamWrite("wf", "s", f'"{thread_index}-{index}"', 1))

    threads = [threading.Thread(target=append, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = dbos_storage.read_stream("wf", "s", 0).entries
    assert [entry.offset for entry in entries] == list(range(40))
    assert len({entry.value for entry in entries}) == 40


def test_concurrent_appends_through_every_path_get_gap_free_offsets(
    dbos_storage: SystemStorage,
) -> None:
    """Plain appends, appends recorded as an operation, and appends made with a step's
    checkpoint, all at once to one stream: every one succeeds at its own offset, with no gap.
    Step checkpoints append to two streams in opposite orders (no deadlock either)."""
    workflow(dbos_storage, "wf")
    threads_per_path, rounds = 3, 15
    barrier = threading.Barrier(3 * threads_per_path)
    errors: list[BaseException] = []

    def plain(thread: int) -> None:
        for index in range(rounds):
            dbos_storage.write_stream(StreamWrite("wf", "s", f'"plain {thread}-{index}"', 1))

    def operation(thread: int) -> None:
        for index in range(rounds):
            dbos_storage.write_stream(
                StreamWrite("wf", "s", f'"op {thread}-{index}"', 1),
                step("wf", 1000 + thread * rounds + index, "DBOS.writeStream"),
            )

    def in_step(thread: int) -> None:
        for index in range(rounds):
            first, second = ("s", "t") if index % 2 else ("t", "s")
            dbos_storage.record_step(
                step("wf", 2000 + thread * rounds + index, "module.step"),
                (
                    StreamWrite("wf", first, f'"step {thread}-{index} a"', 1),
                    StreamWrite("wf", second, f'"step {thread}-{index} b"', 1),
                    StreamWrite("wf", "s", f'"step {thread}-{index} c"', 1),
                ),
            )

    def run(path: Callable[[int], None], thread: int) -> None:
        try:
            barrier.wait()
            path(thread)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(path, thread))
        for path in (plain, operation, in_step)
        for thread in range(threads_per_path)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = dbos_storage.read_stream("wf", "s", 0).entries
    expected = threads_per_path * rounds * 4  # plain, operation, and two per step
    assert [entry.offset for entry in entries] == list(range(expected))
    assert len({entry.value for entry in entries}) == expected
    others = dbos_storage.read_stream("wf", "t", 0).entries
    assert [entry.offset for entry in others] == list(range(threads_per_path * rounds))
    # One step's entries keep their order.
    values = [entry.value for entry in entries]
    for writer in range(threads_per_path):
        for index in range(1, rounds, 2):
            a = values.index(f'"step {writer}-{index} a"')
            assert a < values.index(f'"step {writer}-{index} c"')


def test_writes_wake_this_process(dbos_storage: SystemStorage) -> None:
    seen: list[Wakeup] = []
    lock = threading.Lock()

    def note(wakeup: Wakeup | None) -> None:
        if wakeup is not None:
            with lock:
                seen.append(wakeup)

    dbos_storage.on_wakeup(note)
    workflow(dbos_storage, "wf")
    dbos_storage.send(message("wf", '"m"'))
    dbos_storage.set_event(EventRecord("wf", "k", '"v"', 1))
    dbos_storage.write_stream(StreamWrite("wf", "s", '"x"', 1))
    # In-process wake-ups are synchronous; a backend may also deliver its own notifications
    # (at most the same wake-ups again).
    with lock:
        assert set(seen) >= {
            Wakeup(WAKE_MESSAGE, "wf"),
            Wakeup(WAKE_EVENT, "wf"),
            Wakeup(WAKE_STREAM, "wf"),
        }
