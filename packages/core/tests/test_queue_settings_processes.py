"""A queue's stored settings change live (issue 15): a worker process that declared a queue
with concurrency 1 starts claiming up to a new limit set from another process, without a
restart, and no further."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbos import SystemStorage
from dbos_client import DBOSClient

APP = Path(__file__).parent / "apps" / "live_queue_app.py"
TASKS = 6
pytestmark = pytest.mark.slow


def wait_until(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def starts(workdir: Path) -> list[tuple[int, int]]:
    log = workdir / "starts.log"
    if not log.exists():
        return []
    return [
        (int(task), int(pid))
        for _, task, pid in (line.split() for line in log.read_text().splitlines())
    ]


def test_a_worker_process_applies_a_concurrency_change_without_a_restart(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url
    worker = subprocess.Popen(
        [sys.executable, str(APP), url, str(tmp_path)], stderr=subprocess.PIPE
    )
    try:
        wait_until((tmp_path / "ready").exists)
        with DBOSClient(url) as client:
            queue = client.retrieve_queue("live")
            assert queue is not None and queue.concurrency == 1
            for index in range(TASKS):
                client.enqueue({"workflow_name": "live_app.task", "queue_name": "live"}, index)
            wait_until(lambda: len(starts(tmp_path)) == 1)
            time.sleep(1.0)  # ten polling intervals: the stored limit of 1 holds
            assert len(starts(tmp_path)) == 1

            queue.set_concurrency(4)
            wait_until(lambda: len(starts(tmp_path)) == 4, timeout=10)
            time.sleep(1.0)
            assert len(starts(tmp_path)) == 4  # up to the new limit, and no further
            assert {pid for _, pid in starts(tmp_path)} == {worker.pid}  # the same process
            assert [d.pending for d in dbos_storage.queue_depths()] == [4]

            (tmp_path / "release").touch()
            wait_until(lambda: len(starts(tmp_path)) == TASKS)
            wait_until(lambda: dbos_storage.queue_depths() == [])
        (tmp_path / "stop").touch()
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
