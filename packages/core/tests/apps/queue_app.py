"""A queue worker process for the multi-process queue tests.

Usage: python queue_app.py DATABASE_URL WORKDIR EXECUTOR_ID

Runs queue "shared" (global concurrency 3) and the partitioned queue "tenants" (concurrency 1
per partition) until WORKDIR/stop exists. Each task logs "start <task> <pid> <time>" and
"end <task> <pid> <time>" to WORKDIR/effects.log (tenant tasks to WORKDIR/tenants.log).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue

URL, WORKDIR, EXECUTOR = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
Queue("shared", concurrency=3, polling_interval_sec=0.05)
Queue("tenants", concurrency=1, partition_queue=True, polling_interval_sec=0.05)


def log(event: str, task: int, file: str = "effects.log") -> None:
    with (WORKDIR / file).open("a") as effects:
        effects.write(f"{event} {task} {os.getpid()} {time.time():.6f}\n")


@DBOS.workflow(name="queue_app.task")
def task(index: int) -> int:
    log("start", index)
    time.sleep(0.15)
    log("end", index)
    return index


@DBOS.workflow(name="queue_app.tenant_task")
def tenant_task(index: int) -> int:
    log("start", index, "tenants.log")
    time.sleep(0.05)
    log("end", index, "tenants.log")
    return index


def main() -> None:
    DBOS(config={"name": "queue-app", "system_database_url": URL, "executor_id": EXECUTOR})
    DBOS.launch()
    (WORKDIR / f"ready-{EXECUTOR}-{os.getpid()}").touch()
    while not (WORKDIR / "stop").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=10)


if __name__ == "__main__":
    main()
