"""A small app the batch-enqueue crash test runs as a real subprocess (and kills with SIGKILL).

Usage: python enqueue_many_app.py DATABASE_URL WORKDIR MODE

MODE ``enqueue`` starts workflow ``parent``, whose body enqueues five tasks with one
`Queue.enqueue_many`, writes their IDs to WORKDIR/ids.json, and waits to be killed. MODE
``recover`` launches (recovering ``parent``, which finds its batch recorded and finishes) and
prints the parent's result. Each task appends its input to WORKDIR/effects.log.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue, SetWorkflowID

URL, WORKDIR, MODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
queue = Queue("batch")


@DBOS.workflow()
def task(value: int) -> int:
    with (WORKDIR / "effects.log").open("a") as log:
        log.write(f"{value} {os.getpid()}\n")
    return value * 10


@DBOS.workflow()
def parent() -> list[int]:
    handles = queue.enqueue_many(task, [(i,) for i in range(5)])
    ids = WORKDIR / "ids.json"
    if not ids.exists():  # the first execution: report, then wait for the kill
        (WORKDIR / "ids.tmp").write_text(json.dumps([h.workflow_id for h in handles]))
        os.replace(WORKDIR / "ids.tmp", ids)
        time.sleep(600)
    return [h.get_result() for h in handles]


def main() -> None:
    DBOS(config={"name": "enqueue-many-app", "system_database_url": URL})
    DBOS.launch()
    result: object = None
    if MODE == "enqueue":
        with SetWorkflowID("parent"):
            DBOS.start_workflow(parent)
        time.sleep(600)  # killed long before
    else:
        result = DBOS.retrieve_workflow("parent", existing_workflow=False).get_result()
    print(json.dumps({"result": result}), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
