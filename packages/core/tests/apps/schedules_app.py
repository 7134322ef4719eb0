"""An app that applies a set of stored schedules at launch, run as several real processes.

Usage: python schedules_app.py DATABASE_URL WORKDIR SECONDS CONTEXT

Each process waits for WORKDIR/go (so that all of them launch and apply at the same moment),
launches, applies two schedules firing every second with CONTEXT, runs for SECONDS, and shuts
down. Each run appends "<schedule> <scheduled time> <context> <pid>" to WORKDIR/ticks.log.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from dbos import DBOS

URL, WORKDIR, SECONDS, CONTEXT = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]


@DBOS.workflow(name="schedules_app.tick")
def tick(scheduled_time: datetime, context: Any) -> None:
    name = (DBOS.workflow_id or "").split("-20")[0]
    with (WORKDIR / "ticks.log").open("a") as log:
        log.write(f"{name} {scheduled_time.isoformat()} {context} {os.getpid()}\n")


def main() -> None:
    while not (WORKDIR / "go").exists():
        time.sleep(0.005)
    DBOS(
        config={
            "name": "schedules-app",
            "system_database_url": URL,
            "scheduler_polling_interval_sec": 0.5,
        }
    )
    DBOS.launch()
    DBOS.apply_schedules(
        [
            {
                "schedule_name": name,
                "workflow_fn": tick,
                "schedule": "* * * * * *",
                "context": CONTEXT,
            }
            for name in ("first", "second")
        ]
    )
    (WORKDIR / f"ready-{os.getpid()}").touch()
    time.sleep(SECONDS)
    DBOS.destroy(workflow_completion_timeout_sec=5)


if __name__ == "__main__":
    main()
