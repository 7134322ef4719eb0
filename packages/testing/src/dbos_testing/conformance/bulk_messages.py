"""Conformance suite for bulk and idempotent sends and for reading all events
(`SystemStorage.send_many`, `Message.idempotency_key`, `get_all_events`).

Run it from a test module with ``from dbos_testing.conformance.bulk_messages import *``.
"""

from __future__ import annotations

import threading

import pytest

from dbos import DBOSNonExistentWorkflowError, DBOSStepConflictError, SystemStorage
from dbos.storage import WAKE_MESSAGE, EventRecord, Message, StepRecord, StepWrite, Wakeup

from .messaging import recv, step, workflow

__all__ = [
    "test_send_many_stores_every_message_in_order",
    "test_send_many_with_a_step_commits_both_or_neither",
    "test_send_many_to_a_missing_workflow_stores_nothing",
    "test_an_idempotency_key_delivers_once_even_after_the_receive",
    "test_idempotency_keys_are_scoped_per_destination",
    "test_keys_apply_through_send_many_and_step_writes",
    "test_concurrent_sends_of_one_key_deliver_once",
    "test_a_deleted_destination_forgets_its_keys",
    "test_send_many_wakes_each_destination",
    "test_get_all_events",
]


def keyed(destination: str, text: str, key: str | None, message_id: str) -> Message:
    return Message(message_id, destination, "t", text, 5, key)


def drain(storage: SystemStorage, workflow_id: str, first_id: int = 100) -> list[str]:
    got: list[str] = []
    function_id = first_id
    while (record := storage.recv(recv(workflow_id, function_id))) is not None:
        got.append(record.output or "")
        function_id += 1
    return got


