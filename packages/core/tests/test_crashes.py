"""Real crashes: the app runs in a subprocess that is killed with SIGKILL, then a new process
recovers. Side-effect files and the database say what ran and how often."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dbos import SystemStorage

APP = Path(__file__).parent / "apps" / "crash_app.py"
pytestmark = pytest.mark.slow


def start_app(url: str, workdir: Path, mode: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def finish(process: subprocess.Popen[str], timeout: float = 60) -> object:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])["result"]


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def effects(workdir: Path) -> Counter[str]:
    log = workdir / "effects.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter(line.split()[0] for line in lines)


def test_sigkill_between_steps_then_recovery_in_a_new_process(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    first = start_app(dbos_system_database_url, tmp_path, "three_steps")
    wait_for(tmp_path / "reached-c")  # steps a and b are checkpointed; c is running
    kill(first)
    assert effects(tmp_path) == Counter({"a": 1, "b": 1})
    row = dbos_storage.get_workflow("three_steps")
    assert row is not None and row.status == "PENDING"
    assert [s.function_id for s in dbos_storage.load_steps("three_steps")] == [1, 2]

    second = start_app(dbos_system_database_url, tmp_path, "recover:three_steps", C_SECONDS="0")
    assert finish(second) == ["a-done", "b-done", "c-done"]
    # a and b ran once in all; c, interrupted before its checkpoint, completed once.
    assert effects(tmp_path) == Counter({"a": 1, "b": 1, "c": 1})
    row = dbos_storage.get_workflow("three_steps")
    assert row is not None and (row.status, row.recovery_attempts) == ("SUCCESS", 2)
    assert [s.function_id for s in dbos_storage.load_steps("three_steps")] == [1, 2, 3]


def test_durable_sleep_resumes_with_only_the_remaining_time(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    first = start_app(dbos_system_database_url, tmp_path, "sleepy")
    deadline = time.monotonic() + 30
    while len(dbos_storage.load_steps("sleepy")) < 2:  # "before" and the sleep are recorded
        assert time.monotonic() < deadline
        time.sleep(0.01)
    sleep_record = dbos_storage.load_steps("sleepy")[1]
    assert sleep_record.function_name == "DBOS.sleep"
    wake_at = json.loads(sleep_record.output or "null")
    time.sleep(1.0)
    kill(first)
    restarted = time.time()
    finished_at = finish(start_app(dbos_system_database_url, tmp_path, "recover:sleepy"))
    assert isinstance(finished_at, float)
    # It woke at the recorded time, not a full 4 s after the restart.
    assert finished_at >= wake_at
    assert finished_at - restarted < 4.0
    assert effects(tmp_path) == Counter({"before": 1, "after": 1})


def test_workflow_that_keeps_crashing_stops_being_recovered(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    first = start_app(url, tmp_path, "always_crashes")
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    # max_recovery_attempts=2: two recoveries are allowed and crash again...
    for attempt in (2, 3):
        process = start_app(url, tmp_path, "recover:always_crashes")
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        row = dbos_storage.get_workflow("always_crashes")
        assert row is not None and (row.status, row.recovery_attempts) == ("PENDING", attempt)
    # ...the next launch marks it instead of running it again.
    result = finish(start_app(url, tmp_path, "recover:always_crashes"))
    assert result == "error: DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded"
    row = dbos_storage.get_workflow("always_crashes")
    assert row is not None and row.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    assert effects(tmp_path) == Counter({"kill": 3})


def test_a_client_enqueued_task_keeps_its_decorators_recovery_limit(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """A `DBOSClient` cannot know a function's `max_recovery_attempts` and stores the
    default (100): the limit that holds is the decorator's, checked where the task runs, as
    in DBOS Transact 3.4 (a user's trial: killed 5 times with a limit of 2, it kept running)."""
    from dbos_client import DBOSClient

    url = dbos_system_database_url
    client = DBOSClient(system_database_url=url)
    try:
        client.enqueue(
            {
                "queue_name": "crash_queue",
                "workflow_name": "always_crashes",
                "workflow_id": "client_crashes",
            }
        )
    finally:
        client.destroy()
    for attempt in (1, 2, 3):  # the first run, then two recoveries: each crashes
        process = start_app(url, tmp_path, "recover:client_crashes")
        process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        row = dbos_storage.get_workflow("client_crashes")
        assert row is not None and (row.status, row.recovery_attempts) == ("PENDING", attempt)
        assert row.max_recovery_attempts == 100  # what the client stored
    result = finish(start_app(url, tmp_path, "recover:client_crashes"))
    assert result == "error: DBOSAwaitedWorkflowMaxRecoveryAttemptsExceeded"
    row = dbos_storage.get_workflow("client_crashes")
    assert row is not None and row.status == "MAX_RECOVERY_ATTEMPTS_EXCEEDED"
    assert effects(tmp_path) == Counter({"kill": 3})


def test_one_id_started_concurrently_from_many_processes_runs_once(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    processes = [
        start_app(dbos_system_database_url, tmp_path, "race", DBOS__VMID=f"worker-{i}")
        for i in range(4)
    ]
    # Every process has launched (raced for the migrations) before any starts the workflow.
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("launched-*"))) < len(processes):
        assert time.monotonic() < deadline, "not every process launched"
        assert all(p.poll() is None for p in processes), "a process ended before the race"
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = [finish(process) for process in processes]
    assert results == ["result-first-caller-wins"] * 4
    assert effects(tmp_path) == Counter({"raced-body": 1})


