"""A debounce across a real crash (issue 13, item 4): the app process that debounced is killed
with SIGKILL while the window is open; a new process recovers the debouncer workflow, which
starts the target exactly once, with the last input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbos import SystemStorage

APP = Path(__file__).parent / "apps" / "debounce_app.py"
pytestmark = pytest.mark.slow


def start_app(url: str, workdir: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_a_debounce_survives_sigkill_and_starts_one_workflow_with_the_last_input(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    first = start_app(dbos_system_database_url, tmp_path, "bounce")
    marker = tmp_path / "target-id"
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert first.poll() is None, first.communicate()[1]
        assert time.monotonic() < deadline, "the app never debounced"
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    target = marker.read_text()
    # Killed inside the window: the debouncer is waiting, the target not started.
    assert dbos_storage.get_workflow(target) is None
    assert not (tmp_path / "effects.log").exists()

    second = start_app(dbos_system_database_url, tmp_path, f"recover:{target}")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["result"] == "C"
    lines = (tmp_path / "effects.log").read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["c"]  # once, with the last input
    row = dbos_storage.get_workflow(target)
    assert row is not None and row.status == "SUCCESS"
