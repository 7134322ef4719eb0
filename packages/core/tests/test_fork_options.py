"""DBOS Transact 3.4's `fork_workflow` keywords, in a launched app on every backend: the queue
and partition a fork waits on, its own timeout, the children its replay addresses
(``replacement_children``), and ``shard_key`` (accepted only as None)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSWorkflowCancelledError,
    Queue,
    SetWorkflowID,
)

Launch = Callable[..., None]


def _adder() -> Callable[[int], int]:
    """A one-step workflow returning x + 1 (declared before the launch)."""

    @DBOS.step()
    def add_one(x: int) -> int:
        return x + 1

    @DBOS.workflow()
    def adder(x: int) -> int:
        return add_one(x)

    return adder


def test_fork_on_a_queue_with_a_partition_key(launch: Launch) -> None:
    adder = _adder()
    Queue("fork-q")
    Queue("parts", partition_queue=True)
    launch()
    with SetWorkflowID("original"):
        assert adder(2) == 3

    plain = DBOS.fork_workflow("original", 1, queue_name="fork-q")
    assert plain.get_result(timeout_seconds=30) == 3
    status = plain.get_status()
    assert (status.queue_name, status.queue_partition_key) == ("fork-q", None)

    parted = DBOS.fork_workflow("original", 1, queue_name="parts", queue_partition_key="t-1")
    assert parted.get_result(timeout_seconds=30) == 3
    status = parted.get_status()
    assert (status.queue_name, status.queue_partition_key) == ("parts", "t-1")
    assert status.forked_from == "original"

    # A partition key is checked as an enqueue checks it; nothing is written when refused.
    before = len(DBOS.list_workflows())
    with pytest.raises(DBOSException, match=r"queue 'parts' is partitioned"):
        DBOS.fork_workflow("original", 1, queue_name="parts")
    with pytest.raises(DBOSException, match=r"'fork-q' was not declared with partition_queue"):
        DBOS.fork_workflow("original", 1, queue_name="fork-q", queue_partition_key="t-1")
    with pytest.raises(DBOSException, match=r"queue_partition_key needs a partitioned queue"):
        DBOS.fork_workflow("original", 1, queue_partition_key="t-1")
    for blank in ("", "  "):
        with pytest.raises(DBOSException, match=r"the fork's queue_name must be a non-empty"):
            DBOS.fork_workflow("original", 1, queue_name=blank)
        with pytest.raises(DBOSException, match=r"queue_partition_key must be a non-empty"):
            DBOS.fork_workflow("original", 1, queue_name="parts", queue_partition_key=blank)
    assert len(DBOS.list_workflows()) == before


def test_fork_on_an_undeclared_queue_waits_there_with_a_warning(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    adder = _adder()
    launch()
    with SetWorkflowID("original"):
        adder(2)
    # As DBOS Transact 3.4 does, any name is accepted; ours warns that nothing works on it.
    with caplog.at_level(logging.WARNING, logger="dbos"):
        fork = DBOS.fork_workflow("original", 1, queue_name="nobody-declares-this")
    assert any(
        "'nobody-declares-this' is not declared" in record.getMessage()
        and "fork of workflow 'original'" in record.getMessage()
        for record in caplog.records
    )
    status = fork.get_status()
    assert (status.status, status.queue_name) == ("ENQUEUED", "nobody-declares-this")


def test_fork_with_a_timeout(launch: Launch) -> None:
    gate = threading.Event()

    @DBOS.step()
    def wait_for_gate(x: int) -> int:
        gate.wait(30)
        return x

    @DBOS.workflow()
    def gated(x: int) -> int:
        DBOS.sleep(0)
        return wait_for_gate(x)

    launch()
    gate.set()
    with SetWorkflowID("original"):
        assert gated(4) == 4
    roomy = DBOS.fork_workflow("original", 1, timeout_seconds=600)
    assert roomy.get_result(timeout_seconds=30) == 4
    status = roomy.get_status()
    assert status.workflow_timeout_ms == 600_000
    # Counted from the fork's creation, as for an enqueue with a timeout (ours).
    assert status.workflow_deadline_epoch_ms == status.created_at + 600_000
    # Without a timeout the fork has none (the original's is not inherited).
    untimed = DBOS.fork_workflow("original", 1)
    assert untimed.get_result(timeout_seconds=30) == 4
    assert untimed.get_status().workflow_timeout_ms is None
    assert untimed.get_status().workflow_deadline_epoch_ms is None

    # A fork that outlives its timeout is cancelled, as any workflow past its deadline.
    gate.clear()
    tight = DBOS.fork_workflow("original", 2, timeout_seconds=0.2)
    deadline = time.monotonic() + 30
    while tight.get_status().status != "CANCELLED" and time.monotonic() < deadline:
        time.sleep(0.05)  # the sweep cancels it while its step waits at the gate
    assert tight.get_status().status == "CANCELLED"
    gate.set()  # the step ends; the execution stops at its next boundary
    with pytest.raises(DBOSWorkflowCancelledError):
        tight.get_result(timeout_seconds=30)
    assert tight.get_status().status == "CANCELLED"

    for bad in (0, -1, float("nan"), float("inf"), True, "5"):
        with pytest.raises(DBOSException, match=r"fork timeout_seconds must be a number"):
            DBOS.fork_workflow("original", 1, timeout_seconds=bad)  # type: ignore[arg-type]


def test_fork_with_replacement_children(launch: Launch) -> None:
    runs: list[int] = []

    @DBOS.step()
    def count() -> int:
        runs.append(1)
        return len(runs)

    @DBOS.workflow()
    def child() -> int:
        return count()

    @DBOS.workflow()
    def parent() -> int:
        handle = DBOS.start_workflow(child)  # step 1 starts the child
        return handle.get_result() * 10  # step 2 awaits it

    launch()
    with SetWorkflowID("parent"):
        assert parent() == 10
    old_child = DBOS.list_workflow_steps("parent")[0]["child_workflow_id"]
    assert old_child is not None
    # The child is forked first; the parent's fork then addresses the new child (3.4's use).
    with SetWorkflowID("new-child"):
        assert DBOS.fork_workflow(old_child, 1).get_result(timeout_seconds=30) == 2
    fork = DBOS.fork_workflow("parent", 2, replacement_children={old_child: "new-child"})
    assert fork.get_result(timeout_seconds=30) == 20
    steps = DBOS.list_workflow_steps(fork.workflow_id)
    assert [s["child_workflow_id"] for s in steps] == ["new-child", "new-child"]
    assert runs == [1, 1]  # no child ran again for the parent's fork
    # Without a replacement the fork awaits the old child.
    assert DBOS.fork_workflow("parent", 2).get_result(timeout_seconds=30) == 10
    # A copied await keeps its recorded result: only the child ID changes.
    late = DBOS.fork_workflow("parent", 3, replacement_children={old_child: "new-child"})
    assert late.get_result(timeout_seconds=30) == 10
    assert DBOS.list_workflow_steps(late.workflow_id)[1]["child_workflow_id"] == "new-child"

    for bad, message in (
        (["x"], r"replacement_children must be a dict"),
        ({"": "x"}, r"replacement_children key"),
        ({old_child: 5}, r"replacement_children value"),
    ):
        with pytest.raises(DBOSException, match=message):
            DBOS.fork_workflow("parent", 2, replacement_children=bad)  # type: ignore[arg-type]


def test_fork_shard_key_is_accepted_only_as_none(launch: Launch) -> None:
    adder = _adder()
    launch()
    with SetWorkflowID("original"):
        adder(2)
    with pytest.raises(DBOSException, match=r"shard_key is not supported"):
        DBOS.fork_workflow("original", 1, shard_key="shard-1")
    assert DBOS.fork_workflow("original", 1, shard_key=None).get_result(timeout_seconds=30) == 3


def test_fork_workflow_async_takes_the_options(launch: Launch) -> None:
    adder = _adder()
    Queue("async-forks")
    launch()
    with SetWorkflowID("original"):
        adder(2)

    async def fork() -> tuple[int, str | None, int | None]:
        handle = await DBOS.fork_workflow_async(
            "original", 1, queue_name="async-forks", timeout_seconds=300
        )
        result = await handle.get_result(timeout_seconds=30)
        status = await handle.get_status()
        return result, status.queue_name, status.workflow_timeout_ms

    assert asyncio.run(fork()) == (3, "async-forks", 300_000)
    with pytest.raises(DBOSException, match=r"shard_key is not supported"):
        asyncio.run(DBOS.fork_workflow_async("original", 1, shard_key="s"))
