"""DBOS Transact 3.4's limits on a partitioned queue hold across worker processes (issue 15):
the whole-queue `global_concurrency`, the per-process `worker_concurrency`, the per-partition
`partition_concurrency` and the per-partition, per-process `partition_worker_concurrency`.
Two processes share the queue; each limit is reached while tasks are held running, and none
is ever exceeded, neither then nor once the backlog drains."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from dbos import SystemStorage
from dbos._base.serialization import Codec, JsonPickleSerializer
from dbos.storage._records import NewWorkflow, WorkflowQuery, WorkflowStatusString
from dbos_testing import most_at_once

APP = Path(__file__).parent / "apps" / "partition_limits_app.py"
pytestmark = pytest.mark.slow

Entry = tuple[str, int, str, int, float]


def wait_until(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def read_log(workdir: Path) -> list[Entry]:
    log = workdir / "tasks.log"
    if not log.exists():
        return []
    entries: list[Entry] = []
    for line in log.read_text().splitlines():
        event, index, partition, pid, at = line.split()
        entries.append((event, int(index), partition, int(pid), float(at)))
    return entries


def running(workdir: Path) -> list[tuple[str, int]]:
    """(partition, pid) of each task started and not ended."""
    entries = read_log(workdir)
    ended = {index for event, index, _, _, _ in entries if event == "end"}
    return [
        (p, pid) for event, index, p, pid, _ in entries if event == "start" and index not in ended
    ]


def enqueue(storage: SystemStorage, first: int, partition: str, count: int) -> None:
    codec = Codec(JsonPickleSerializer())
    for index in range(first, first + count):
        storage.create_workflow(
            NewWorkflow(
                workflow_id=f"bounded-{index:02d}",
                name="partition_limits_app.task",
                inputs=codec.encode_inputs((index, partition), {}),
                executor_id=None,
                application_version=None,
                created_at_ms=index,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name="bounded",
                queue_partition_key=partition,
            )
        )


def most(entries: list[Entry], keep: object = lambda entry: True) -> int:
    """The most completed runs in progress at once among the entries `keep` selects."""
    chosen = [e for e in entries if keep(e)]  # type: ignore[operator]
    starts = {index: at for event, index, _, _, at in chosen if event == "start"}
    return most_at_once((starts[index], at) for event, index, _, _, at in chosen if event == "end")


def test_partitioned_queue_limits_hold_and_are_reached_across_processes(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    workers = [
        subprocess.Popen([sys.executable, str(APP), url, str(tmp_path)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2)
        # One partition: each process may run one of its tasks (partition_worker_concurrency
        # 1), so both together reach partition_concurrency 2, and no more.
        enqueue(dbos_storage, 0, "a", 6)
        wait_until(lambda: len(running(tmp_path)) == 2)
        time.sleep(1.0)  # twenty polling intervals: the limits hold while tasks run
        held = running(tmp_path)
        assert sorted(pid for _, pid in held) == sorted(w.pid for w in workers)
        assert {p for p, _ in held} == {"a"}
        # A second partition: each process has one slot left (worker_concurrency 2), but the
        # whole queue allows one more task (global_concurrency 3).
        enqueue(dbos_storage, 10, "b", 6)
        wait_until(lambda: len(running(tmp_path)) == 3)
        time.sleep(1.0)
        held = running(tmp_path)
        assert len(held) == 3 and Counter(p for p, _ in held) == {"a": 2, "b": 1}
        assert max(Counter(pid for _, pid in held).values()) == 2

        (tmp_path / "release").touch()

        def all_done() -> bool:
            rows = dbos_storage.list_workflows(WorkflowQuery(queue_name="bounded"))
            return len(rows) == 12 and all(row.status == "SUCCESS" for row in rows)

        wait_until(all_done, timeout=120)
        (tmp_path / "stop").touch()
        for worker in workers:
            assert worker.wait(timeout=60) == 0, worker.stderr.read() if worker.stderr else ""
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    entries = read_log(tmp_path)
    assert sorted(i for e, i, _, _, _ in entries if e == "end") == [*range(6), *range(10, 16)]
    assert most(entries) == 3  # global_concurrency, reached and never exceeded
    per_process = [most(entries, lambda e, pid=worker.pid: e[3] == pid) for worker in workers]
    assert max(per_process) == 2  # worker_concurrency, reached by one and exceeded by none
    for partition in "ab":
        assert most(entries, lambda e, p=partition: e[2] == p) <= 2  # partition_concurrency
        for worker in workers:
            one = most(entries, lambda e, p=partition, pid=worker.pid: (e[2], e[3]) == (p, pid))
            assert one == 1  # partition_worker_concurrency
    assert most(entries, lambda e: e[2] == "a") == 2
