"""An app and a management script built on it, for test_management_processes.py.

Usage: python manage_app.py DATABASE_URL WORKDIR app|manage

Both modes import the same app (the workflow `order`, whose one step takes STEP_S seconds and
logs each run to WORKDIR/step-runs) with the same executor ID, as a repair script that
imports the app would. ``app`` starts `order` as "order-1" and waits for its outcome, logged
to WORKDIR/app-outcome. ``manage`` launches with ``management_only=True``, waits a moment (a
recovery would have started the step by then), lists the PENDING workflows into
WORKDIR/listed, and cancels "order-1".
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbos import DBOS, DBOSWorkflowCancelledError, SetWorkflowID

URL, WORKDIR, MODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
STEP_S = 6.0


@DBOS.step()
def slow_step() -> None:
    with (WORKDIR / "step-runs").open("a") as runs:
        runs.write(f"{os.getpid()}\n")
    time.sleep(STEP_S)


@DBOS.workflow()
def order() -> str:
    slow_step()
    return "done"


def run_app() -> None:
    DBOS.launch()
    with SetWorkflowID("order-1"):
        handle = DBOS.start_workflow(order)
    try:
        outcome = handle.get_result()
    except DBOSWorkflowCancelledError:
        outcome = "cancelled"
    (WORKDIR / "app-outcome").write_text(outcome)


def run_script() -> None:
    DBOS.launch(management_only=True)
    time.sleep(1.5)
    pending = DBOS.list_workflows(status="PENDING")
    (WORKDIR / "listed").write_text("\n".join(status.workflow_id for status in pending))
    DBOS.cancel_workflow("order-1")


if __name__ == "__main__":
    DBOS(config={"name": "manage-app", "system_database_url": URL, "executor_id": "shared"})
    try:
        run_app() if MODE == "app" else run_script()
    finally:
        DBOS.destroy()
