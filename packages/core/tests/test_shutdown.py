"""Shutting down is not an error: a script that ends without `DBOS.destroy()` while work is
running and queued, and `DBOS.destroy()` while a workflow runs, leave no traceback, and
everything left unfinished runs later (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

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
