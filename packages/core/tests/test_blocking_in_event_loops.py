"""Sync `DBOS` calls made from async code (a user's trial): a sync `start_workflow` of an
async workflow runs it on the engine's own loop, so waiting for it from a coroutine returns
instead of holding the loop the body needs forever; a wait made in a coroutine is refused
with `RuntimeError` naming its async form, as DBOS Transact 3.4 refuses it (3.4 refuses
every blocking call on a running loop; ours only the waits, in a task); a `DBOSClient`'s
calls are not checked (as in 3.4)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import DBOS
from dbos_client import DBOSClient

Launch = Callable[..., None]


def test_a_sync_start_from_a_coroutine_runs_the_async_body_off_the_callers_loop(
    launch: Launch,
) -> None:
    @DBOS.workflow()
    async def times_ten(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * 10

    launch()

    async def main() -> tuple[int, object]:
        handle = DBOS.start_workflow(times_ten, 7)
        # A blocking wait on the caller's loop: it deadlocked when the body ran on that loop.
        return handle.get_result(), handle.get_status().status

    assert asyncio.run(asyncio.wait_for(main(), timeout=30)) == (70, "SUCCESS")

    async def forgotten() -> str:
        return DBOS.start_workflow(times_ten, 1).workflow_id  # returns without waiting

    workflow_id = asyncio.run(forgotten())  # that loop is closed now; the body ran elsewhere
    assert DBOS.retrieve_workflow(workflow_id).get_result() == 10


def test_an_awaited_start_still_runs_on_the_callers_loop(launch: Launch) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @DBOS.workflow()
    async def where() -> str:
        loops.append(asyncio.get_running_loop())
        return "ran"

    launch()

    async def main() -> str:
        handle = await DBOS.start_workflow_async(where)
        result: str = await handle.get_result()
        assert loops == [asyncio.get_running_loop()]
        return result

    assert asyncio.run(main()) == "ran"


@pytest.fixture
def finished(launch: Launch) -> str:
    """The ID of a workflow that has finished (its result is stored)."""

    @DBOS.workflow()
    def done() -> str:
        return "done"

    launch()
    workflow_id = DBOS.start_workflow(done).workflow_id
    DBOS.get_result(workflow_id)
    return workflow_id


@pytest.mark.parametrize(
    ("call", "waiting"),
    [
        ("sleep", lambda wid: DBOS.sleep(0.01)),
        ("get_event", lambda wid: DBOS.get_event(wid, "k", timeout_seconds=0.1)),
        ("get_result", DBOS.get_result),
        ("wait_first", lambda wid: DBOS.wait_first([DBOS.retrieve_workflow(wid)])),
        ("read_stream", lambda wid: list(DBOS.read_stream(wid, "s", timeout_seconds=0.1))),
    ],
)
def test_waits_in_a_coroutine_are_refused_naming_the_async_form(
    finished: str, call: str, waiting: Callable[[str], object]
) -> None:
    workflow_id = finished

    async def main() -> None:
        waiting(workflow_id)

    with pytest.raises(RuntimeError, match=rf"DBOS\.{call}\(\) waits.*await DBOS\.{call}_async"):
        asyncio.run(main())
    waiting(workflow_id)  # outside async code: fine


def test_short_calls_in_a_coroutine_and_waits_outside_a_task_are_allowed(finished: str) -> None:
    """Ours (DBOS Transact 3.4 refuses them on any running loop): a short database call in a
    coroutine, and a wait made where a loop runs but no task does (Playwright's sync API, a
    callback the loop calls), block the loop briefly and are allowed."""
    workflow_id = finished

    async def main() -> tuple[object, ...]:
        listed = [w.workflow_id for w in DBOS.list_workflows(workflow_ids=[workflow_id])]
        status = DBOS.get_workflow_status(workflow_id)
        from_callback: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        def callback() -> None:  # runs on the loop, outside any task
            from_callback.set_result(DBOS.get_result(workflow_id))

        asyncio.get_running_loop().call_soon(callback)
        return listed, status.status if status else None, await from_callback

    assert asyncio.run(main()) == ([workflow_id], "SUCCESS", "done")


def test_a_sync_call_in_an_async_workflow_fails_that_workflow_loudly(launch: Launch) -> None:
    @DBOS.workflow()
    async def napper() -> str:
        DBOS.sleep(0.01)  # the mistake: sleep_async is the one for async code
        return "napped"

    launch()

    async def main() -> object:
        return await (await DBOS.start_workflow_async(napper)).get_result()

    with pytest.raises(RuntimeError, match=r"await DBOS\.sleep_async"):
        asyncio.run(main())


def test_a_blocking_wait_on_the_loop_that_runs_the_awaited_body_is_refused(
    launch: Launch,
) -> None:
    """A handle's sync `get_result` is not refused in a coroutine as such (the body may run
    elsewhere: see the first test), but it hung forever when the awaited async body runs on
    the very loop that waits (a user's trial): it is refused, and the workflow still ends."""
    gate: list[asyncio.Event] = []

    @DBOS.workflow()
    async def slow() -> str:
        await gate[0].wait()
        return "slow"

    @DBOS.workflow()
    async def parent() -> str:
        child = DBOS.start_workflow(slow)  # on the engine's loop, which runs `parent` too
        result: str = child.get_result()  # the mistake
        return result

    launch()

    async def main() -> str:
        gate.append(asyncio.Event())
        started = await DBOS.start_workflow_async(slow)  # its body runs on this loop
        handle = DBOS.retrieve_workflow(started.workflow_id)
        with pytest.raises(RuntimeError, match=r"could never end.*get_result_async"):
            handle.get_result()
        gate[0].set()
        result: str = await (await DBOS.retrieve_workflow_async(started.workflow_id)).get_result()
        return result

    assert asyncio.run(asyncio.wait_for(main(), timeout=30)) == "slow"
    gate.clear()
    gate.append(asyncio.Event())  # never set: `parent`'s child never ends by itself
    handle = DBOS.start_workflow(parent)
    with pytest.raises(RuntimeError, match="could never end"):
        handle.get_result(timeout_seconds=30)


def test_a_clients_calls_are_not_checked(launch: Launch, dbos_system_database_url: str) -> None:
    @DBOS.workflow()
    def done() -> str:
        return "done"

    launch()
    workflow_id = DBOS.start_workflow(done).workflow_id

    async def main() -> object:
        with DBOSClient(dbos_system_database_url) as client:
            return client.retrieve_workflow(workflow_id).get_result()

    assert asyncio.run(main()) == "done"
