"""Shutting down is not an error: a script that ends without `DBOS.destroy()` while work is
running and queued, and `DBOS.destroy()` while a workflow runs, leave no traceback, and
everything left unfinished runs later (real subprocesses)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import DBOS

Launch = Callable[..., None]

pytestmark = pytest.mark.slow

EXIT_WITHOUT_DESTROY = textwrap.dedent(
    """
    import sys, time
    from dbos import DBOS, Queue

    q = Queue("q")

    @DBOS.step()
    def crunch(i):
        time.sleep(0.05)

    @DBOS.workflow()
    def report():
        for i in range(6):
            crunch(i)

    @DBOS.workflow()
    def job():
        return 1

    DBOS(config={"name": "exit-app", "system_database_url": sys.argv[1]})
    DBOS.launch()
    if sys.argv[2] == "start":
        DBOS.start_workflow(report)
        q.enqueue(job)
        print("main ends", flush=True)  # no DBOS.destroy(), as in the README's example
    else:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = sorted((w.name, w.status) for w in DBOS.list_workflows())
            if {status for _, status in statuses} == {"SUCCESS"}:
                break
            time.sleep(0.05)
        print(statuses, flush=True)
        DBOS.destroy()
    """
)


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=script.parent,
    )


def test_exit_without_destroy_leaves_no_traceback_and_no_stuck_task(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    """Before: `Exception in thread dbos-queue-worker ... RuntimeError: cannot schedule new
    futures after interpreter shutdown`, and the task stayed claimed (PENDING) but never ran.
    Now the worker stops claiming as the interpreter exits: the task stays ENQUEUED (or ran),
    and runs at the next launch."""
    script = tmp_path / "exit_app.py"
    script.write_text(EXIT_WITHOUT_DESTROY)
    for run in range(1, 4):  # the race was lost on every run before; any run shows it
        first = _run(script, dbos_system_database_url, "start")
        assert first.returncode == 0, first.stderr
        assert "main ends" in first.stdout
        assert "Traceback" not in first.stderr and "Exception in thread" not in first.stderr
        second = _run(script, dbos_system_database_url, "check")
        assert second.returncode == 0, second.stderr
        assert "Traceback" not in second.stderr
        assert second.stdout.strip() == str(
            [("job", "SUCCESS")] * run + [("report", "SUCCESS")] * run
        )


def test_destroy_while_a_workflow_runs_is_one_line_not_an_error(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: an ERROR with a 30-line traceback ('stopped without recording an outcome: ...
    storage is closed'). Now one INFO line saying the workflow stays PENDING; it resumes at
    the next launch."""
    started, release = threading.Event(), threading.Event()

    @DBOS.step()
    def tick(i: int) -> int:
        started.set()
        release.wait(10)
        return i

    @DBOS.workflow()
    def long_one() -> str:
        for i in range(2):
            tick(i)
        return "done"

    launch()
    handle = DBOS.start_workflow(long_one)
    assert started.wait(10)
    caplog.set_level(logging.INFO, logger="dbos")
    DBOS.destroy()
    release.set()
    deadline = time.monotonic() + 10
    while "stays PENDING" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    shutdown_records = [r for r in caplog.records if handle.workflow_id in r.getMessage()]
    assert [r.levelno for r in shutdown_records] == [logging.INFO], caplog.text
    assert shutdown_records[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    launch()
    assert DBOS.retrieve_workflow(handle.workflow_id).get_result() == "done"
