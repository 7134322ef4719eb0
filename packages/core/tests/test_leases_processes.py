"""Liveness with real processes (issue 11): a live process's workflows are never taken by
another process, whatever their executor IDs; a dead one's are taken over within the lease
and run to completion once; a paused owner that lost its workflow stops running it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import SystemStorage
from dbos._base.serialization import Codec, JsonPickleSerializer
from dbos.storage import Message, NewWorkflow, WorkflowQuery, WorkflowStatusString
from dbos_testing import most_at_once

APP = Path(__file__).parent / "apps" / "lease_app.py"
pytestmark = pytest.mark.slow


def start(url: str, workdir: Path, executor: str, mode: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), executor, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def ready(workdir: Path, process: subprocess.Popen[str]) -> bool:
    return (workdir / f"ready-{process.pid}").exists()


def effects(workdir: Path) -> list[tuple[str, str, int, float]]:
    log = workdir / "effects.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [(e, k, int(p), float(t)) for e, k, p, t in (line.split() for line in lines)]


def stop_all(workdir: Path, processes: list[subprocess.Popen[str]]) -> list[str]:
    """Stop the processes still running; returns what each printed."""
    (workdir / "stop").touch()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        if process.returncode != -signal.SIGKILL:
            assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def status(storage: SystemStorage, workflow_id: str) -> str | None:
    row = storage.get_workflow(workflow_id)
    return None if row is None else row.status


def test_a_second_process_with_the_same_executor_id_leaves_a_live_ones_workflow_alone(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """Issue 11's first bug: B (executor ``local`` too) launched while A was inside a slow
    step, "recovered" A's workflow and ran the step a second time."""
    url = dbos_system_database_url
    first = start(url, tmp_path, "local", "slow", STEP_S="4")
    wait_until(lambda: any(e[0] == "slow-start" for e in effects(tmp_path)))
    second = start(url, tmp_path, "local", "serve", STEP_S="4")
    wait_until(lambda: ready(tmp_path, second))
    wait_until(lambda: status(dbos_storage, "slow") == "SUCCESS", timeout=60)
    outputs = stop_all(tmp_path, [first, second])
    starts = [e for e in effects(tmp_path) if e[0] == "slow-start"]
    assert [pid for _, _, pid, _ in starts] == [first.pid], "the step ran once, in A"
    assert json.loads(outputs[0].strip().splitlines()[-1])["result"] == first.pid


def test_a_process_that_exits_without_destroy_releases_its_lease(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """Ours: what an exit without `DBOS.destroy()` leaves PENDING (an async body cut short)
    can be taken over at once, as after a destroy, not once the lease (here 120 s) expires."""
    process = start(dbos_system_database_url, tmp_path, "exiting", "exit", LEASE_S="120")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"leases": 1}  # held while it ran
    assert [h for h in dbos_storage.list_leases() if h.pid == process.pid] == []
    row = dbos_storage.get_workflow("drift")
    assert row is not None and row.status == "PENDING" and row.application_version is not None
    taken = dbos_storage.take_over_workflows("survivor", "other", row.application_version, 10)
    assert [row.workflow_id for row in taken] == ["drift"]


def enqueue(storage: SystemStorage, count: int) -> None:
    codec = Codec(JsonPickleSerializer())
    for index in range(count):
        storage.create_workflow(
            NewWorkflow(
                workflow_id=f"task-{index:03d}",
                name="lease_app.task",
                inputs=codec.encode_inputs((index,), {}),
                executor_id=None,
                application_version=None,
                created_at_ms=index,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name="work",
            )
        )


