"""`DBOSClient` against a running app, on every backend: the seed's management script end to
end, enqueue by name from a process without the app's code, resume, cancel, fork, delete,
retention and the errors a wrong setup gets."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dbos
import dbos_client
from dbos import (
    DBOS,
    DBOSConfigError,
    DBOSConnectionError,
    DBOSMigrationError,
    DBOSNonExistentWorkflowError,
    DBOSWorkflowCancelledError,
    Queue,
    SetWorkflowID,
)
from dbos.plugins import plugin_manager
from dbos_client import DBOSClient

Launch = Callable[..., None]
SetCreatedAt = Callable[[str, int], None]

IN_OUTAGE_MS = 1_745_292_000_000  # 2025-04-22T03:20:00Z


class ServiceOutage(Exception):
    """The app's exception for a dependency that is down."""


class LocalOnlyError(Exception):
    """Raised by the app; not importable in a separate client process."""


def test_dbos_client_is_importable_from_dbos() -> None:
    assert dbos.DBOSClient is DBOSClient
    assert dbos.DebouncerClient is dbos_client.DebouncerClient  # as in DBOS Transact 3.4
    assert dbos_client.__all__ == [
        "DBOSClient",
        "DebouncerClient",
        "EnqueueCall",
        "EnqueueOptions",
        "SendMessage",
        "StepInfo",
        "UnreadableValue",
    ]


def test_seed_management_script(
    launch: Launch, dbos_system_database_url: str, set_created_at: SetCreatedAt
) -> None:
    runs: Counter[str] = Counter()
    outage = {"on": True}

    @DBOS.step()
    def reserve(order: int) -> int:
        runs[f"reserve-{order}"] += 1
        return order

    @DBOS.step()
    def charge(order: int) -> int:
        runs[f"charge-{order}"] += 1
        return order * 100

    @DBOS.step()
    def ship(order: int, cents: int) -> str:
        runs[f"ship-{order}"] += 1
        if order == 9:
            raise ValueError("bad address")  # not an outage: must not be forked
        if outage["on"]:
            raise ServiceOutage("shipping API unreachable")
        return f"shipped {order} for {cents}"

    @DBOS.workflow()
    def checkout(order: int) -> str:
        return ship(order, charge(reserve(order)))

    launch()
    for order in (1, 2, 3, 9, 10):
        with SetWorkflowID(f"order-{order}"), pytest.raises((ServiceOutage, ValueError)):
            checkout(order)
    # Orders 1, 2, 3 and 9 failed during the outage window; order 10 later (outside it).
    for order in (1, 2, 3, 9):
        set_created_at(f"order-{order}", IN_OUTAGE_MS + order)
    outage["on"] = False
    database_url = dbos_system_database_url

    # --- the seed's script (its fork step in DBOS Transact's numbering: the third is 3) --
    client = DBOSClient(database_url)
    workflows = client.list_workflows(status="ERROR",
        start_time="2025-04-22T03:00:00Z", end_time="2025-04-22T05:00:00Z")  # fmt: skip
    for workflow in workflows:
        steps = client.list_workflow_steps(workflow)
        if len(steps) >= 3 and isinstance(steps[2]["error"], ServiceOutage):
            DBOS.fork_workflow(workflow.workflow_id, 3)
    # -------------------------------------------------------------------------------------

    assert [w.workflow_id for w in workflows] == ["order-1", "order-2", "order-3", "order-9"]
    forks = client.list_workflows(queue_name="dbos.internal")
    assert len(forks) == 3
    results = sorted(client.retrieve_workflow(f.workflow_id).get_result(timeout_seconds=30)
                     for f in forks)  # fmt: skip
    assert results == ["shipped 1 for 100", "shipped 2 for 200", "shipped 3 for 300"]
    for order in (1, 2, 3):  # steps 1 and 2 ran once (in the original), step 3 twice
        assert runs[f"reserve-{order}"] == runs[f"charge-{order}"] == 1
        assert runs[f"ship-{order}"] == 2
    assert runs["ship-9"] == runs["ship-10"] == 1
    for fork in forks:
        steps = client.list_workflow_steps(fork.workflow_id)
        assert [s["function_id"] for s in steps] == [1, 2, 3]
        assert steps[2]["error"] is None
    for order in (1, 2, 3, 9, 10):  # the originals are untouched
        status = client.get_workflow_status(f"order-{order}")
        assert status is not None and status.status == "ERROR"
    client.destroy()


CLIENT_PROCESS = """
import json, sys
from dbos import DBOSClient, DBOSRemoteError
client = DBOSClient(sys.argv[1])
handle = client.enqueue({"workflow_name": "greet", "queue_name": "greetings"}, "world", 2)
result = handle.get_result(timeout_seconds=30)
step = client.list_workflow_steps(sys.argv[2])[0]
error = step["error"]
assert isinstance(error, DBOSRemoteError), type(error)
print(json.dumps({
    "result": result,
    "workflow_id": handle.workflow_id,
    "error_type": error.type_name,
    "message": error.message,
    "has_traceback": "Traceback" in (error.traceback_text or ""),
}))
"""


