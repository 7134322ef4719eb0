"""A claim of this process's queue worker is not dropped when a start of the same workflow ID
is deciding at that moment: a forked parent replaying its child's start (DBOS Transact's
`replacement_children` pattern: fork the child onto a queue, then fork the parent) put the
child in the engine's table of executions while its create ran, and a worker claiming the
child then found it there and let the claim go, leaving the child PENDING and unrun."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dbos import DBOS, Queue, SetWorkflowID, hookimpl
from dbos.plugins import plugin_manager
from dbos_client import DBOSClient

Launch = Callable[..., None]


class HoldNextCreate:
    """Runs `during` inside the next `create_workflow` storage call once armed."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.during: Callable[[], None] = lambda: None

    @hookimpl
    def dbos_storage_call(self, operation: str, attempt: int) -> None:
        if operation == "create_workflow" and self.armed.is_set():
            self.armed.clear()
            self.during()


@pytest.fixture
def hold_create() -> Iterator[HoldNextCreate]:
    plugin = HoldNextCreate()
    plugin_manager().register(plugin)
    try:
        yield plugin
    finally:
        plugin_manager().unregister(plugin)


def test_a_claim_made_while_a_replayed_child_start_decides_still_runs(
    launch: Launch, hold_create: HoldNextCreate, dbos_system_database_url: str
) -> None:
    gate = Queue("replayed-child-gate", concurrency=1, polling_interval_sec=0.05)
    release_gate = threading.Event()
    claimed_during_create: list[str] = []

    @DBOS.workflow()
    def blocker() -> None:
        release_gate.wait(30)

    @DBOS.workflow()
    def child(x: int) -> int:
        return x * 3

    @DBOS.workflow()
    def parent(x: int) -> int:
        return DBOS.start_workflow(child, x).get_result() + 1

    launch()
    with SetWorkflowID("rc-parent"):
        assert parent(2) == 7
    old_child = DBOS.list_workflow_steps("rc-parent")[0]["child_workflow_id"]
    assert old_child is not None
    gate.enqueue(blocker)  # holds the gate: the forked child waits ENQUEUED behind it
    with SetWorkflowID("rc-child-2"):
        new_child = DBOS.fork_workflow(old_child, 1, queue_name=gate.name)

    # Read through a client: inside the parent's body, DBOS.get_workflow_status would be one
    # of the parent's recorded operations (as in DBOS Transact 3.4).
    watcher = DBOSClient(dbos_system_database_url)

    def open_gate_and_wait_for_the_claim() -> None:
        # Inside the forked parent's replayed start of the child: the worker claims it now.
        release_gate.set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = watcher.get_workflow_status("rc-child-2")
            if status is not None and status.status != "ENQUEUED":
                claimed_during_create.append(status.status)
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the worker prepares the claimed task right after its claim

    hold_create.during = open_gate_and_wait_for_the_claim
    hold_create.armed.set()
    try:
        with SetWorkflowID("rc-parent-2"):
            fork = DBOS.fork_workflow(
                "rc-parent", 2, replacement_children={old_child: "rc-child-2"}
            )
        assert fork.get_result(timeout_seconds=30) == 7
    finally:
        watcher.destroy()
    assert new_child.get_result(timeout_seconds=30) == 6
    assert claimed_during_create == ["PENDING"]  # the race this test is about did happen
    status = DBOS.get_workflow_status("rc-child-2")
    assert status is not None and status.status == "SUCCESS"
