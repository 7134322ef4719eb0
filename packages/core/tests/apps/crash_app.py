"""A small app the crash tests run as a real subprocess (and kill with SIGKILL).

Usage: python crash_app.py DATABASE_URL WORKDIR MODE

Every step appends a line to WORKDIR/effects.log when its body completes, so a test can count
how often each step really ran. A step announces itself by creating WORKDIR/reached-<name>
before doing its slow part, so a test knows when to kill.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue, SetWorkflowID

URL, WORKDIR, MODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3]


def effect(name: str) -> None:
    with (WORKDIR / "effects.log").open("a") as log:
        log.write(f"{name} {os.getpid()}\n")


def reached(name: str) -> None:
    (WORKDIR / f"reached-{name}").touch()


@DBOS.step()
def slow_step(name: str, seconds: float) -> str:
    reached(name)
    time.sleep(seconds)
    effect(name)
    return f"{name}-done"


@DBOS.workflow()
def three_steps() -> list[str]:
    # Step c is slow in the first process (so the test can kill it there) and fast after.
    c_seconds = float(os.environ.get("C_SECONDS", "30"))
    return [slow_step("a", 0.0), slow_step("b", 0.0), slow_step("c", c_seconds)]


@DBOS.workflow()
def sleepy() -> float:
    slow_step("before", 0.0)
    DBOS.sleep(4.0)
    slow_step("after", 0.0)
    return time.time()


@DBOS.step()
def kill_myself() -> None:
    effect("kill")
    os.kill(os.getpid(), signal.SIGKILL)


@DBOS.workflow(max_recovery_attempts=2)
def always_crashes() -> None:
    kill_myself()


# A `DBOSClient` enqueues `always_crashes` here by name (test_crashes).
crash_queue = Queue("crash_queue")


@DBOS.workflow()
def raced(tag: str) -> str:
    slow_step("raced-body", 1.0)
    return f"result-{tag}"


@DBOS.workflow()
def receiver() -> list[str]:
    # Each message is logged after it is received; the workflow body (not a step) logs, so a
    # recovered run logs the replayed first message again.
    first = DBOS.recv("t", timeout_seconds=60)
    effect(f"got-{first}")
    reached("first-recv")
    second = DBOS.recv("t", timeout_seconds=60)
    effect(f"got-{second}")
    return [first, second]


@DBOS.workflow()
def sender(destination: str) -> str:
    DBOS.send(destination, "hello", topic="t")
    reached("sent")
    time.sleep(float(os.environ.get("SENDER_SLEEP", "30")))
    return "sent"


@DBOS.workflow()
def patient_receiver() -> list[object]:
    # Nobody sends: the recv times out 4 s after it began, even across a crash. The body's
    # own start time (taken again by a recovered execution) lets the test tell a recorded
    # timeout from a fresh one whatever the machine's load does to process start-up.
    began = time.time()
    return [DBOS.recv("never", timeout_seconds=4.0), time.time(), began]


@DBOS.workflow()
def gated(name: str) -> str:
    # Finishes once the test creates WORKDIR/release-<name> (a file: it survives the crash).
    while not (WORKDIR / f"release-{name}").exists():
        DBOS.sleep(0.05)
    return name


@DBOS.workflow()
def first_of_two() -> str:
    with SetWorkflowID("gated-a"):
        a = DBOS.start_workflow(gated, "a")
    with SetWorkflowID("gated-b"):
        b = DBOS.start_workflow(gated, "b")
    chosen = DBOS.wait_first([a, b])
    effect(f"chose-{chosen.workflow_id}")
    slow_step("after-choice", float(os.environ.get("AFTER_CHOICE_SECONDS", "30")))
    return str(chosen.get_result())


@DBOS.workflow()
def awaits_child() -> list[str]:
    # The child's result is awaited through its handle (a recorded DBOS.getResult), then a
    # slow step gives the test time to kill the process after that record.
    with SetWorkflowID("awaited-child"):
        child = DBOS.start_workflow(gated, "child")
    result = child.get_result()
    effect(f"awaited-{result}")
    return [result, slow_step("after-result", float(os.environ.get("AFTER_SECONDS", "30")))]


def main() -> None:
    DBOS(config={"name": "crash-app", "system_database_url": URL})
    DBOS.launch()
    result: object = None
    if MODE == "patient_receiver":
        with SetWorkflowID(MODE):
            result = DBOS.start_workflow(patient_receiver).get_result()
    elif MODE in ("receiver", "sender"):
        # The sender sends to the workflow "receiver" (created beforehand by the test).
        with SetWorkflowID(MODE):
            if MODE == "receiver":
                result = DBOS.start_workflow(receiver).get_result()
            else:
                result = DBOS.start_workflow(sender, "receiver").get_result()
    elif MODE == "keyed_sender":
        # Outside any workflow: the key alone makes a retry after a crash deliver nothing.
        DBOS.send("receiver", "hello", topic="t", idempotency_key="order-1")
        reached("sent")
        time.sleep(float(os.environ.get("SENDER_SLEEP", "30")))
        result = "sent"
    elif MODE == "first_of_two":
        with SetWorkflowID(MODE):
            result = DBOS.start_workflow(first_of_two).get_result()
    elif MODE == "awaits_child":
        with SetWorkflowID(MODE):
            result = DBOS.start_workflow(awaits_child).get_result()
    elif MODE in ("three_steps", "sleepy", "always_crashes"):
        with SetWorkflowID(MODE):
            handle = DBOS.start_workflow(
                {"three_steps": three_steps, "sleepy": sleepy, "always_crashes": always_crashes}[
                    MODE
                ]
            )
        result = handle.get_result()
    elif MODE.startswith("recover:"):
        try:
            result = DBOS.retrieve_workflow(MODE.split(":", 1)[1]).get_result()
        except Exception as exc:
            result = f"error: {type(exc).__name__}"
    elif MODE == "race":
        (WORKDIR / f"launched-{os.getpid()}").touch()
        barrier = WORKDIR / "go"
        while not barrier.exists():
            time.sleep(0.005)
        with SetWorkflowID("raced"):
            result = DBOS.start_workflow(raced, "first-caller-wins").get_result()
    print(json.dumps({"result": result, "pid": os.getpid()}), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
