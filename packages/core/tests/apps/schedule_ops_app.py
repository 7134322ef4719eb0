"""A process whose workflow manages stored schedules, for the SIGKILL test of schedule calls
made from a workflow body (issue 15).

Usage: python schedule_ops_app.py DATABASE_URL WORKDIR [start]

With "start", starts workflow "manage-schedules", which creates schedule "made-in-workflow",
pauses it, reads it, writes its status to WORKDIR/paused, waits for WORKDIR/continue, then
lists it and returns (status read before the wait, statuses listed after). Without "start",
the process only launches (and so recovers the workflow of its executor). Runs until
WORKDIR/stop exists.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

URL, WORKDIR = sys.argv[1], Path(sys.argv[2])


@DBOS.workflow(name="schedule_ops_app.tick")
def tick(scheduled_time: datetime, context: Any) -> None:
    pass


@DBOS.workflow(name="schedule_ops_app.manage")
def manage() -> list[Any]:
    DBOS.create_schedule(schedule_name="made-in-workflow", workflow_fn=tick, schedule="0 0 1 1 *")
    DBOS.pause_schedule("made-in-workflow")
    found = DBOS.get_schedule("made-in-workflow")
    assert found is not None
    # Written whole, then renamed: the test reads it as soon as the name exists.
    (WORKDIR / "paused.tmp").write_text(found["status"])
    (WORKDIR / "paused.tmp").rename(WORKDIR / "paused")
    while not (WORKDIR / "continue").exists():
        time.sleep(0.02)
    listed = DBOS.list_schedules(schedule_name_prefix="made-in")
    return [found["status"], [schedule["status"] for schedule in listed]]


def main() -> None:
    DBOS(config={"name": "schedule-ops-app", "system_database_url": URL, "executor_id": "ops"})
    DBOS.launch()
    if sys.argv[3:] == ["start"]:
        with SetWorkflowID("manage-schedules"):
            DBOS.start_workflow(manage)
    while not (WORKDIR / "stop").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=10)


if __name__ == "__main__":
    main()