def test_a_dead_workers_tasks_are_taken_over_by_the_survivors(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """Three workers with distinct executor IDs drain a queue; one is SIGKILLed and never
    restarted. Its claimed tasks are taken over once its lease expires, and every task finishes
    exactly once. The survivors, busy with their own tasks when they take over, still run at
    most the queue's ``worker_concurrency`` (2) at once each: a taken-over task goes back to
    its queue and is claimed within that limit (a user's trial found 4 running in one)."""
    url, lease_s, tasks = dbos_system_database_url, 2.0, 60
    workers = {
        name: start(url, tmp_path, name, "serve", LEASE_S=str(lease_s))
        for name in ("worker-a", "worker-b", "worker-c")
    }
    wait_until(lambda: all(ready(tmp_path, w) for w in workers.values()))
    enqueue(dbos_storage, tasks)
    victim = workers["worker-a"]

    def victim_busy() -> bool:
        mine = [e for e in effects(tmp_path) if e[2] == victim.pid]
        started = {k for e, k, _, _ in mine if e == "task-start"}
        return len(started - {k for e, k, _, _ in mine if e == "task-done"}) == 2

    wait_until(victim_busy)
    victim.send_signal(signal.SIGKILL)
    victim.communicate(timeout=30)
    killed_at = time.time()
    in_flight = {
        row.workflow_id
        for row in dbos_storage.list_workflows(WorkflowQuery(executor_id="worker-a"))
        if row.status == "PENDING"
    }
    assert in_flight, "the killed worker held claimed tasks"

    def all_done() -> bool:
        rows = dbos_storage.list_workflows(WorkflowQuery(queue_name="work"))
        return len(rows) == tasks and all(row.status == "SUCCESS" for row in rows)

    wait_until(all_done, timeout=lease_s + 30)
    last_taken_over = max(
        at
        for event, key, _, at in effects(tmp_path)
        if event == "task-done" and f"task-{int(key):03d}" in in_flight
    )
    failover_s = last_taken_over - killed_at
    print(f"failover: {failover_s:.2f} s from SIGKILL to the last taken-over task's end")
    assert failover_s < lease_s + 5
    stop_all(tmp_path, [workers["worker-b"], workers["worker-c"]])

    done = Counter(k for e, k, _, _ in effects(tmp_path) if e == "task-done")
    assert sorted(done) == sorted(str(i) for i in range(tasks))
    assert set(done.values()) == {1}, "every task finished exactly once"
    for name in ("worker-b", "worker-c"):
        pid = workers[name].pid
        mine = [(e, k, at) for e, k, p, at in effects(tmp_path) if p == pid]
        started = {k: at for e, k, at in mine if e == "task-start"}
        runs = [(started[k], at) for e, k, at in mine if e == "task-end"]
        assert len(runs) == len(started), name
        assert most_at_once(runs) <= 2, f"{name} ran more than worker_concurrency at once"
    for workflow_id in in_flight:
        row = dbos_storage.get_workflow(workflow_id)
        assert row is not None and row.executor_id in ("worker-b", "worker-c")
        assert row.recovery_attempts == 2


def test_a_paused_owner_stops_running_a_workflow_taken_over_meanwhile(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """The owner is paused (SIGSTOP) past its lease; another process takes the workflow over
    and finishes it; resumed (SIGCONT), the old owner stops at its next checkpoint without
    recording anything, and its caller gets the new owner's result."""
    url, lease_s = dbos_system_database_url, 2.0
    owner = start(url, tmp_path, "owner", "ticks", LEASE_S=str(lease_s), TICKS="30")
    wait_until(lambda: sum(e[0] == "tick" for e in effects(tmp_path)) >= 3)
    owner.send_signal(signal.SIGSTOP)
    paused_at = time.time()
    try:
        rescuer = start(url, tmp_path, "rescuer", "serve", LEASE_S=str(lease_s), TICKS="30")
        wait_until(lambda: status(dbos_storage, "ticks") == "SUCCESS", timeout=lease_s + 30)
        taken = dbos_storage.get_workflow("ticks")
        assert taken is not None and taken.executor_id == "rescuer"
    finally:
        owner.send_signal(signal.SIGCONT)
    resumed_at = time.time()
    assert resumed_at - paused_at > lease_s
    out_owner, _ = stop_all(tmp_path, [owner, rescuer])
    # The caller in the old owner got the workflow's one result, from storage.
    assert json.loads(out_owner.strip().splitlines()[-1])["result"] == sum(range(30))
    ticks_after = [e for e in effects(tmp_path) if e[0] == "tick" and e[3] > resumed_at]
    # At most the tick it was inside when paused ends after the resume; it runs no other.
    assert len([e for e in ticks_after if e[2] == owner.pid]) == 0
    steps = dbos_storage.load_steps("ticks")
    assert [s.function_id for s in steps] == list(range(1, 31))


def test_a_message_a_paused_owner_took_after_a_takeover_reaches_the_new_owner(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """Both executions of a workflow wait in one `recv` (120 s timeout): the old owner,
    paused past its lease and resumed, and the process that took it over. When the message
    comes, the old owner takes it and records it; the new owner must replay that record on
    its next look and finish the workflow, not wait out its timeout (seen under load in the
    rolling-deploy test). The new owner is paused while the message is sent, so the old one
    is sure to be the one that takes it."""
    url = dbos_system_database_url
    owner = start(url, tmp_path, "owner", "receive", LEASE_S="2")
    # Operation 2 is the recv's wake-up time, recorded before it waits.
    wait_until(lambda: [s.function_id for s in dbos_storage.load_steps("inbox")] == [2])
    owner.send_signal(signal.SIGSTOP)
    rescuer: subprocess.Popen[str] | None = None
    try:
        time.sleep(2.5)  # past the owner's lease
        rescuer = start(url, tmp_path, "rescuer", "serve", LEASE_S="60")
        wait_until(lambda: _executor(dbos_storage, "inbox") == "rescuer", timeout=60)
        time.sleep(1.0)  # the rescuer's execution is waiting in its recv by now
        rescuer.send_signal(signal.SIGSTOP)
        owner.send_signal(signal.SIGCONT)
        dbos_storage.send(Message("to-inbox", "inbox", "t", json.dumps("hello"), 1))
        wait_until(lambda: len(dbos_storage.load_steps("inbox")) == 2, timeout=30)
    finally:
        owner.send_signal(signal.SIGCONT)
        if rescuer is not None:
            rescuer.send_signal(signal.SIGCONT)
    assert rescuer is not None
    # The recv timeout is 120 s: finishing well inside it means the rescuer replayed the record.
    wait_until(lambda: status(dbos_storage, "inbox") == "SUCCESS", timeout=30)
    row = dbos_storage.get_workflow("inbox")
    assert row is not None and row.executor_id == "rescuer"
    # The body ran on in both: first in the old owner, which took the message (its finish was
    # refused), then in the rescuer, which replayed the recorded recv.
    received = [e for e in effects(tmp_path) if e[0] == "received"]
    assert [e[2] for e in received] == [owner.pid, rescuer.pid]
    steps = dbos_storage.load_steps("inbox")
    assert [(s.function_id, s.function_name) for s in steps] == [
        (1, "DBOS.recv"),
        (2, "DBOS.sleep"),
    ]
    assert steps[0].output == json.dumps("hello")
    out_owner, _ = stop_all(tmp_path, [owner, rescuer])
    assert json.loads(out_owner.strip().splitlines()[-1])["result"] == "hello"


def _executor(storage: SystemStorage, workflow_id: str) -> str | None:
    row = storage.get_workflow(workflow_id)
    return None if row is None else row.executor_id
