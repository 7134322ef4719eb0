"""A worker process for the live queue-settings test (issue 15).

Usage: python live_queue_app.py DATABASE_URL WORKDIR

Declares queue "live" (concurrency 1, polled every 0.1 s) and works on it until WORKDIR/stop
exists. Each task logs "start <task> <pid>" to WORKDIR/starts.log and then waits for
WORKDIR/release, so the tasks it has started stay running meanwhile.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue

URL, WORKDIR = sys.argv[1], Path(sys.argv[2])
Queue("live", concurrency=1, polling_interval_sec=0.1)


@DBOS.workflow(name="live_app.task")
def task(index: int) -> int:
    with (WORKDIR / "starts.log").open("a") as starts:
        starts.write(f"start {index} {os.getpid()}\n")
    while not (WORKDIR / "release").exists():
        time.sleep(0.02)
    return index


def main() -> None:
    DBOS(config={"name": "live-app", "system_database_url": URL, "executor_id": "live-worker"})
    DBOS.launch()
    (WORKDIR / "ready").touch()
    while not (WORKDIR / "stop").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=10)


if __name__ == "__main__":
    main()
