"""A worker process for the cross-process latency benchmark (started by bench/run.py).

Usage: python bench/remote_worker.py DATABASE_URL READY_FILE

Its queue polls only every 10 s, so a task that starts within milliseconds of being enqueued by
another process was started by a LISTEN/NOTIFY wake-up, not by polling.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from dbos import DBOS, Queue

REMOTE_QUEUE = Queue("bench_remote", worker_concurrency=1, polling_interval_sec=10.0)


@DBOS.workflow(name="bench.remote_task")
def remote_task(index: int) -> float:
    return time.time()


def main() -> None:
    url, ready = sys.argv[1], Path(sys.argv[2])
    DBOS(
        config={"name": "bench-remote", "system_database_url": url, "application_version": "remote"}
    )
    DBOS.launch()
    ready.touch()
    try:
        while True:
            time.sleep(1)
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
