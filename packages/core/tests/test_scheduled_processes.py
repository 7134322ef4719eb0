"""Several real processes share one schedule: each tick runs once across all of them (on
SQLite too, where the processes share the file)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

APP = Path(__file__).parent / "apps" / "cron_app.py"
pytestmark = pytest.mark.slow


def test_processes_racing_for_the_same_ticks_run_each_once(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, str(APP), dbos_system_database_url, str(tmp_path), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DBOS__VMID": f"cron-{index}"},
        )
        for index in range(3)
    ]
    (tmp_path / "go").touch()
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    lines = (tmp_path / "ticks.log").read_text().splitlines()
    ticks = Counter(line.split()[0] for line in lines)
    assert len(ticks) >= 3, lines
    duplicated = {tick: count for tick, count in ticks.items() if count > 1}
    assert duplicated == {}, lines
