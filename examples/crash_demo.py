"""Crash-and-recover demo: a workflow is killed with SIGKILL mid-way and finishes after a restart.

Run it with ``nox -s demo`` (or ``python examples/crash_demo.py``). It uses the embedded SQLite
default unless DBOS_SYSTEM_DATABASE_URL names another system database.

What happens:
1. A worker process starts workflow ``demo-order-1``: five steps, each taking about half a
   second and appending a line to a side-effect log when it completes.
2. When step 3 has started, the demo kills the worker with SIGKILL: no clean-up runs.
3. A new worker process launches DBOS, which recovers the pending workflow: steps 1 and 2 are
   not run again (their recorded results are reused), step 3 (interrupted) runs again, and
   steps 4 and 5 run for the first time (step numbers are step IDs, counted from 1 as in
   DBOS Transact).
4. The demo checks the side-effect log: every step completed exactly once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from dbos import DBOS, SetWorkflowID

WORKFLOW_ID = "demo-order-1"
STEPS = 5
KILL_AT_STEP = 3
WORKDIR = Path(__file__).resolve().parent.parent / ".demo"
EFFECTS = WORKDIR / "side-effects.log"


@DBOS.step()
def process_item(index: int) -> int:
    print(f"  [worker {os.getpid()}] step {index} started", flush=True)
    time.sleep(0.5)
    with EFFECTS.open("a") as log:
        log.write(f"step {index}\n")
    print(f"  [worker {os.getpid()}] step {index} done", flush=True)
    return index * index


@DBOS.workflow()
def process_order(steps: int) -> int:
    return sum(process_item(index) for index in range(1, steps + 1))


def worker(mode: str) -> None:
    """Runs in a child process: start the workflow, or recover it after the crash."""
    DBOS(config={"name": "crash-demo"})
    DBOS.launch()  # on the second run, launch resumes the pending workflow by itself
    if mode == "start":
        with SetWorkflowID(WORKFLOW_ID):
            handle = DBOS.start_workflow(process_order, STEPS)
    else:
        handle = DBOS.retrieve_workflow(WORKFLOW_ID)
    result = handle.get_result()
    status = handle.get_status()
    print(f"  [worker {os.getpid()}] workflow {WORKFLOW_ID}: {status.status}, result {result}")
    DBOS.destroy()


def spawn(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-u", __file__, "--worker", mode],
        cwd=WORKDIR,
        stdout=subprocess.PIPE,
        text=True,
    )


def main() -> int:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    print(f"1. Starting a worker that runs workflow {WORKFLOW_ID!r} ({STEPS} steps)")
    first = spawn("start")
    assert first.stdout is not None
    for line in first.stdout:
        print(line, end="")
        if f"step {KILL_AT_STEP} started" in line:
            first.send_signal(signal.SIGKILL)
            break
    first.wait()
    print(f"2. Killed the worker with SIGKILL while step {KILL_AT_STEP} was running")
    print("3. Starting a new worker: DBOS.launch() recovers the pending workflow")
    second = spawn("recover")
    assert second.stdout is not None
    for line in second.stdout:
        print(line, end="")
    if second.wait() != 0:
        print("the recovering worker failed", file=sys.stderr)
        return 1

    counts = Counter(EFFECTS.read_text().splitlines())
    print("4. Side-effect log (completed steps):")
    for index in range(1, STEPS + 1):
        print(f"     step {index}: completed {counts[f'step {index}']} time(s)")
    if any(counts[f"step {index}"] != 1 for index in range(1, STEPS + 1)):
        print("FAILED: some step did not complete exactly once", file=sys.stderr)
        return 1
    print(
        f"OK: steps 1-{KILL_AT_STEP - 1} were not re-run after the crash, and every step "
        "completed exactly once."
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        sys.exit(main())
