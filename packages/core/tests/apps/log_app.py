"""An app whose only logging setup is its DBOS configuration (or, with a mode, basicConfig).

Usage: python log_app.py DATABASE_URL MODE

MODE: "default" (config `log_level: "INFO"` and nothing else), "basic-before" /
"basic-after" (`logging.basicConfig` with the app's own format, before or after `DBOS(...)`).
Enqueues a workflow that fails, waits for it, prints its ID on stdout, and exits.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from dbos import DBOS, Queue

URL, MODE = sys.argv[1], sys.argv[2]
APP_FORMAT = "APP|%(levelname)s|%(name)s|%(message)s"

queue = Queue("log_app_queue", polling_interval_sec=0.05)


@DBOS.workflow(name="log_app.charge")
def charge(order: int) -> None:
    raise ValueError(f"card declined for order {order}")


if MODE == "basic-before":
    logging.basicConfig(level=logging.INFO, format=APP_FORMAT)
DBOS(config={"name": "log-app", "system_database_url": URL, "log_level": "INFO"})
if MODE == "basic-after":
    logging.basicConfig(level=logging.INFO, format=APP_FORMAT)
DBOS.launch()
handle = queue.enqueue(charge, 7)
with contextlib.suppress(ValueError):
    handle.get_result()
print(handle.workflow_id)
DBOS.destroy()
