"""A worker process for the partitioned-queue limits test (issue 15).

Usage: python partition_limits_app.py DATABASE_URL WORKDIR

Declares queue "bounded" with DBOS Transact 3.4's limits on a partitioned queue: at most 3
tasks running across all processes (`global_concurrency`), 2 in this process
(`worker_concurrency`), 2 of one partition across all processes (`partition_concurrency`) and
1 of one partition in this process (`partition_worker_concurrency`); polled every 0.05 s.
Works on it until WORKDIR/stop exists. Each task logs "start <task> <partition> <pid> <time>"
to WORKDIR/tasks.log, waits for WORKDIR/release, runs 0.05 s more and logs "end ...".
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue

URL, WORKDIR = sys.argv[1], Path(sys.argv[2])
Queue(
    "bounded",
    global_concurrency=3,
    worker_concurrency=2,
    partition_concurrency=2,
    partition_worker_concurrency=1,
    polling_interval_sec=0.05,
)


def log(event: str, index: int, partition: str) -> None:
    with (WORKDIR / "tasks.log").open("a") as tasks:
        tasks.write(f"{event} {index} {partition} {os.getpid()} {time.time():.6f}\n")


@DBOS.workflow(name="partition_limits_app.task")
def task(index: int, partition: str) -> int:
    log("start", index, partition)
    while not (WORKDIR / "release").exists():
        time.sleep(0.02)
    time.sleep(0.05)
    log("end", index, partition)
    return index


def main() -> None:
    DBOS(config={"name": "partition-limits-app", "system_database_url": URL})
    DBOS.launch()
    (WORKDIR / f"ready-{os.getpid()}").touch()
    while not (WORKDIR / "stop").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=10)


if __name__ == "__main__":
    main()
