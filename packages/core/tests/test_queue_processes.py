"""Two worker processes share one queue: limits hold across them, every task runs to
completion exactly once, and a worker killed mid-task gets its task back on restart."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbos import SystemStorage
from dbos._base.serialization import Codec, JsonPickleSerializer
from dbos.storage._records import NewWorkflow, WorkflowQuery, WorkflowStatusString
from dbos_testing import most_at_once as count_overlaps

APP = Path(__file__).parent / "apps" / "queue_app.py"
TASKS = 24
pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]


def start_worker(url: str, workdir: Path, executor: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), executor],
        stderr=subprocess.PIPE,
    )


def wait_until(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def enqueue_tasks(storage: SystemStorage) -> None:
    # As a client would: rows ENQUEUED on the queue, runnable by any application version.
    codec = Codec(JsonPickleSerializer())
    for index in range(TASKS):
        storage.create_workflow(
            NewWorkflow(
                workflow_id=f"task-{index:02d}",
                name="queue_app.task",
                inputs=codec.encode_inputs((index,), {}),
                executor_id=None,
                application_version=None,
                created_at_ms=index,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name="shared",
            )
        )


def read_log(workdir: Path, file: str = "effects.log") -> list[tuple[str, int, int, float]]:
    log = workdir / file
    if not log.exists():
        return []
    entries = []
    for line in log.read_text().splitlines():
        event, task, pid, at = line.split()
        entries.append((event, int(task), int(pid), float(at)))
    return entries


def test_two_workers_share_a_queue_and_survive_a_kill(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    workers = {name: start_worker(url, tmp_path, name) for name in ("worker-a", "worker-b")}
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2)
    enqueue_tasks(dbos_storage)

    # Kill worker A while it is running a task.
    def a_is_running_a_task() -> bool:
        pid = workers["worker-a"].pid
        events = [e for e in read_log(tmp_path) if e[2] == pid]
        started = {e[1] for e in events if e[0] == "start"}
        ended = {e[1] for e in events if e[0] == "end"}
        return bool(started - ended)

    wait_until(a_is_running_a_task)
    workers["worker-a"].send_signal(signal.SIGKILL)
    workers["worker-a"].wait(timeout=30)
    killed_pid = workers["worker-a"].pid
    workers["worker-a"] = start_worker(url, tmp_path, "worker-a")  # same executor: recovers

    def all_done() -> bool:
        rows = dbos_storage.list_workflows(WorkflowQuery(queue_name="shared"))
        return len(rows) == TASKS and all(row.status == "SUCCESS" for row in rows)

    wait_until(all_done, timeout=120)
    (tmp_path / "stop").touch()
    for process in workers.values():
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""

    entries = read_log(tmp_path)
    ends = [task for event, task, _, _ in entries if event == "end"]
    assert sorted(ends) == list(range(TASKS)), "every task completed exactly once"
    interrupted = {
        task for event, task, pid, _ in entries if event == "start" and pid == killed_pid
    }
    interrupted -= {task for event, task, pid, _ in entries if event == "end" and pid == killed_pid}
    assert len(interrupted) >= 1  # what A was running when it died ran again after its restart
    assert {pid for _, _, pid, _ in entries} >= {killed_pid, workers["worker-b"].pid}

    # Global concurrency 3 was never exceeded across the processes (completed runs).
    assert most_at_once(entries) <= 3


def most_at_once(entries: list[tuple[str, int, int, float]]) -> int:
    """The most runs in progress at one moment, from completed runs' start and end times."""
    starts = {(task, pid): at for event, task, pid, at in entries if event == "start"}
    return count_overlaps(
        (starts[(task, pid)], at) for event, task, pid, at in entries if event == "end"
    )


def test_two_workers_keep_per_partition_limits(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    workers = [start_worker(url, tmp_path, name) for name in ("worker-a", "worker-b")]
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2)
    codec = Codec(JsonPickleSerializer())
    partitions, per_partition = 4, 6
    for index in range(partitions * per_partition):
        storage_task = NewWorkflow(
            workflow_id=f"tenant-task-{index:02d}",
            name="queue_app.tenant_task",
            inputs=codec.encode_inputs((index,), {}),
            executor_id=None,
            application_version=None,
            created_at_ms=index,
            status=WorkflowStatusString.ENQUEUED.value,
            queue_name="tenants",
            queue_partition_key=f"tenant-{index % partitions}",
        )
        dbos_storage.create_workflow(storage_task)

    def all_done() -> bool:
        rows = dbos_storage.list_workflows(WorkflowQuery(queue_name="tenants"))
        return len(rows) == partitions * per_partition and all(
            row.status == "SUCCESS" for row in rows
        )

    wait_until(all_done, timeout=120)
    (tmp_path / "stop").touch()
    for process in workers:
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    entries = read_log(tmp_path, "tenants.log")
    ends = [task for event, task, _, _ in entries if event == "end"]
    assert sorted(ends) == list(range(partitions * per_partition))
    for partition in range(partitions):
        of_partition = [e for e in entries if e[1] % partitions == partition]
        assert most_at_once(of_partition) == 1, f"partition {partition} ran two tasks at once"
    assert most_at_once(entries) >= 2  # partitions ran side by side
