"""An app with a schedule firing every second, run as several real processes at once.

Usage: python cron_app.py DATABASE_URL WORKDIR SECONDS

Each tick's workflow appends "<scheduled time> <pid>" to WORKDIR/ticks.log. The process
launches, waits for WORKDIR/go (so that all processes race from the same moment), runs for
SECONDS, and shuts down after letting its running ticks finish.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

from dbos import DBOS

URL, WORKDIR, SECONDS = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])


@DBOS.scheduled("* * * * * *")
@DBOS.workflow()
def every_second(scheduled_time: datetime, actual_time: datetime) -> None:
    with (WORKDIR / "ticks.log").open("a") as log:
        log.write(f"{scheduled_time.isoformat()} {os.getpid()}\n")


def main() -> None:
    while not (WORKDIR / "go").exists():
        time.sleep(0.005)
    DBOS(config={"name": "cron-app", "system_database_url": URL})
    DBOS.launch()
    time.sleep(SECONDS)
    DBOS.destroy(workflow_completion_timeout_sec=5)


if __name__ == "__main__":
    main()