def test_send_many_stores_every_message_in_order(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx1")
    workflow(dbos_storage, "rx2")
    batch = tuple(keyed("rx1" if i % 3 else "rx2", f'"m{i}"', None, f"bulk-{i}") for i in range(30))
    ack = dbos_storage.send_many(batch)
    assert ack.workflow_status is None
    # Message IDs are unique among stored messages: the same batch again stores nothing.
    dbos_storage.send_many(batch)
    assert drain(dbos_storage, "rx1") == [f'"m{i}"' for i in range(30) if i % 3]
    assert drain(dbos_storage, "rx2") == [f'"m{i}"' for i in range(30) if not i % 3]


def test_send_many_with_a_step_commits_both_or_neither(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "tx")
    workflow(dbos_storage, "rx")
    batch = (keyed("rx", '"a"', None, "s-1"), keyed("rx", '"b"', "k", "s-2"))
    ack = dbos_storage.send_many(batch, step("tx", 0, "DBOS.send_bulk"))
    assert ack.workflow_status == "PENDING"
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.send_many((keyed("rx", '"c"', None, "s-3"),), step("tx", 0, "DBOS.send_bulk"))
    assert [s.function_id for s in dbos_storage.load_steps("tx")] == [0]
    assert drain(dbos_storage, "rx") == ['"a"', '"b"']
    # An empty batch with a step records the step.
    dbos_storage.send_many((), step("tx", 1, "DBOS.send_bulk"))
    assert [s.function_id for s in dbos_storage.load_steps("tx")] == [0, 1]


def test_send_many_to_a_missing_workflow_stores_nothing(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "tx")
    workflow(dbos_storage, "rx")
    batch = (keyed("rx", '"a"', "k1", "x-1"), keyed("nobody", '"b"', None, "x-2"))
    with pytest.raises(DBOSNonExistentWorkflowError) as caught:
        dbos_storage.send_many(batch)
    assert caught.value.workflow_id == "nobody"
    with pytest.raises(DBOSNonExistentWorkflowError) as caught:
        dbos_storage.send_many(batch, step("tx", 0, "DBOS.send_bulk"))
    assert caught.value.workflow_id == "nobody"
    assert dbos_storage.load_steps("tx") == []
    assert drain(dbos_storage, "rx") == []
    # Nothing was stored, the key k1 included: a good send with it delivers.
    dbos_storage.send(keyed("rx", '"a"', "k1", "x-3"))
    assert drain(dbos_storage, "rx", 200) == ['"a"']


def test_an_idempotency_key_delivers_once_even_after_the_receive(
    dbos_storage: SystemStorage,
) -> None:
    workflow(dbos_storage, "rx")
    dbos_storage.send(keyed("rx", '"first"', "order-1", "id-1"))
    dbos_storage.send(keyed("rx", '"again"', "order-1", "id-2"))
    assert drain(dbos_storage, "rx") == ['"first"']
    # The first copy is consumed (its row deleted); the key is still remembered.
    dbos_storage.send(keyed("rx", '"late"', "order-1", "id-3"))
    dbos_storage.send_many((keyed("rx", '"bulk"', "order-1", "id-4"),))
    assert drain(dbos_storage, "rx", 200) == []


def test_idempotency_keys_are_scoped_per_destination(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx1")
    workflow(dbos_storage, "rx2")
    dbos_storage.send(keyed("rx1", '"a"', "same", "p-1"))
    dbos_storage.send(keyed("rx2", '"b"', "same", "p-2"))
    dbos_storage.send_many((keyed("rx1", '"c"', "other", "p-3"), keyed("rx2", '"d"', None, "p-4")))
    assert drain(dbos_storage, "rx1") == ['"a"', '"c"']
    assert drain(dbos_storage, "rx2") == ['"b"', '"d"']


def test_keys_apply_through_send_many_and_step_writes(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "tx")
    workflow(dbos_storage, "rx")
    dbos_storage.send_many((keyed("rx", '"a"', "k", "w-1"), keyed("rx", '"b"', "k2", "w-2")))
    writes: tuple[StepWrite, ...] = (
        keyed("rx", '"again"', "k", "w-3"),
        keyed("rx", '"new"', "k3", "w-4"),
    )
    dbos_storage.record_step(step("tx", 0, "work"), writes)
    dbos_storage.send(keyed("rx", '"again2"', "k2", "w-5"), step("tx", 1))
    assert [s.function_id for s in dbos_storage.load_steps("tx")] == [0, 1]
    assert drain(dbos_storage, "rx") == ['"a"', '"b"', '"new"']


def test_concurrent_sends_of_one_key_deliver_once(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            barrier.wait(10)
            if index % 2:
                dbos_storage.send(keyed("rx", f'"{index}"', "once", f"c-{index}"))
            else:
                dbos_storage.send_many((keyed("rx", f'"{index}"', "once", f"c-{index}"),))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(drain(dbos_storage, "rx")) == 1


def test_a_deleted_destination_forgets_its_keys(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx")
    dbos_storage.send(keyed("rx", '"a"', "k", "d-1"))
    assert dbos_storage.delete_workflows(("rx",)) == ["rx"]
    workflow(dbos_storage, "rx")
    dbos_storage.send(keyed("rx", '"b"', "k", "d-2"))
    assert drain(dbos_storage, "rx") == ['"b"']


def test_send_many_wakes_each_destination(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "rx1")
    workflow(dbos_storage, "rx2")
    heard: list[Wakeup | None] = []
    dbos_storage.on_wakeup(heard.append)
    dbos_storage.send_many((keyed("rx1", '"a"', None, "n-1"), keyed("rx2", '"b"', None, "n-2")))
    assert Wakeup(WAKE_MESSAGE, "rx1") in heard and Wakeup(WAKE_MESSAGE, "rx2") in heard


def test_get_all_events(dbos_storage: SystemStorage) -> None:
    workflow(dbos_storage, "w")
    assert dbos_storage.get_all_events("w") == {}
    assert dbos_storage.get_all_events("nobody") == {}
    dbos_storage.set_event(EventRecord("w", "b", '"two"', 1))
    dbos_storage.set_event(EventRecord("w", "a", "1", 1))
    dbos_storage.set_event(
        EventRecord("w", "a", "3", 2), StepRecord("w", 0, "e", "null", None, 1, 2)
    )
    assert dbos_storage.get_all_events("w") == {"a": "3", "b": '"two"'}