def _send_from_outside(url: str, destination: str, value: str) -> None:
    from dbos.storage._records import Message
    from dbos_testing import storage_for_url

    storage = storage_for_url(url)
    storage.setup()
    try:
        storage.send(Message(f"test-{value}", destination, "t", json.dumps(value), 0))
    finally:
        storage.close()


def test_receiver_killed_between_two_recvs_gets_the_same_first_message(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    first = start_app(url, tmp_path, "receiver")
    deadline = time.monotonic() + 30
    while dbos_storage.get_workflow("receiver") is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    _send_from_outside(url, "receiver", "one")
    wait_for(tmp_path / "reached-first-recv")  # "one" is consumed; the second recv waits
    kill(first)
    _send_from_outside(url, "receiver", "two")
    result = finish(start_app(url, tmp_path, "recover:receiver"))
    # The recovered receiver replays "one" from its checkpoint and then consumes "two".
    assert result == ["one", "two"]
    assert effects(tmp_path) == Counter({"got-one": 2, "got-two": 1})
    steps = dbos_storage.load_steps("receiver")
    assert [(s.function_name, s.output) for s in steps if s.function_name == "DBOS.recv"] == [
        ("DBOS.recv", '"one"'),
        ("DBOS.recv", '"two"'),
    ]


def test_sender_killed_after_send_does_not_send_twice(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    from dbos.storage._records import NewWorkflow, RecvRequest

    url = dbos_system_database_url
    dbos_storage.create_workflow(NewWorkflow("receiver", "receiver", "[]", None, None, 0))
    first = start_app(url, tmp_path, "sender")
    wait_for(tmp_path / "reached-sent")
    kill(first)
    second = start_app(url, tmp_path, "recover:sender", SENDER_SLEEP="0")
    assert finish(second) == "sent"
    got = [dbos_storage.recv(RecvRequest("receiver", i, "DBOS.recv", "t", 0)) for i in range(2)]
    assert [None if r is None else r.output for r in got] == ['"hello"', None]


def test_recv_timeout_is_durable_across_a_crash(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    first = start_app(url, tmp_path, "patient_receiver")
    deadline = time.monotonic() + 30
    # The recv (operation 1) records its wake-up time at operation 2 before it waits (a
    # DBOS.sleep, as DBOS Transact 3.4 records it).
    while not dbos_storage.load_steps("patient_receiver"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    record = dbos_storage.load_steps("patient_receiver")[0]
    assert (record.function_id, record.function_name) == (2, "DBOS.sleep")
    wake_at = json.loads(record.output or "null")
    time.sleep(1.0)
    kill(first)
    result = finish(start_app(url, tmp_path, "recover:patient_receiver"))
    assert isinstance(result, list) and result[0] is None
    # It timed out at the recorded time, not a full 4 s after the recovered execution began
    # (measured inside the process: a loaded machine may take seconds to start it).
    timed_out_at, recovered_at = result[1], result[2]
    assert timed_out_at >= wake_at
    assert timed_out_at - recovered_at < 4.0


def test_wait_first_across_a_sigkill_picks_the_same_workflow(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    first = start_app(url, tmp_path, "first_of_two")
    (tmp_path / "release-b").touch()  # b finishes first: the wait picks it
    wait_for(tmp_path / "reached-after-choice")
    kill(first)
    # Now both finish (a in the recovery); a fresh pick would find a, started first, too.
    (tmp_path / "release-a").touch()
    second = start_app(url, tmp_path, "recover:first_of_two", AFTER_CHOICE_SECONDS="0")
    assert finish(second) == "b"
    assert effects(tmp_path)["chose-gated-b"] == 2 and effects(tmp_path)["chose-gated-a"] == 0
    steps = dbos_storage.load_steps("first_of_two")
    assert [s.output for s in steps if s.function_name == "DBOS.waitFirst"] == ['"gated-b"']
    assert [r.status for r in (dbos_storage.get_workflow("gated-a"),) if r] == ["SUCCESS"]


def test_an_idempotent_send_retried_after_a_crash_delivers_once(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    from dbos.storage._records import NewWorkflow, RecvRequest

    url = dbos_system_database_url
    dbos_storage.create_workflow(NewWorkflow("receiver", "receiver", "[]", None, None, 0))
    first = start_app(url, tmp_path, "keyed_sender")
    wait_for(tmp_path / "reached-sent")
    kill(first)  # the sender never learned that its send went through: it retries
    got = dbos_storage.recv(RecvRequest("receiver", 0, "DBOS.recv", "t", 0))
    assert got is not None and got.output == '"hello"'  # the first copy is received (deleted)
    assert finish(start_app(url, tmp_path, "keyed_sender", SENDER_SLEEP="0")) == "sent"
    assert dbos_storage.recv(RecvRequest("receiver", 1, "DBOS.recv", "t", 0)) is None


def test_an_awaited_child_result_is_recorded_and_replayed_after_a_sigkill(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    """`handle.get_result()` in a workflow is a recorded operation (DBOS.getResult, as in DBOS
    Transact 3.4): after a crash the recovered parent takes the recorded result, even with
    the child gone, instead of waiting for it again."""
    url = dbos_system_database_url
    (tmp_path / "release-child").touch()
    first = start_app(url, tmp_path, "awaits_child")
    wait_for(tmp_path / "reached-after-result")
    kill(first)
    steps = dbos_storage.load_steps("awaits_child")
    # 1: the child's start, 2: its awaited result, 3: the slow step (running when killed).
    assert [(s.function_id, s.child_workflow_id) for s in steps] == [
        (1, "awaited-child"),
        (2, "awaited-child"),
    ]
    assert steps[1].function_name == "DBOS.getResult"
    assert steps[1].output == '"child"' and steps[1].error is None
    assert steps[1].started_at_ms <= steps[1].completed_at_ms
    assert dbos_storage.delete_workflows(("awaited-child",)) == ["awaited-child"]
    second = start_app(url, tmp_path, "recover:awaits_child", AFTER_SECONDS="0")
    assert finish(second) == ["child", "after-result-done"]
    assert effects(tmp_path)["awaited-child"] == 2  # the body ran twice, the wait once
