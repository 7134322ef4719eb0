"""An app process for the liveness tests (leases, takeovers, paused owners).

Usage: python lease_app.py DATABASE_URL WORKDIR EXECUTOR_ID MODE

Environment: LEASE_S (``process_lease_sec``, default 20), STEP_S (how long the slow step takes).

Modes:
- ``slow``: start workflow "slow" (one step of STEP_S seconds), print its result, then serve.
- ``ticks``: start workflow "ticks" (TICKS steps of 0.2 s each), print its result, then serve.
- ``receive``: start workflow "inbox" (one ``DBOS.recv`` on topic "t" with a 120 s timeout),
  print its result, then serve.
- ``serve``: only run what recovery, takeovers and the queue bring.
- ``exit``: start async workflow "drift" (it sleeps 600 s), print how many leases this
  process holds, and return from main without `DBOS.destroy()`.

Every mode writes WORKDIR/ready-<pid> once launched and runs until WORKDIR/stop exists. Each
step body appends "<event> <key> <pid> <time>" to WORKDIR/effects.log.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue, SetWorkflowID

URL, WORKDIR, EXECUTOR, MODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
LEASE_S = float(os.environ.get("LEASE_S", "20"))
STEP_S = float(os.environ.get("STEP_S", "4"))
TICKS = int(os.environ.get("TICKS", "40"))
Queue("work", worker_concurrency=2, polling_interval_sec=0.05)


def log(event: str, key: object) -> None:
    with (WORKDIR / "effects.log").open("a") as effects:
        effects.write(f"{event} {key} {os.getpid()} {time.time():.6f}\n")


@DBOS.step()
def slow_step() -> int:
    log("slow-start", 0)
    time.sleep(STEP_S)
    log("slow-end", 0)
    return os.getpid()


@DBOS.workflow(name="lease_app.slow")
def slow() -> int:
    return slow_step()


@DBOS.step()
def tick(index: int) -> int:
    log("tick", index)
    time.sleep(0.2)
    return index


@DBOS.workflow(name="lease_app.ticks")
def ticks() -> int:
    return sum(tick(index) for index in range(TICKS))


@DBOS.workflow(name="lease_app.inbox")
def inbox() -> object:
    message = DBOS.recv("t", timeout_seconds=120)
    log("received", message)
    return message


@DBOS.step()
def work_step(index: int) -> None:
    log("task-start", index)
    time.sleep(0.4)
    log("task-end", index)


@DBOS.workflow(name="lease_app.task")
def task(index: int) -> int:
    work_step(index)
    log("task-done", index)
    return index


@DBOS.workflow(name="lease_app.drift")
async def drift() -> None:
    log("drift-start", 0)
    await asyncio.sleep(600)


def main() -> None:
    DBOS(
        config={
            "name": "lease-app",
            "system_database_url": URL,
            "executor_id": EXECUTOR,
            "process_lease_sec": LEASE_S,
        }
    )
    DBOS.launch()
    (WORKDIR / f"ready-{os.getpid()}").touch()
    if MODE == "exit":
        with SetWorkflowID("drift"):
            DBOS.start_workflow(drift)
        while not (WORKDIR / "effects.log").exists():
            time.sleep(0.01)
        leases = DBOS._launched_engine().storage.list_leases()
        print(json.dumps({"leases": sum(h.pid == os.getpid() for h in leases)}), flush=True)
        return  # the mistake: no DBOS.destroy()
    if MODE in ("slow", "ticks", "receive"):
        body = {"slow": slow, "ticks": ticks, "receive": inbox}[MODE]
        with SetWorkflowID("inbox" if MODE == "receive" else MODE):
            handle = DBOS.start_workflow(body)
        result = handle.get_result()
        print(json.dumps({"result": result, "pid": os.getpid()}), flush=True)
    while not (WORKDIR / "stop").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=5)


if __name__ == "__main__":
    main()
