"""A caller waiting on a workflow that runs in this process hears its cancel at once, while the
body is still inside a long step: `get_result` raises `DBOSAwaitedWorkflowCancelledError`, as a
handle polling storage reports it (DBOS Transact 3.4's retrieved handle). Before, the wait
lasted until the step returned and the body reached its next checkpoint.

The cancel comes from `DBOS.cancel_workflow`, the workflow's own timeout (the deadline sweep),
a `DBOSClient` with its own connections, or a real `dbos workflow cancel` process. Where a
wake-up reaches this process (any cancel here; on Postgres, any cancel anywhere) the app runs
with a polling interval of a minute, so only the wake-up can end the wait in time; on SQLite a
cancel from elsewhere is found by the waiter's own status reads (once a second after its first
second). The body itself runs its step to the end and stops at its next step (DBOS
semantics)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dbos import (
    DBOS,
    DBOSAwaitedWorkflowCancelledError,
    SetWorkflowID,
    SetWorkflowTimeout,
    hookimpl,
)
from dbos.plugins._hooks import plugin_manager
from dbos.storage import WAKE_SETTLED
from dbos_client import DBOSClient
from dbos_testing._counting import CountingStorage, count_engine_calls

Launch = Callable[..., None]

#: Far longer than any wait here may take: a wait that does not end fails the test.
LONG_S = 60.0
#: How long a waiter may take to hear the cancel (generous: a loaded machine). On the code
#: before this change the wait lasts until the gate opens, which no test does before this.
HEARS_WITHIN_S = 30.0
#: The polling interval that leaves only the wake-up to end a wait within `HEARS_WITHIN_S`.
NO_POLLING_S = 600.0


class Body:
    """A workflow whose first step blocks on a gate; records what ran."""

    def __init__(self) -> None:
        self.in_step = threading.Event()
        self.gate = threading.Event()
        self.step_returned = threading.Event()
        self.ran_next = threading.Event()
        self.body_left = threading.Event()

        @DBOS.step()
        def blocked_step() -> None:
            self.in_step.set()
            self.gate.wait(LONG_S)
            self.step_returned.set()

        @DBOS.step()
        def next_step() -> None:
            self.ran_next.set()

        @DBOS.workflow()
        def blocked_workflow() -> str:
            try:
                blocked_step()
                next_step()
                return "finished"
            finally:
                self.body_left.set()

        self.workflow = blocked_workflow


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + HEARS_WITHIN_S
    while not condition():
        assert time.monotonic() < end, f"timed out waiting until {what}"
        time.sleep(0.01)


def _someone_waits_on(workflow_id: str) -> bool:
    """A local waiter has registered for the workflow's settle wake-up (white box: the state
    to wait for before cancelling, so that the cancel lands in the middle of the wait)."""
    return (WAKE_SETTLED, workflow_id) in DBOS._launched_engine().wakeups._waiters


def _cancel(source: str, workflow_id: str, url: str) -> None:
    if source == "cancel_workflow":
        DBOS.cancel_workflow(workflow_id)
    elif source == "client":
        client = DBOSClient(url)
        try:
            client.cancel_workflow(workflow_id)
        finally:
            client.destroy()
    elif source == "command":
        env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "dbos_client", "workflow", "cancel", workflow_id],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    # "timeout": the deadline sweep cancels it; nothing to do here.


def _wait(form: str, workflow_id: str, started: Any) -> Any:
    if form == "started handle":
        return started.get_result(timeout_seconds=LONG_S)
    if form == "retrieved handle":
        return DBOS.retrieve_workflow(workflow_id).get_result(timeout_seconds=LONG_S)
    if form == "DBOS.get_result":
        return DBOS.get_result(workflow_id, timeout_seconds=LONG_S)

    async def main() -> Any:
        handle = await DBOS.retrieve_workflow_async(workflow_id)
        return await handle.get_result(timeout_seconds=LONG_S)

    return asyncio.run(main())


@pytest.mark.parametrize(
    ("source", "form"),
    [
        ("cancel_workflow", "started handle"),
        ("cancel_workflow", "retrieved handle"),
        ("cancel_workflow", "DBOS.get_result"),
        ("cancel_workflow", "async handle"),
        ("client", "started handle"),
        ("client", "async handle"),
        ("command", "started handle"),
        ("timeout", "started handle"),
        ("timeout", "async handle"),
    ],
)
def test_a_local_waiter_hears_a_cancel_while_the_body_is_in_a_step(
    launch: Launch, dbos_backend: str, dbos_system_database_url: str, source: str, form: str
) -> None:
    from_elsewhere = source in ("client", "command")
    woken = dbos_backend == "postgres" or not from_elsewhere
    launch(notification_listener_polling_interval_sec=NO_POLLING_S if woken else 1.0)
    body = Body()
    workflow_id = f"blocked-{source}-{form.replace(' ', '-')}"
    raised: dict[str, BaseException] = {}
    waited = threading.Event()

    def waiter(started: Any) -> None:
        try:
            _wait(form, workflow_id, started)
        except BaseException as exc:
            raised["error"] = exc
        finally:
            waited.set()

    try:
        with SetWorkflowID(workflow_id):
            if source == "timeout":
                with SetWorkflowTimeout(1.0):
                    started = DBOS.start_workflow(body.workflow)
            else:
                started = DBOS.start_workflow(body.workflow)
        assert body.in_step.wait(HEARS_WITHIN_S)
        thread = threading.Thread(target=waiter, args=(started,), daemon=True)
        thread.start()
        _wait_until(lambda: _someone_waits_on(workflow_id), "the waiter waits")
        _cancel(source, workflow_id, dbos_system_database_url)

        assert waited.wait(HEARS_WITHIN_S), "the waiter did not hear the cancel"
        assert isinstance(raised.get("error"), DBOSAwaitedWorkflowCancelledError), raised
        assert not body.step_returned.is_set()  # heard while the step still ran
        assert DBOS.get_workflow_status(workflow_id).status == "CANCELLED"  # type: ignore[union-attr]
    finally:
        body.gate.set()
    assert body.body_left.wait(HEARS_WITHIN_S)
    assert body.step_returned.is_set()
    assert not body.ran_next.is_set()  # the body stopped at its next step
    with pytest.raises(DBOSAwaitedWorkflowCancelledError):
        started.get_result(timeout_seconds=HEARS_WITHIN_S)


def test_a_parent_awaiting_a_local_child_hears_its_cancel(launch: Launch) -> None:
    launch(notification_listener_polling_interval_sec=NO_POLLING_S)
    body = Body()
    heard: dict[str, BaseException] = {}

    @DBOS.workflow()
    def parent() -> str:
        with SetWorkflowID("awaited-child"):
            child = DBOS.start_workflow(body.workflow)
        try:
            return str(child.get_result())
        except DBOSAwaitedWorkflowCancelledError as exc:
            heard["error"] = exc
            return "child cancelled"

    try:
        handle = DBOS.start_workflow(parent)
        assert body.in_step.wait(HEARS_WITHIN_S)
        _wait_until(lambda: _someone_waits_on("awaited-child"), "the parent waits")
        DBOS.cancel_workflow("awaited-child")
        assert handle.get_result(timeout_seconds=HEARS_WITHIN_S) == "child cancelled"
        assert not body.step_returned.is_set()
    finally:
        body.gate.set()
    assert body.body_left.wait(HEARS_WITHIN_S)
    assert not body.ran_next.is_set()


def test_a_timed_out_wait_still_raises_timeout_and_the_workflow_runs_on(launch: Launch) -> None:
    launch()
    body = Body()
    try:
        handle = DBOS.start_workflow(body.workflow)
        assert body.in_step.wait(HEARS_WITHIN_S)
        with pytest.raises(TimeoutError):
            handle.get_result(timeout_seconds=0.2)
    finally:
        body.gate.set()
    assert handle.get_result(timeout_seconds=HEARS_WITHIN_S) == "finished"
    assert body.ran_next.is_set()


class HoldTheFinish:
    """Between a recorded finish (which wakes the workflow's waiters, as a cancel does) and
    its execution's result, give a waiter that wrongly took the wake-up for a cancel the time
    to read the status (up to `_HOLD_S`), so that the read is seen rather than raced."""

    def __init__(self, counter: CountingStorage) -> None:
        self.counter = counter

    @hookimpl
    def dbos_workflow_finished(self, workflow_id: str, name: str, status: str) -> None:
        end = time.monotonic() + _HOLD_S
        reads = self.counter.calls["get_workflow"]
        while self.counter.calls["get_workflow"] == reads and time.monotonic() < end:
            time.sleep(0.01)


_HOLD_S = 0.5


@pytest.fixture
def counting(launch: Launch) -> Iterator[CountingStorage]:
    launch()
    counter = count_engine_calls()
    hold = HoldTheFinish(counter)
    plugin_manager().register(hold)
    try:
        yield counter
    finally:
        plugin_manager().unregister(hold)


@pytest.mark.parametrize("form", ["started handle", "async handle"])
def test_a_wait_on_a_workflow_that_finishes_reads_nothing(
    counting: CountingStorage, form: str
) -> None:
    # The finish wakes the waiter as a cancel would; it must not cost a status read.
    gate = threading.Event()
    in_step = threading.Event()

    @DBOS.step()
    def step(i: int) -> int:
        if i == 0:
            in_step.set()
            gate.wait(LONG_S)
        return i

    @DBOS.workflow()
    def three_steps() -> int:
        return step(0) + step(1) + step(2)

    with SetWorkflowID("three-steps"):
        started = DBOS.start_workflow(three_steps)
    assert in_step.wait(HEARS_WITHIN_S)
    opener = threading.Thread(target=_open_when_waited, args=("three-steps", gate))
    try:
        if form == "started handle":
            opener.start()
            assert started.get_result(timeout_seconds=LONG_S) == 3
        else:

            async def main() -> int:
                handle = await DBOS.retrieve_workflow_async("three-steps")
                before = counting.calls["get_workflow"]  # the retrieve's own existence check
                opener.start()
                result = await handle.get_result(timeout_seconds=LONG_S)
                counting.calls["get_workflow"] -= before
                return int(result)

            assert asyncio.run(main()) == 3
    finally:
        gate.set()
        if opener.is_alive():
            opener.join()
    assert counting.calls["get_workflow"] == 0, counting.calls


def _open_when_waited(workflow_id: str, gate: threading.Event) -> None:
    try:
        _wait_until(lambda: _someone_waits_on(workflow_id), "the waiter waits")
    finally:
        gate.set()
