"""Bulk and idempotent sends (DBOS Transact 3.4): `DBOS.send_bulk` (+ `_async`, and on
`DBOSClient`) and `send(..., idempotency_key=...)`. A key delivers once per destination: also
after the first copy was received, from a `DBOSClient`, and (test_crashes.py) from a process
retrying after a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    SendMessage,
    SetWorkflowID,
    SystemStorage,
)
from dbos_client import DBOSClient

Launch = Callable[..., None]


def _collector(stop: threading.Event) -> Any:
    @DBOS.workflow()
    def collector(topic: str | None) -> list[Any]:
        got: list[Any] = []
        while True:
            # Read before the recv: a None then means nothing sent before `stop` is left
            # (checked after it, a message committed during the recv could be missed).
            stopping = stop.is_set()
            value = DBOS.recv(topic, timeout_seconds=0.2)
            if value is not None:
                got.append(value)
            elif stopping:
                return got

    return collector


def test_send_bulk_delivers_every_message_in_order(
    launch: Launch, dbos_system_database_url: str
) -> None:
    stop = threading.Event()
    collector = _collector(stop)
    launch()
    with SetWorkflowID("rx1"):
        rx1 = DBOS.start_workflow(collector, "t")
    with SetWorkflowID("rx2"):
        rx2 = DBOS.start_workflow(collector, None)
    DBOS.send_bulk([SendMessage("rx1", i, "t") for i in range(5)] + [SendMessage("rx2", "x")])
    asyncio.run(DBOS.send_bulk_async([SendMessage("rx1", 5, "t")]))
    client = DBOSClient(dbos_system_database_url)
    try:
        client.send_bulk([SendMessage("rx1", 6, "t"), SendMessage("rx2", "y")])
        DBOS.send_bulk([])  # nothing to send
    finally:
        client.destroy()
    stop.set()
    assert rx1.get_result() == list(range(7))
    assert rx2.get_result() == ["x", "y"]


def test_send_bulk_refuses_bad_input_and_sends_nothing(launch: Launch) -> None:
    stop = threading.Event()
    collector = _collector(stop)
    launch()
    with SetWorkflowID("rx"):
        rx = DBOS.start_workflow(collector, None)
    with pytest.raises(DBOSException, match="duplicate idempotency keys: k"):
        DBOS.send_bulk([SendMessage("rx", 1, idempotency_key="k"), SendMessage("rx", 2, None, "k")])
    with pytest.raises(DBOSNonExistentWorkflowError) as caught:
        DBOS.send_bulk([SendMessage("rx", 3), SendMessage("nobody", 4)])
    assert caught.value.workflow_id == "nobody"
    with pytest.raises(DBOSException, match="SendMessage"):
        DBOS.send_bulk(["rx"])  # type: ignore[list-item]
    with pytest.raises(DBOSException, match="idempotency_key"):
        DBOS.send("rx", 5, idempotency_key="")
    stop.set()
    assert rx.get_result() == []


def test_an_idempotency_key_delivers_once_everywhere(
    launch: Launch, dbos_system_database_url: str
) -> None:
    gate = threading.Event()

    @DBOS.workflow()
    def receiver() -> list[Any]:
        first = DBOS.recv(timeout_seconds=30)
        gate.wait(30)  # the repeats are sent after the first copy was received
        return [first, DBOS.recv(timeout_seconds=1)]

    @DBOS.workflow()
    def sender() -> None:
        DBOS.send("rx", "again-from-a-workflow", idempotency_key="order-1")

    launch()
    with SetWorkflowID("rx"):
        handle = DBOS.start_workflow(receiver)
    DBOS.send("rx", "first", idempotency_key="order-1")
    DBOS.send("rx", "again", idempotency_key="order-1")
    while not [s for s in DBOS.list_workflow_steps("rx") if s["function_name"] == "DBOS.recv"]:
        threading.Event().wait(0.02)
    client = DBOSClient(dbos_system_database_url)
    try:
        client.send("rx", "again-from-a-client", idempotency_key="order-1")
        asyncio.run(client.send_async("rx", "again-async", idempotency_key="order-1"))
        client.send_bulk([SendMessage("rx", "again-bulk", idempotency_key="order-1")])
    finally:
        client.destroy()
    DBOS.start_workflow(sender).get_result()
    asyncio.run(DBOS.send_async("rx", "again-async", idempotency_key="order-1"))
    gate.set()
    assert handle.get_result() == ["first", None]


def test_send_bulk_in_a_workflow_is_one_recorded_operation(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    stop = threading.Event()
    collector = _collector(stop)

    @DBOS.workflow()
    def fan_out() -> str:
        DBOS.send_bulk([SendMessage("rx", "a"), SendMessage("rx", "b", idempotency_key="k")])
        DBOS.send_bulk([SendMessage("rx", "c")])
        return "sent"

    launch()
    with SetWorkflowID("rx"):
        rx = DBOS.start_workflow(collector, None)
    with SetWorkflowID("fan"):
        assert DBOS.start_workflow(fan_out).get_result() == "sent"
    names = [s.function_name for s in dbos_storage.load_steps("fan")]
    assert names == ["DBOS.send_bulk", "DBOS.send_bulk"]
    # A fork replaying both operations sends nothing again.
    assert DBOS.fork_workflow("fan", 3).get_result() == "sent"
    stop.set()
    assert rx.get_result() == ["a", "b", "c"]


def test_send_bulk_from_a_step_commits_with_the_step(launch: Launch) -> None:
    stop = threading.Event()
    collector = _collector(stop)
    attempts: list[int] = []

    @DBOS.step(retries_allowed=True, max_attempts=3, interval_seconds=0)
    def send_in_step() -> None:
        DBOS.send_bulk([SendMessage("rx", len(attempts), idempotency_key=f"k{len(attempts)}")])
        attempts.append(1)
        if len(attempts) < 2:
            raise RuntimeError("first attempt fails")

    @DBOS.workflow()
    def stepper() -> None:
        send_in_step()

    launch()
    with SetWorkflowID("rx"):
        rx = DBOS.start_workflow(collector, None)
    DBOS.start_workflow(stepper).get_result()
    stop.set()
    assert rx.get_result() == [1]  # only the attempt that succeeded sent


def test_the_bulk_messages_example_runs(dbos_system_database_url: str) -> None:
    """examples/bulk_messages.py, in its own process, on the test's backend."""
    example = Path(__file__).resolve().parents[3] / "examples" / "bulk_messages.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "first courier: bo" in out
    booked = "'courier a booked', 'courier b booked', 'courier c booked'"
    assert f"inbox: [{booked}, 'order 7 is paid']" in out
    assert "bo's first stop: bo: leaving" in out
    assert "bo's route from 1: ['bo: arrived']" in out
    assert "ana's events: {'eta': 9}" in out
