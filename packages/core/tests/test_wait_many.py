"""Waiting on many: `DBOS.wait_first` (+ `_async`, and on `DBOSClient`) and
`DBOS.asyncio_wait`, as in DBOS Transact 3.4. Inside a workflow each is a recorded operation,
so a replay (here: a fork past it) gets the same choice (the SIGKILL test is in
test_crashes.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, DBOSException, SetWorkflowID, SystemStorage
from dbos_client import DBOSClient

Launch = Callable[..., None]
LONG_S = 60


def _gated_workflows() -> tuple[Any, dict[str, threading.Event]]:
    gates = {name: threading.Event() for name in ("a", "b", "c")}

    @DBOS.workflow()
    def gated(name: str) -> str:
        assert gates[name].wait(LONG_S)
        return f"done-{name}"

    return gated, gates


def test_wait_first_returns_the_handle_of_the_first_to_finish(
    launch: Launch, dbos_system_database_url: str
) -> None:
    gated, gates = _gated_workflows()
    launch()
    try:
        handles = []
        for name in ("a", "b", "c"):
            with SetWorkflowID(f"wf-{name}"):
                handles.append(DBOS.start_workflow(gated, name))
        gates["b"].set()
        chosen = DBOS.wait_first(handles)
        assert chosen is handles[1]
        assert chosen.get_result() == "done-b"
        # A DBOSClient waits through storage alone.
        client = DBOSClient(dbos_system_database_url)
        try:
            client_handles = [client.retrieve_workflow(f"wf-{n}") for n in ("a", "c", "b")]
            assert client.wait_first(client_handles, polling_interval_sec=0.05) is client_handles[2]
        finally:
            client.destroy()
    finally:
        for gate in gates.values():
            gate.set()


def test_wait_first_refuses_bad_handles(launch: Launch) -> None:
    gated, gates = _gated_workflows()
    launch()
    gates["a"].set()
    handle = DBOS.start_workflow(gated, "a")
    with pytest.raises(ValueError, match="empty"):
        DBOS.wait_first([])
    with pytest.raises(ValueError, match="duplicate"):
        DBOS.wait_first([handle, handle])
    with pytest.raises(DBOSException, match="polling_interval_sec"):
        DBOS.wait_first([handle], polling_interval_sec=0)


def test_wait_first_in_a_workflow_is_recorded_and_replayed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    gated, gates = _gated_workflows()
    after = threading.Event()

    @DBOS.step()
    def marker() -> None:
        after.set()

    @DBOS.workflow()
    def waiter() -> str:
        with SetWorkflowID("child-a"):
            a = DBOS.start_workflow(gated, "a")
        with SetWorkflowID("child-b"):
            b = DBOS.start_workflow(gated, "b")
        chosen = DBOS.wait_first([a, b])
        marker()
        return str(chosen.get_result())

    launch()
    try:
        gates["b"].set()
        with SetWorkflowID("waiter"):
            assert DBOS.start_workflow(waiter).get_result() == "done-b"
        gates["a"].set()
        assert DBOS.retrieve_workflow("child-a").get_result() == "done-a"
        steps = {s.function_id: s for s in dbos_storage.load_steps("waiter")}
        assert steps[3].function_name == "DBOS.waitFirst" and steps[3].output == '"child-b"'
        # A fork that replays the choice (now both children are done, a created first) gets b.
        fork = DBOS.fork_workflow("waiter", 4)
        assert fork.get_result() == "done-b"
    finally:
        for gate in gates.values():
            gate.set()


def test_wait_first_async(launch: Launch) -> None:
    gated, gates = _gated_workflows()

    @DBOS.workflow()
    async def waiter() -> str:
        a = await DBOS.start_workflow_async(gated, "a")
        b = await DBOS.start_workflow_async(gated, "b")
        chosen = await DBOS.wait_first_async([a, b], polling_interval_sec=0.1)
        return str(await chosen.get_result())

    launch()
    try:
        gates["a"].set()
        assert asyncio.run(_run_async(waiter)) == "done-a"
    finally:
        for gate in gates.values():
            gate.set()


async def _run_async(workflow: Any) -> Any:
    handle = await DBOS.start_workflow_async(workflow)
    return await handle.get_result()


def test_asyncio_wait_records_which_were_done(launch: Launch, dbos_storage: SystemStorage) -> None:
    release = threading.Event()

    @DBOS.step()
    async def quick() -> str:
        return "quick"

    @DBOS.step()
    async def slow() -> str:
        await asyncio.to_thread(release.wait, LONG_S)
        return "slow"

    @DBOS.workflow()
    async def racer() -> list[str]:
        done, pending = await DBOS.asyncio_wait(
            [slow(), quick()], return_when=asyncio.FIRST_COMPLETED
        )
        names = sorted(task.result() for task in done)
        release.set()
        for task in pending:
            await task
        return names

    launch()
    with SetWorkflowID("racer"):
        assert asyncio.run(_run_async(racer)) == ["quick"]
    waits = [s for s in dbos_storage.load_steps("racer") if s.function_name == "DBOS.asyncio_wait"]
    assert [s.output for s in waits] == ["[1]"]
    # Outside a workflow it is plain asyncio.wait.

    async def outside() -> int:
        done, pending = await DBOS.asyncio_wait([asyncio.sleep(0, "x")])
        return len(done) + 10 * len(pending)

    assert asyncio.run(outside()) == 1
