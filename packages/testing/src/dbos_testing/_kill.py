"""Real crashes: run a workflow in a subprocess and SIGKILL it at a chosen step, so a test can
recover it in its own process and check what ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KilledRun:
    """What `kill_at_step` did: the workflow it started and the process it killed."""

    workflow_id: str
    pid: int
    returncode: int


def kill_at_step(
    target: str,
    *args: Any,
    database_url: str,
    step: int,
    workflow_id: str,
    executor_id: str = "local",
    application_version: str | None = None,
    extra_sys_path: list[str] | None = None,
    timeout_s: float = 60.0,
) -> KilledRun:
    """Run workflow `target` (``"package.module:function"``, sync or async) with `args` in a
    new Python process on `database_url`, and SIGKILL that process when the workflow's step
    `step` (function ID, counting from 1 as in DBOS Transact) is about to run its body.

    The child launches DBOS with `executor_id` and `application_version` (pass the test
    process's, e.g. ``DBOS.application_version``, so that `DBOS.recover_pending_workflows()`
    here picks the workflow up). Arguments travel as JSON. Raises `RuntimeError` with the
    child's output if it ends before reaching the step or does not get there in time.
    """
    with tempfile.TemporaryDirectory(prefix="dbos-kill-") as workdir:
        marker = Path(workdir) / "at-step"
        spec = {
            "target": target,
            "args": list(args),
            "database_url": database_url,
            "step": step,
            "workflow_id": workflow_id,
            "executor_id": executor_id,
            "application_version": application_version,
            "marker": str(marker),
            "sys_path": [os.getcwd(), *(extra_sys_path or [])],
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "dbos_testing._kill_child", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout_s
        while not marker.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                child.kill()
                output = child.communicate()[0]
                raise RuntimeError(
                    f"workflow {workflow_id} did not reach step {step} in the child process "
                    f"(exit code {child.returncode}):\n{output}"
                )
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        return KilledRun(workflow_id, child.pid, child.returncode)
