"""Operations an async workflow runs concurrently (`asyncio.gather`, tasks it creates) are each
recorded under their own step ID, in the order they start, and replay whatever order they
finish in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dbos import DBOS, SetWorkflowID
from dbos_testing import CrashPlan, SimulatedCrash

#: Per step name, how long its body sleeps in the current "run" (changed between runs, so
#: the first run and the recovery finish the steps in different orders).
DELAYS: dict[str, float] = {}


@DBOS.step()
async def fetch(name: str) -> str:
    await asyncio.sleep(DELAYS.get(name, 0.0))
    return f"fetched {name}"


@DBOS.workflow()
async def fan_out() -> list[str]:
    return list(await asyncio.gather(fetch("a"), fetch("b"), fetch("c")))


@DBOS.workflow()
async def child(value: int) -> int:
    return value * 10


@DBOS.workflow()
async def mixed_operations() -> list[Any]:
    """A step, a durable sleep, a send, a child workflow and a stream write, all at once."""
    workflow_id = DBOS.workflow_id
    assert workflow_id is not None
    results = await asyncio.gather(
        fetch("a"),
        DBOS.sleep_async(0.05),
        DBOS.send_async(workflow_id, "note", "self"),
        DBOS.start_workflow_async(child, 4),
        DBOS.write_stream_async("out", "chunk"),
    )
    handle = results[3]
    received = await DBOS.recv_async("self", timeout_seconds=5)
    return [results[0], await handle.get_result(), received]


def _step_names(workflow_id: str) -> list[tuple[int, str]]:
    return [(s["function_id"], s["function_name"]) for s in DBOS.list_workflow_steps(workflow_id)]


def test_gathered_steps_each_get_a_checkpoint_in_call_order(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    DELAYS.update(a=0.2, b=0.1, c=0.0)  # finish in the reverse of call order
    with SetWorkflowID("gather-1"):
        assert asyncio.run(fan_out()) == ["fetched a", "fetched b", "fetched c"]
    steps = DBOS.list_workflow_steps("gather-1")
    assert [s["function_id"] for s in steps] == [1, 2, 3]
    assert [s["output"] for s in steps] == ["fetched a", "fetched b", "fetched c"]
    assert all(s["function_name"].endswith("fetch") for s in steps)
    assert dbos_crash.ran("fetch") == 3


def test_gathered_steps_replay_after_a_crash_whatever_order_they_finish_in(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    # First run: c and b finish (and are checkpointed) first; a, the slowest, crashes before
    # its checkpoint. The recovery finishes them in call order instead.
    DELAYS.update(a=0.3, b=0.1, c=0.0)
    dbos_crash.before_checkpoint(1, workflow_id="gather-2")
    with SetWorkflowID("gather-2"), pytest.raises(SimulatedCrash):
        asyncio.run(fan_out())
    assert [fid for fid, _ in _step_names("gather-2")] == [2, 3]

    DELAYS.update(a=0.0, b=0.1, c=0.2)
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == ["fetched a", "fetched b", "fetched c"]
    assert dbos_crash.ran("fetch", "gather-2") == 4  # a twice (crashed unrecorded), b and c once
    assert [fid for fid, _ in _step_names("gather-2")] == [1, 2, 3]


def test_concurrent_sleep_send_child_and_stream_write_are_each_recorded(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    DELAYS.update(a=0.1)
    # recv is operation 6 (after the five gathered ones; its timeout is 7): crash once it is
    # recorded, when every gathered operation has run, and recover.
    dbos_crash.after_checkpoint(6, workflow_id="mixed-1")
    with SetWorkflowID("mixed-1"), pytest.raises(SimulatedCrash):
        asyncio.run(mixed_operations())
    first = _step_names("mixed-1")
    names = [name for _, name in first]
    assert [fid for fid, _ in first] == list(range(1, len(names) + 1))
    assert names[0].endswith("fetch")
    assert names[1:3] == ["DBOS.sleep", "DBOS.send"]
    assert names[3].endswith("child")
    assert names[4:6] == ["DBOS.writeStream", "DBOS.recv"]

    DELAYS.update(a=0.0)
    handles = {h.workflow_id: h for h in DBOS.recover_pending_workflows()}
    assert handles["mixed-1"].get_result() == ["fetched a", 40, "note"]
    assert dbos_crash.ran("fetch", "mixed-1") == 1
    assert list(DBOS.read_stream("mixed-1", "out")) == ["chunk"]
    assert _step_names("mixed-1")[: len(first)] == first
