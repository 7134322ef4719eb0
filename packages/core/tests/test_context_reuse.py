"""A context setting is refused while it is already active (as in DBOS Transact), and
`DBOS.destroy()` closes the async generators left suspended on DBOS's event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from dbos import DBOS, DBOSException, Queue, SetEnqueueOptions, SetWorkflowID, SetWorkflowTimeout

Launch = Callable[..., None]


@pytest.mark.parametrize(
    "make",
    [
        lambda: SetWorkflowID("reused"),
        lambda: SetWorkflowTimeout(5),
        lambda: SetEnqueueOptions(priority=1),
    ],
    ids=["SetWorkflowID", "SetWorkflowTimeout", "SetEnqueueOptions"],
)
def test_entering_an_active_setting_again_is_refused(
    make: Callable[[], SetWorkflowID | SetWorkflowTimeout | SetEnqueueOptions],
) -> None:
    setting = make()
    name = type(setting).__name__
    variable = setting._variable
    outside = variable.get()
    with setting:
        inside = variable.get()
        with pytest.raises(DBOSException, match=f"this {name} is already active"), setting:
            pass
        assert variable.get() == inside  # the refused entry changed nothing
    assert variable.get() == outside
    with setting:  # once exited, it may be used again
        pass

    async def in_async_code() -> None:
        async with setting:
            with pytest.raises(DBOSException, match="already active"):
                async with setting:
                    pass

    asyncio.run(in_async_code())


def test_an_id_set_by_a_refused_reentry_does_not_leak(launch: Launch) -> None:
    @DBOS.workflow()
    def which() -> str:
        return DBOS.workflow_id or ""

    launch()
    outer = SetWorkflowID("outer-id")
    with outer:
        with pytest.raises(DBOSException), outer:
            pass
        assert which() == "outer-id"
    assert which() != "outer-id"  # the setting is gone after its block


def test_destroy_closes_async_generators_suspended_on_the_engines_loop(launch: Launch) -> None:
    suspended, closed = threading.Event(), threading.Event()
    kept: list[AsyncIterator[int]] = []  # keeps the generator alive past its task

    async def numbers() -> AsyncIterator[int]:
        try:
            yield 1
            yield 2
        finally:
            closed.set()

    @DBOS.workflow()
    async def reader() -> None:
        generator = numbers()
        kept.append(generator)
        await generator.__anext__()
        suspended.set()
        await asyncio.sleep(60)

    launch()
    DBOS.start_workflow(reader)  # from sync code: it runs on DBOS's own event loop
    assert suspended.wait(10)
    assert not closed.is_set()
    DBOS.destroy()
    assert closed.is_set()


def test_destroy_closes_generators_of_queued_async_workflows(launch: Launch) -> None:
    suspended, closed = threading.Event(), threading.Event()
    kept: list[AsyncIterator[int]] = []
    queue = Queue("generators")

    async def numbers() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            closed.set()

    @DBOS.workflow()
    async def reader() -> None:
        generator = numbers()
        kept.append(generator)
        await generator.__anext__()
        suspended.set()
        await asyncio.sleep(60)

    launch()
    queue.enqueue(reader)
    assert suspended.wait(10)
    DBOS.destroy()
    assert closed.is_set()
