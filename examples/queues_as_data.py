"""Queues stored in the system database, changed live (issue 15).

Run it with ``python examples/queues_as_data.py``. It uses the embedded SQLite default (a file
in a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

- ``Queue("reports", concurrency=1)`` at module level declares the queue; launch stores it.
- Six slow tasks are enqueued: one runs at a time.
- A `DBOSClient` (as an operator's script, or ``dbos queue set reports --concurrency 3``, would)
  raises the stored limit to 3: the app's worker picks it up within its polling interval,
  without a restart, and runs three at a time.
- ``DBOS.list_queues`` shows the stored settings.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from dbos import DBOS, Queue
from dbos_client import DBOSClient

reports = Queue("reports", concurrency=1, polling_interval_sec=0.1)
_lock = threading.Lock()
_running = 0
most_at_once: list[int] = []


@DBOS.workflow()
def build_report(index: int) -> int:
    global _running
    with _lock:
        _running += 1
        most_at_once.append(_running)
    time.sleep(0.5)
    with _lock:
        _running -= 1
    return index


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-queues-as-data-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "queues-as-data-example", "system_database_url": url})
    DBOS.launch()
    try:
        stored = {queue.name: queue.concurrency for queue in DBOS.list_queues()}
        print(f"1. stored at launch: reports concurrency {stored['reports']}")
        first = [reports.enqueue(build_report, index) for index in range(3)]
        for handle in first:
            handle.get_result()
        print(f"  at most {max(most_at_once)} running at once")

        print("2. a client raises the limit to 3, live")
        with DBOSClient(url) as client:
            queue = client.retrieve_queue("reports")
            assert queue is not None
            queue.set_concurrency(3)
        time.sleep(0.3)  # within a few polling intervals every process applies it
        most_at_once.clear()
        second = [reports.enqueue(build_report, index) for index in range(3, 9)]
        print(f"  results: {[handle.get_result() for handle in second]}")
        print(f"  at most {max(most_at_once)} running at once")
        print(f"3. reports concurrency is now {reports.concurrency} for every process")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
