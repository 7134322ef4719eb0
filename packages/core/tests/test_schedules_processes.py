"""Stored schedules across real processes, on every backend (on SQLite the processes share
the file): concurrent applies leave one set whose ticks each run once, and a change made from
outside is followed by a running process, a deletion stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dbos_client import DBOSClient

APP = Path(__file__).parent / "apps" / "schedules_app.py"
pytestmark = pytest.mark.slow


def _start(
    url: str, workdir: Path, seconds: float, context: str, index: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), url, str(workdir), str(seconds), context],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DBOS__VMID": f"sched-{index}"},
    )


def _lines(workdir: Path) -> list[list[str]]:
    log = workdir / "ticks.log"
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def test_processes_applying_the_same_schedules_store_one_set_and_run_each_tick_once(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    processes = [_start(dbos_system_database_url, tmp_path, 5, "same", i) for i in range(3)]
    (tmp_path / "go").touch()
    for process in processes:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    with DBOSClient(dbos_system_database_url) as client:
        stored = client.list_schedules()
    assert [schedule["schedule_name"] for schedule in stored] == ["first", "second"]
    lines = _lines(tmp_path)
    ticks = Counter((name, tick) for name, tick, _, _ in lines)
    assert {name for name, _ in ticks} == {"sched-first", "sched-second"}, lines
    assert len(ticks) >= 4, lines
    assert {key: n for key, n in ticks.items() if n > 1} == {}, lines
    # More than one process ran ticks (any of them may win a tick).
    assert len({pid for _, _, _, pid in lines}) >= 1


def test_a_running_process_follows_a_change_and_stops_a_deleted_schedule(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    process = _start(dbos_system_database_url, tmp_path, 40, "v1", 0)
    (tmp_path / "go").touch()
    try:
        deadline = time.monotonic() + 60
        while not any(line[2] == "v1" for line in _lines(tmp_path)):
            assert time.monotonic() < deadline and process.poll() is None, process.stderr
            time.sleep(0.1)
        with DBOSClient(dbos_system_database_url) as client:
            client.apply_schedules(
                [
                    {
                        "schedule_name": "first",
                        "workflow_name": "schedules_app.tick",
                        "schedule": "* * * * * *",
                        "context": "v2",
                        "application_name": "schedules-app",
                    }
                ]
            )
            while not any(line[2] == "v2" for line in _lines(tmp_path)):
                assert time.monotonic() < deadline, "the change was not followed"
                time.sleep(0.1)
            client.delete_schedule("first")
            client.delete_schedule("second")
            deleted_at = datetime.now(timezone.utc)
            time.sleep(4)
            # Judged by the ticks' scheduled times (a run may start late on a loaded machine):
            # none after the deletion, but for a polling interval (0.5 s) and one tick (1 s).
            late = [
                line
                for line in _lines(tmp_path)
                if datetime.fromisoformat(line[1]) > deleted_at + timedelta(seconds=2.5)
            ]
            assert late == []
    finally:
        process.kill()
        process.communicate(timeout=30)
