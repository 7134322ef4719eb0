"""A chaos worker process: ``python -m dbos_testing.chaos.worker URL WORKDIR EXECUTOR``.

Runs the chaos app until WORKDIR/stop exists. Every step body appends a line to
WORKDIR/effects.log before it returns (so a line whose step never got its checkpoint shows up
as a run that the recovery repeats)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from dbos import DBOS, Queue

JOB_QUEUE = "chaos_jobs"
MAILBOX_QUEUE = "chaos_mailbox"
JOB_CONCURRENCY = 4
APP_VERSION = "chaos"

Queue(JOB_QUEUE, concurrency=JOB_CONCURRENCY, worker_concurrency=3, polling_interval_sec=0.2)
Queue(MAILBOX_QUEUE, polling_interval_sec=0.2)

_log: Path | None = None


def log(*fields: object) -> None:
    assert _log is not None
    line = " ".join(str(field) for field in fields) + "\n"
    # One write with O_APPEND: lines from several processes never interleave.
    fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _step_body(job: int, step: str, seconds: float) -> str:
    token = uuid.uuid4().hex[:12]
    log("step", job, step, token, os.getpid())
    # The effect is done but not yet checkpointed: a kill now makes recovery run it again,
    # which the driver tells apart from a step running again after its checkpoint.
    time.sleep(seconds)
    return token


@DBOS.step(name="chaos.step_a")
def step_a(job: int) -> str:
    return _step_body(job, "a", 0.03)


@DBOS.step(name="chaos.step_b")
def step_b(job: int) -> str:
    log("begin", job, os.getpid(), f"{time.time():.6f}")
    token = _step_body(job, "b", 0.1)
    log("end", job, os.getpid(), f"{time.time():.6f}")
    return token


@DBOS.step(name="chaos.step_c")
def step_c(job: int) -> str:
    return _step_body(job, "c", 0.03)


@DBOS.workflow(name="chaos.job")
def job(job_id: int, mailbox_id: str) -> int:
    step_a(job_id)
    step_b(job_id)
    DBOS.send(mailbox_id, job_id, topic="jobs")
    step_c(job_id)
    return job_id


@DBOS.step(name="chaos.note")
def note(message: int) -> str:
    token = uuid.uuid4().hex[:12]
    log("recv", message, token, os.getpid())
    return token


@DBOS.workflow(name="chaos.mailbox")
def mailbox(expected: int) -> list[int]:
    received: list[int] = []
    while len(received) < expected:
        message = DBOS.recv("jobs", timeout_seconds=300)
        if message is None:
            break
        note(message)
        received.append(message)
    return received


def main(url: str, workdir: Path, executor: str, lease_s: float = 20.0) -> None:
    global _log
    _log = workdir / "effects.log"
    DBOS(
        config={
            "name": "chaos",
            "system_database_url": url,
            "executor_id": executor,
            "application_version": APP_VERSION,
            "process_lease_sec": lease_s,
        }
    )
    DBOS.launch()
    (workdir / f"ready-{executor}-{os.getpid()}").touch()
    while not (workdir / "stop").exists():
        time.sleep(0.1)
    DBOS.destroy(workflow_completion_timeout_sec=5)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], *map(float, sys.argv[4:5]))
