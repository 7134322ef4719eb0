"""A cancel ends a workflow's wait in progress (`recv`, `get_event`, `sleep`, a child's
result, `wait_first`, a stream read), sync and async, whether the cancel comes from this
process or from another one (a `DBOSClient`, with its own connections: on Postgres its
notification reaches the waiter; on SQLite the waiter finds it by polling). Before, the wait
ran to its timeout."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, DBOSWorkflowCancelledError, SetWorkflowID
from dbos_client import DBOSClient

Launch = Callable[..., None]

#: Far longer than any test here may take: a wait that is not interrupted fails the test.
LONG_S = 120
#: How long the body may take to leave its wait after the cancel (generous: a loaded machine).
LEAVES_WITHIN_S = 15


def _kinds() -> list[str]:
    return ["recv", "get_event", "sleep", "child", "wait_first", "read_stream"]


#: What the child workflow's step waits for (a workflow's arguments must be storable).
_GATE = threading.Event()


def _wait_in_workflow(kind: str) -> Any:
    if kind == "recv":
        return DBOS.recv("never", timeout_seconds=LONG_S)
    if kind == "get_event":
        return DBOS.get_event("no-such-workflow", "never", timeout_seconds=LONG_S)
    if kind == "sleep":
        DBOS.sleep(LONG_S)
        return None
    if kind == "read_stream":
        writer = DBOS.start_workflow(_registered["child"])  # blocked: never writes
        return list(DBOS.read_stream(writer.workflow_id, "never"))
    if kind == "wait_first":
        return DBOS.wait_first([DBOS.start_workflow(_registered["child"])])
    return DBOS.start_workflow(_registered["child"]).get_result()


_registered: dict[str, Any] = {}


def _register() -> None:
    @DBOS.step()
    def blocked_step() -> None:
        _GATE.wait(LONG_S)

    @DBOS.workflow()
    def child() -> None:
        blocked_step()

    _registered["child"] = child


@pytest.mark.parametrize("origin", ["this process", "a client"])
@pytest.mark.parametrize("kind", _kinds())
def test_a_cancel_ends_a_sync_wait(
    launch: Launch, dbos_system_database_url: str, kind: str, origin: str
) -> None:
    _register()
    waiting, left = threading.Event(), threading.Event()
    _GATE.clear()
    outcome: dict[str, BaseException | None] = {}

    @DBOS.workflow()
    def waiter() -> None:
        waiting.set()
        try:
            _wait_in_workflow(kind)
        except BaseException as exc:
            outcome["raised"] = exc
            raise
        finally:
            left.set()

    launch()
    try:
        with SetWorkflowID(f"waiter-{kind}"):
            handle = DBOS.start_workflow(waiter)
        assert waiting.wait(30)
        time.sleep(0.3)  # into the wait (and past its first quick polls)
        if origin == "this process":
            DBOS.cancel_workflow(handle.workflow_id)
        else:
            client = DBOSClient(dbos_system_database_url)
            client.cancel_workflow(handle.workflow_id)
            client.destroy()
        cancelled_at = time.monotonic()
        assert left.wait(LEAVES_WITHIN_S), f"the {kind} wait outlived the cancel"
        assert time.monotonic() - cancelled_at < LEAVES_WITHIN_S
        assert isinstance(outcome.get("raised"), DBOSWorkflowCancelledError)
        with pytest.raises(DBOSWorkflowCancelledError):
            handle.get_result(timeout_seconds=10)
    finally:
        _GATE.set()


@pytest.mark.parametrize("kind", ["recv", "get_event", "sleep"])
def test_a_cancel_ends_an_async_wait(launch: Launch, kind: str) -> None:
    waiting, left = threading.Event(), threading.Event()

    @DBOS.workflow()
    async def waiter() -> None:
        waiting.set()
        try:
            if kind == "recv":
                await DBOS.recv_async("never", timeout_seconds=LONG_S)
            elif kind == "get_event":
                await DBOS.get_event_async("nobody", "never", timeout_seconds=LONG_S)
            else:
                await DBOS.sleep_async(LONG_S)
        finally:
            left.set()

    launch()

    async def main() -> None:
        handle = await DBOS.start_workflow_async(waiter)
        assert await asyncio.to_thread(waiting.wait, 30)
        await asyncio.sleep(0.3)
        await DBOS.cancel_workflow_async(handle.workflow_id)
        assert await asyncio.to_thread(left.wait, LEAVES_WITHIN_S)
        with pytest.raises(DBOSWorkflowCancelledError):
            await handle.get_result()

    asyncio.run(main())


def test_a_wait_that_is_not_cancelled_still_gets_its_value(launch: Launch) -> None:
    # The cancel listening costs nothing visible to a wait that ends normally, and a wake-up
    # of another workflow's cancel does not stop this one.
    @DBOS.workflow()
    def receiver() -> object:
        return DBOS.recv("topic", timeout_seconds=LONG_S)

    @DBOS.workflow()
    def sleeper() -> None:
        DBOS.sleep(LONG_S)

    launch()
    handle = DBOS.start_workflow(receiver)
    other = DBOS.start_workflow(sleeper)
    time.sleep(0.3)
    DBOS.cancel_workflow(other.workflow_id)
    DBOS.send(handle.workflow_id, "hello", "topic")
    assert handle.get_result(timeout_seconds=30) == "hello"
