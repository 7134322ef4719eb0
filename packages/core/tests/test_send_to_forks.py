"""`send_to_forks=True` (DBOS Transact 3.4) on `send` and `send_bulk` (+ `_async`, `DBOS` and
`DBOSClient`): a message also goes to every workflow forked from its destination,
recursively, as they exist when it is sent; inside a workflow the send is one recorded
operation that a replay does not repeat (no second copy, and no copy for a fork made since)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    SendMessage,
    SetWorkflowID,
    WorkflowHandle,
)
from dbos_client import DBOSClient
from dbos_testing import CrashPlan, SimulatedCrash

Launch = Callable[..., None]


def _inbox(stop: threading.Event) -> Any:
    @DBOS.workflow()
    def inbox() -> list[Any]:
        got: list[Any] = []
        while True:
            # Read before the recv: a None then means nothing sent before `stop` is left
            # (checked after it, a message committed during the recv could be missed).
            stopping = stop.is_set()
            value = DBOS.recv("t", timeout_seconds=0.2)
            if value is not None:
                got.append(value)
            elif stopping:
                return got

    return inbox


def _family(inbox: Any) -> tuple[WorkflowHandle[Any], WorkflowHandle[Any], WorkflowHandle[Any]]:
    """orig, its fork f1, and f1's fork f2 (all waiting for messages)."""
    with SetWorkflowID("orig"):
        orig = DBOS.start_workflow(inbox)
    with SetWorkflowID("f1"):
        f1 = DBOS.fork_workflow("orig", 1)
    with SetWorkflowID("f2"):
        f2 = DBOS.fork_workflow("f1", 1)
    return orig, f1, f2


def test_send_to_forks_reaches_every_fork_recursively(
    launch: Launch, dbos_system_database_url: str
) -> None:
    stop = threading.Event()
    inbox = _inbox(stop)
    launch()
    orig, f1, f2 = _family(inbox)
    DBOS.send("orig", "all", "t", send_to_forks=True)
    DBOS.send("orig", "orig only", "t")
    DBOS.send("f1", "f1 down", "t", send_to_forks=True)
    asyncio.run(DBOS.send_async("orig", "async", "t", send_to_forks=True))
    # One key reaches each destination once, however often it is sent.
    for _ in range(2):
        DBOS.send("orig", "keyed", "t", idempotency_key="k1", send_to_forks=True)
    DBOS.send_bulk([SendMessage("f1", "bulk", "t")], send_to_forks=True)
    asyncio.run(DBOS.send_bulk_async([SendMessage("f2", "bulk f2", "t")], send_to_forks=True))
    with DBOSClient(dbos_system_database_url) as client:
        client.send("orig", "client", "t", send_to_forks=True)
        client.send_bulk([SendMessage("orig", "client bulk", "t")], send_to_forks=True)
        client.send("orig", "client orig only", "t")
    stop.set()
    common = ["async", "keyed"]
    clients = ["client", "client bulk"]
    assert orig.get_result() == ["all", "orig only", *common, *clients, "client orig only"]
    assert f1.get_result() == ["all", "f1 down", *common, "bulk", *clients]
    assert f2.get_result() == ["all", "f1 down", *common, "bulk", "bulk f2", *clients]


def test_send_to_forks_in_a_workflow_is_not_repeated_by_a_replay(
    launch: Launch, dbos_crash: CrashPlan
) -> None:
    stop = threading.Event()
    inbox = _inbox(stop)

    @DBOS.workflow()
    def sender() -> str:
        DBOS.send("orig", "one", "t", send_to_forks=True)
        DBOS.send_bulk([SendMessage("orig", "two", "t")], send_to_forks=True)
        return "sent"

    launch()
    orig, f1, f2 = _family(inbox)
    # The process "dies" right after the bulk send's checkpoint is durable.
    dbos_crash.after_checkpoint(2, workflow_id="sender")
    with SetWorkflowID("sender"), pytest.raises(SimulatedCrash):
        sender()
    with SetWorkflowID("f3"):
        f3 = DBOS.fork_workflow("orig", 1)  # made after the sends
    # The inboxes are PENDING too: one a fork just dispatched here may not have begun yet,
    # and a recovery then returns it as well (it runs once all the same).
    (recovered,) = [h for h in DBOS.recover_pending_workflows() if h.workflow_id == "sender"]
    assert recovered.get_result() == "sent"
    # A fork of the sender replaying both sends sends nothing again either.
    assert DBOS.fork_workflow("sender", 3).get_result() == "sent"
    stop.set()
    for handle in (orig, f1, f2):
        assert handle.get_result() == ["one", "two"]
    assert f3.get_result() == []


def test_send_to_forks_from_a_step_and_with_a_missing_destination(launch: Launch) -> None:
    stop = threading.Event()
    inbox = _inbox(stop)

    @DBOS.step()
    def notify() -> None:
        DBOS.send("orig", "from step", "t", send_to_forks=True)

    @DBOS.workflow()
    def stepper() -> None:
        notify()

    launch()
    orig, f1, f2 = _family(inbox)
    DBOS.start_workflow(stepper).get_result()
    with pytest.raises(DBOSException, match="send_to_forks must be True or False"):
        DBOS.send("orig", "x", "t", send_to_forks="yes")  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="send_to_forks must be True or False"):
        DBOS.send_bulk([SendMessage("orig", "x", "t")], send_to_forks=1)  # type: ignore[arg-type]
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.send("nobody", "x", "t", send_to_forks=True)
    stop.set()
    for handle in (orig, f1, f2):
        assert handle.get_result() == ["from step"]