@pytest.mark.slow
def test_client_process_without_the_app_code(
    launch: Launch, dbos_system_database_url: str, tmp_path: Path
) -> None:
    Queue("greetings", polling_interval_sec=0.05)

    @DBOS.workflow(name="greet")
    def greet(name: str, times: int) -> str:
        return " ".join([f"hello {name}"] * times)

    @DBOS.step()
    def broken() -> None:
        raise LocalOnlyError("only this process knows this class")

    @DBOS.workflow()
    def fails() -> None:
        broken()

    launch()
    with SetWorkflowID("fails"), pytest.raises(LocalOnlyError):
        fails()
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_PROCESS, dbos_system_database_url, "fails"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # nothing of the app is importable from here
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["result"] == "hello world hello world"
    assert report["error_type"].endswith("LocalOnlyError")
    assert report["message"] == "only this process knows this class"
    assert report["has_traceback"]
    status = DBOS.get_workflow_status(report["workflow_id"])
    assert status is not None and (status.name, status.queue_name) == ("greet", "greetings")


def test_client_resume_cancel_fork_delete(launch: Launch, dbos_system_database_url: str) -> None:
    runs: Counter[str] = Counter()
    failing = {"on": True}
    gate = threading.Event()

    @DBOS.step()
    def prepare() -> int:
        runs["prepare"] += 1
        return 1

    @DBOS.step()
    def finish(x: int) -> int:
        runs["finish"] += 1
        return x + 1

    @DBOS.workflow()
    def job() -> int:
        x = prepare()
        if failing["on"]:  # the workflow fails between its steps
            raise ServiceOutage("down")
        return finish(x)

    @DBOS.step()
    def wait_gate() -> None:
        gate.wait(10)

    @DBOS.step()
    def after_gate() -> None:
        runs["after_gate"] += 1

    @DBOS.workflow()
    def blocked() -> None:
        wait_gate()
        after_gate()

    launch()
    client = DBOSClient(dbos_system_database_url)
    with SetWorkflowID("job"), pytest.raises(ServiceOutage):
        job()
    failing["on"] = False

    # Resume from outside: an app process continues it from its last completed step.
    assert client.resume_workflow("job").get_result(timeout_seconds=30) == 2
    assert runs == Counter(prepare=1, finish=1)

    # Cancel from outside: the running workflow stops at its next step boundary.
    with SetWorkflowID("blocked"):
        handle = DBOS.start_workflow(blocked)
    client.cancel_workflow("blocked")
    gate.set()
    with pytest.raises(DBOSWorkflowCancelledError):
        handle.get_result(timeout_seconds=10)
    assert runs["after_gate"] == 0

    # Fork for another application version: no process of that version runs it.
    other = client.fork_workflow("job", 2, "some-other-version", forked_workflow_id="other")
    time.sleep(0.5)
    status = other.get_status()
    assert (status.status, status.app_version) == ("ENQUEUED", "some-other-version")
    mine = client.fork_workflow("job", 2)
    assert mine.get_result(timeout_seconds=30) == 2
    assert runs == Counter(prepare=1, finish=2)

    client.delete_workflows(["other", mine.workflow_id])
    assert client.get_workflow_status("other") is None
    with pytest.raises(DBOSNonExistentWorkflowError):
        client.delete_workflow("other")
    with pytest.raises(DBOSNonExistentWorkflowError):
        client.retrieve_workflow("other")
    assert client.garbage_collect("2000-01-01T00:00:00Z") == 0
    assert client.garbage_collect(int(time.time() * 1000) + 1000) == 2  # job and blocked
    assert client.list_workflows() == []
    client.destroy()


