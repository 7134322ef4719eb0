"""Moving workflows in time (issue 13, item 5): `DBOS.rewind_workflow` and
`DBOS.set_workflow_delay` (+ async), inside the app, on every backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowID,
)

Launch = Callable[..., None]


class Outage(Exception):
    pass


def test_rewind_reruns_the_steps_from_start_step_in_place(launch: Launch) -> None:
    runs: Counter[str] = Counter()
    outage = {"on": True}

    @DBOS.step()
    def one(x: int) -> int:
        runs["one"] += 1
        return x + 1

    @DBOS.step()
    def two(x: int) -> int:
        runs["two"] += 1
        if outage["on"]:
            raise Outage("down")
        return x * 10

    @DBOS.workflow()
    def job(x: int) -> int:
        a = one(x)  # step 1
        DBOS.set_event("progress", "one")  # step 2
        b = two(a)  # step 3
        DBOS.set_event("progress", "two")  # step 4
        return b

    launch()
    with SetWorkflowID("job"), pytest.raises(Outage):
        job(1)
    assert DBOS.get_event("job", "progress", timeout_seconds=0) == "one"
    outage["on"] = False
    handle = DBOS.rewind_workflow("job", start_step=3)
    assert handle.workflow_id == "job"
    assert handle.get_result(timeout_seconds=30) == 20
    assert runs == Counter(one=1, two=2)
    assert [s["function_id"] for s in DBOS.list_workflow_steps("job")] == [1, 2, 3, 4]
    assert DBOS.get_event("job", "progress", timeout_seconds=0) == "two"
    status = DBOS.get_workflow_status("job")
    assert status is not None and status.status == "SUCCESS"
    # Rewind a successful workflow to its start (the default): every step runs again; the
    # event the discarded run set is gone until the new run sets it again.
    handle = DBOS.rewind_workflow("job")
    assert handle.get_result(timeout_seconds=30) == 20
    assert runs == Counter(one=2, two=3)


def test_rewind_refuses_unfinished_and_unknown_workflows(launch: Launch) -> None:
    gate = threading.Event()

    @DBOS.step()
    def wait_gate() -> None:
        assert gate.wait(30)

    @DBOS.workflow()
    def blocked() -> str:
        wait_gate()
        return "done"

    launch()
    with SetWorkflowID("running"):
        handle = DBOS.start_workflow(blocked)
    try:
        with pytest.raises(DBOSException, match="terminal state"):
            DBOS.rewind_workflow("running")
    finally:
        gate.set()
    assert handle.get_result(timeout_seconds=30) == "done"
    with pytest.raises(DBOSNonExistentWorkflowError):
        DBOS.rewind_workflow("ghost")
    for bad in (-1, 1.5, "0", True):
        # The message says step IDs count from 1 (0 only for an old workflow's first step).
        with pytest.raises(DBOSException, match=r"start_step must be .*counted from 1 \(0 only"):
            DBOS.rewind_workflow("running", start_step=bad)  # type: ignore[arg-type]
    # Nothing happened to it: it is still finished, once.
    status = DBOS.get_workflow_status("running")
    assert status is not None and status.status == "SUCCESS"


def test_rewind_discards_messages_consumed_from_the_cut_and_waiting_ones(
    launch: Launch,
) -> None:
    @DBOS.workflow()
    def inbox() -> list[object]:
        first = DBOS.recv("t", timeout_seconds=30)  # steps 0 and 1 (the wait's wake-up)
        second = DBOS.recv("t", timeout_seconds=30)  # steps 2 and 3
        return [first, second]

    launch()
    with SetWorkflowID("inbox"):
        handle = DBOS.start_workflow(inbox)
    DBOS.send("inbox", "a", "t")
    DBOS.send("inbox", "b", "t")
    assert handle.get_result(timeout_seconds=30) == ["a", "b"]
    DBOS.send("inbox", "late", "t")  # never consumed: a rewind deletes it (DBOS 3.4)
    steps = DBOS.list_workflow_steps("inbox")
    second_recv = next(s["function_id"] for s in steps if s["output"] == "b")
    rewound = DBOS.rewind_workflow("inbox", start_step=second_recv)
    # "a" replays from its step; "b" went with its step and "late" was deleted: the new run
    # waits for a new message.
    assert rewound.get_status().status in ("ENQUEUED", "PENDING")
    DBOS.send("inbox", "c", "t")
    assert rewound.get_result(timeout_seconds=30) == ["a", "c"]


def test_rewind_onto_a_queue_and_async_form(launch: Launch) -> None:
    queue = Queue("rewinds")
    runs: Counter[str] = Counter()

    @DBOS.workflow()
    async def job() -> int:
        runs["job"] += 1
        return runs["job"]

    launch()
    with SetWorkflowID("async-job"):
        assert asyncio.run(job()) == 1

    async def rewind() -> int:
        handle = await DBOS.rewind_workflow_async("async-job", queue_name=queue.name)
        assert handle.workflow_id == "async-job"
        result: int = await handle.get_result(timeout_seconds=30)
        return result

    assert asyncio.run(rewind()) == 2
    status = DBOS.get_workflow_status("async-job")
    assert status is not None and status.queue_name == "rewinds"


def test_rewind_onto_a_queue_keeps_the_steps_before_start_step(launch: Launch) -> None:
    """A rewound task claimed from a user queue replays its recorded steps: it ran before,
    so the claim must not treat it as new (it once did, and ran step 1 again)."""
    queue = Queue("rewinds-mid")
    runs: Counter[str] = Counter()

    @DBOS.step()
    def first() -> str:
        runs["first"] += 1
        return f"first-{runs['first']}"

    @DBOS.step()
    def second() -> str:
        runs["second"] += 1
        return f"second-{runs['second']}"

    @DBOS.workflow()
    def job() -> tuple[str, str]:
        return first(), second()

    launch()
    with SetWorkflowID("two-steps"):
        assert job() == ("first-1", "second-1")
    handle = DBOS.rewind_workflow("two-steps", start_step=2, queue_name=queue.name)
    assert handle.get_result(timeout_seconds=30) == ("first-1", "second-2")
    assert runs == Counter(first=1, second=2)
    status = DBOS.get_workflow_status("two-steps")
    assert status is not None and status.queue_name == "rewinds-mid"


def test_set_workflow_delay_moves_a_delayed_task(launch: Launch) -> None:
    queue = Queue("later")

    @DBOS.workflow()
    def task(x: int) -> int:
        return x

    launch()
    with SetWorkflowID("far"), SetEnqueueOptions(delay_seconds=3600):
        far = queue.enqueue(task, 1)
    with SetWorkflowID("near"), SetEnqueueOptions(delay_seconds=3600):
        near = queue.enqueue(task, 2)
    time.sleep(0.5)
    assert far.get_status().status == "ENQUEUED"
    # Bring one forward (absolute time in the past: at once), the other stays far away.
    assert DBOS.set_workflow_delay("near", delay_until_epoch_ms=0)
    assert near.get_result(timeout_seconds=30) == 2
    assert far.get_status().status == "ENQUEUED"
    # A started or finished workflow is no longer delayed: nothing changes (DBOS 3.4).
    assert not DBOS.set_workflow_delay("near", delay_seconds=10)
    assert not DBOS.set_workflow_delay("ghost", delay_seconds=10)
    assert asyncio.run(DBOS.set_workflow_delay_async("far", delay_seconds=0))
    assert far.get_result(timeout_seconds=30) == 1


def test_set_workflow_delay_checks_its_arguments(launch: Launch) -> None:
    launch()
    with pytest.raises(DBOSException, match="exactly one"):
        DBOS.set_workflow_delay("x")
    with pytest.raises(DBOSException, match="exactly one"):
        DBOS.set_workflow_delay("x", delay_seconds=1, delay_until_epoch_ms=1)
    for bad in (-1, float("nan"), "1", True):
        with pytest.raises(DBOSException, match="delay_seconds"):
            DBOS.set_workflow_delay("x", delay_seconds=bad)  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="delay_until_epoch_ms"):
        DBOS.set_workflow_delay("x", delay_until_epoch_ms=-5)


def test_rewind_of_a_cancelled_workflow_waits_until_its_execution_stops(launch: Launch) -> None:
    """A cancelled workflow's execution runs on to its next step boundary: until it stops,
    a rewind is refused, so the rewound run never overlaps a step of the old one."""
    entered = threading.Event()
    gate = threading.Event()
    runs: Counter[str] = Counter()

    @DBOS.step()
    def slow() -> None:
        runs["slow"] += 1
        if runs["slow"] == 1:
            entered.set()
            assert gate.wait(30)

    @DBOS.step()
    def after() -> None:
        runs["after"] += 1

    @DBOS.workflow()
    def job() -> str:
        slow()
        after()
        return "done"

    launch()
    with SetWorkflowID("cancelled"):
        handle = DBOS.start_workflow(job)
    assert entered.wait(30)
    DBOS.cancel_workflow("cancelled")
    with pytest.raises(DBOSException, match="not reached a step boundary"):
        DBOS.rewind_workflow("cancelled")
    gate.set()
    with pytest.raises(Exception, match="cancelled"):
        handle.get_result(timeout_seconds=30)
    # Stopped now (its owner gave the row up): the rewind goes through, and runs it whole.
    deadline = time.monotonic() + 30
    while True:
        try:
            rewound = DBOS.rewind_workflow("cancelled")
            break
        except DBOSException:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert rewound.get_result(timeout_seconds=30) == "done"
    assert runs == Counter(slow=2, after=1)


def test_the_example_runs(dbos_system_database_url: str) -> None:
    """examples/time_travel.py: debounce, rewind, delay, and a cancelled tree resumed onto a
    queue, end to end in a subprocess."""
    example = Path(__file__).resolve().parents[3] / "examples" / "time_travel.py"
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
    assert "debounce: 1 workflow for 3 edits" in out
    assert "debounce: doc-7 indexed with 'Hello'" in out
    assert "rewind: rendered 1x, delivered 2x" in out
    assert "delay: moved=True, reminded ada" in out
    assert "cancel: children ['CANCELLED', 'CANCELLED']" in out
    assert "resume: reminded ada on reminders" in out