class _HoldNextWorkerClaim:
    """Holds the queue worker's next claim between building its request (the claim's time)
    and running it, as a loaded machine does when the worker thread waits for the GIL or the
    database while other threads work."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self._armed = True

    @dbos.hookimpl
    def dbos_storage_call(self, operation: str, attempt: int) -> None:
        if (
            self._armed
            and operation == "claim_queued"
            and threading.current_thread().name == "dbos-queue-worker"
        ):
            self._armed = False
            self.held.set()
            self.release.wait(30)


def test_a_resume_claimed_with_a_time_before_the_last_run_ended_still_runs(
    launch: Launch, dbos_system_database_url: str
) -> None:
    # CI once saw this: the worker's claim of a resumed workflow was stamped before the
    # workflow's previous run here ended, was taken for a stale report of that run, and was
    # dropped, leaving the workflow PENDING for good.
    failing = {"on": True}

    @DBOS.workflow()
    def flaky() -> str:
        if failing["on"]:
            raise ServiceOutage("down")
        return "done"

    launch()
    hold = _HoldNextWorkerClaim()
    manager = plugin_manager()
    manager.register(hold)
    client = DBOSClient(dbos_system_database_url)
    try:
        assert hold.held.wait(10)  # the worker's claim time is taken
        time.sleep(0.01)
        with SetWorkflowID("flaky"), pytest.raises(ServiceOutage):
            flaky()  # ends after the held claim's time
        failing["on"] = False
        handle = client.resume_workflow("flaky")
        hold.release.set()  # the held claim takes the resumed workflow
        assert handle.get_result(timeout_seconds=30) == "done"
    finally:
        hold.release.set()
        manager.unregister(hold)
        client.destroy()


def test_client_async_calls(launch: Launch, dbos_system_database_url: str) -> None:
    Queue("async-q", polling_interval_sec=0.05)

    @DBOS.step()
    def double(x: int) -> int:
        return 2 * x

    @DBOS.workflow(name="doubler")
    def doubler(x: int) -> int:
        return double(x)

    launch()

    async def main() -> None:
        client = DBOSClient(dbos_system_database_url)
        options: dbos_client.EnqueueOptions = {
            "workflow_name": "doubler",
            "queue_name": "async-q",
            "workflow_id": "dbl",
        }
        handle = await client.enqueue_async(options, 21)
        assert await handle.get_result(timeout_seconds=30) == 42
        steps = await client.list_workflow_steps_async("dbl")
        assert [(s["function_id"], s["output"]) for s in steps] == [(1, 42)]
        queued = await client.list_queued_workflows_async(queue_name="async-q")
        assert queued == []  # finished tasks are not queued any more
        listed = await client.list_workflows_async(name="doubler")
        assert [s.workflow_id for s in listed] == ["dbl"]
        forked = await client.fork_workflow_async("dbl", 1)
        assert await forked.get_result(timeout_seconds=30) == 42
        await client.delete_workflow_async(forked.workflow_id)
        assert await client.get_workflow_status_async(forked.workflow_id) is None
        client.destroy()

    asyncio.run(main())


def test_enqueue_option_errors(dbos_system_database_url: str, dbos_storage: object) -> None:
    with DBOSClient(dbos_system_database_url) as client:
        with pytest.raises(dbos.DBOSException, match="'queue_name'"):
            client.enqueue({"workflow_name": "x"})  # type: ignore[typeddict-item]
        with pytest.raises(dbos.DBOSException, match="reserved"):
            client.enqueue({"workflow_name": "x", "queue_name": "dbos.internal"})
        with pytest.raises(dbos.DBOSException, match="unknown enqueue option"):
            client.enqueue({"workflow_name": "x", "queue_name": "q", "queue": "q"})  # type: ignore[typeddict-unknown-key]
        # A misspelt required key is named as unknown, not reported as missing.
        with pytest.raises(dbos.DBOSException, match=r"unknown enqueue option.*'workflow_nme'"):
            client.enqueue({"workflow_nme": "x", "queue_name": "q"})  # type: ignore[typeddict-item, typeddict-unknown-key]
        for priority in ("high", -1, 1.5, True):
            with pytest.raises(dbos.DBOSException, match="'priority' must be an integer >= 0"):
                client.enqueue({"workflow_name": "x", "queue_name": "q", "priority": priority})  # type: ignore[typeddict-item]
        assert client.list_workflows() == []


def test_client_on_a_database_that_is_not_set_up(tmp_path: Path) -> None:
    (tmp_path / "empty.sqlite").touch()
    with pytest.raises(DBOSMigrationError, match="dbos migrate"):
        DBOSClient(f"sqlite:///{tmp_path}/empty.sqlite")


def test_client_on_a_missing_sqlite_file_does_not_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite"
    with pytest.raises(DBOSConfigError, match="does not exist") as caught:
        DBOSClient(f"sqlite:///{missing}")
    assert str(missing) in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_client_needs_a_reachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DBOSConnectionError) as caught:
        DBOSClient("postgresql://someone:hunter2@127.0.0.1:1/nothing")
    assert "hunter2" not in str(caught.value)
    monkeypatch.delenv("DBOS_SYSTEM_DATABASE_URL", raising=False)
    with pytest.raises(DBOSConfigError, match="database URL"):
        DBOSClient()


def test_client_messages_events_and_streams(launch: Launch, dbos_system_database_url: str) -> None:
    gate = threading.Event()

    @DBOS.workflow()
    def talker() -> str:
        greeting: str = DBOS.recv("greetings", timeout_seconds=30)
        gate.wait(10)
        DBOS.set_event("status", f"got {greeting}")
        for index in range(3):
            DBOS.write_stream("numbers", index)
        DBOS.close_stream("numbers")
        return greeting

    launch()
    with DBOSClient(dbos_system_database_url) as client:
        handle = DBOS.start_workflow(talker)
        client.send(handle.workflow_id, "hi", "greetings")
        # The event is not set yet: the client waits for it (woken by the app's write).
        threading.Timer(0.2, gate.set).start()
        assert client.get_event(handle.workflow_id, "status", timeout_seconds=10) == "got hi"
        assert list(client.read_stream(handle.workflow_id, "numbers")) == [0, 1, 2]
        assert handle.get_result() == "hi"
        assert client.get_event(handle.workflow_id, "missing", timeout_seconds=0.1) is None
        with pytest.raises(DBOSNonExistentWorkflowError):
            client.send("no-such-workflow", "hi")

        async def read_async() -> list[object]:
            await client.send_async(handle.workflow_id, "late", "unused")
            event = await client.get_event_async(handle.workflow_id, "status", 1)
            values = [
                value async for value in client.read_stream_async(handle.workflow_id, "numbers")
            ]
            return [event, values]

        assert asyncio.run(read_async()) == ["got hi", [0, 1, 2]]


def test_listed_waits_last_their_real_time_and_client_and_app_agree(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.workflow(name="waiter")
    def waiter() -> str:
        DBOS.sleep(0.3)
        DBOS.recv("late", timeout_seconds=0.25)  # times out
        got: str = DBOS.recv("soon", timeout_seconds=60)  # answered long before its timeout
        return got

    launch()
    sender = threading.Timer(0.8, lambda: DBOS.send("waiter-1", "hello", "soon"))
    sender.start()
    with SetWorkflowID("waiter-1"):
        assert waiter() == "hello"
    sender.join()

    steps = DBOS.list_workflow_steps("waiter-1")
    with DBOSClient(dbos_system_database_url) as client:
        assert client.list_workflow_steps("waiter-1") == steps
    names = [step["function_name"] for step in steps]
    assert names == ["DBOS.sleep", "DBOS.recv", "DBOS.sleep", "DBOS.recv", "DBOS.sleep"]

    def lasted(step: dict[str, Any]) -> int:
        started, completed = step["started_at_epoch_ms"], step["completed_at_epoch_ms"]
        assert started is not None and completed is not None, step
        return int(completed - started)

    sleep, timed_out, its_timeout, answered, answered_timeout = (dict(s) for s in steps)
    wake_up = sleep["output"]
    assert isinstance(wake_up, float)
    assert sleep["completed_at_epoch_ms"] == math.floor(wake_up * 1000)
    assert lasted(sleep) >= 300
    assert lasted(timed_out) >= 250 and lasted(its_timeout) >= 250
    # The answered receive's timeout (60 s away) ended when the message came.
    assert answered_timeout["completed_at_epoch_ms"] == answered["completed_at_epoch_ms"]
    assert lasted(answered) > 0 and lasted(answered_timeout) > 0


def test_client_status_details_and_listing_filters(
    launch: Launch, dbos_system_database_url: str
) -> None:
    @DBOS.step()
    def doubled(x: int) -> int:
        return x * 2

    @DBOS.workflow()
    def child(x: int) -> int:
        return doubled(x) + doubled(x + 1)

    @DBOS.workflow()
    def parent() -> int:
        return child(1)

    launch()
    with SetWorkflowID("order-1"):
        parent()
    with SetWorkflowID("refund-1"):
        child(2)
    with DBOSClient(dbos_system_database_url) as client:
        mine = client.fork_workflow("refund-1", 1)
        assert mine.get_result(timeout_seconds=30) == 10
        fork = client.get_workflow_status(mine.workflow_id)
        assert fork is not None and fork.forked_from == "refund-1"
        assert fork.completed_at is not None and fork.completed_at >= fork.created_at

        def ids(**filters: Any) -> list[str]:
            return [s.workflow_id for s in client.list_workflows(**filters)]

        assert ids(has_parent=True) == ["order-1-1"]
        assert ids(parent_workflow_id=["order-1", "nobody"]) == ["order-1-1"]
        assert ids(workflow_id_prefix=["order-", "refund-"], has_parent=False) == [
            "order-1",
            "refund-1",
        ]
        assert ids(is_fork=True) == [mine.workflow_id]
        steps = client.list_workflow_steps("refund-1", load_output=False, limit=1, offset=1)
        assert [(s["function_id"], s["output"]) for s in steps] == [(2, None)]

        async def listed() -> tuple[list[str], list[int]]:
            statuses = await client.list_workflows_async(forked_from="refund-1")
            steps = await client.list_workflow_steps_async("refund-1", limit=1)
            return [s.workflow_id for s in statuses], [s["output"] for s in steps]

        assert asyncio.run(listed()) == ([mine.workflow_id], [4])
