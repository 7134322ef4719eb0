"""`dbos schedule ...`, run as a real subprocess (the installed console script) against a real
database on every backend, with the app running in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
pytestmark = pytest.mark.slow


@DBOS.workflow(name="cli_schedules.job")
def job(scheduled_time: datetime, context: Any) -> str:
    return f"{scheduled_time.isoformat()} {context}"


def dbos_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": url}
    return subprocess.run(
        [str(DBOS_COMMAND), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_pause_resume_trigger_backfill_and_delete(
    launch: Launch, dbos_system_database_url: str
) -> None:
    url = dbos_system_database_url
    launch(scheduler_polling_interval_sec=0.2)
    DBOS.create_schedule(
        schedule_name="nightly",
        workflow_fn=job,
        schedule="0 3 * * *",
        context="ctx",
        cron_timezone="Europe/Paris",
    )
    (listed,) = json.loads(ok(dbos_cli(url, "schedule", "list", "--json")))
    assert listed["schedule_name"] == "nightly" and listed["context"] == "ctx"
    table = ok(dbos_cli(url, "schedule", "list"))
    assert "nightly" in table and "Europe/Paris" in table and "ACTIVE" in table

    assert ok(dbos_cli(url, "schedule", "pause", "nightly")).strip() == "nightly: paused"
    paused = json.loads(ok(dbos_cli(url, "schedule", "list", "--status", "paused", "--json")))
    assert [s["schedule_name"] for s in paused] == ["nightly"]
    assert ok(dbos_cli(url, "schedule", "resume", "nightly")).strip() == "nightly: resumed"
    resumed = DBOS.get_schedule("nightly")
    assert resumed is not None and resumed["status"] == "ACTIVE"

    triggered = ok(dbos_cli(url, "schedule", "trigger", "nightly")).strip()
    assert triggered.startswith("sched-nightly-trigger-")
    assert DBOS.retrieve_workflow(triggered).get_result().endswith(" ctx")

    backfilled = ok(
        dbos_cli(
            url, "schedule", "backfill", "nightly",
            "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-03T00:00:00Z",
        )
    ).split()  # fmt: skip
    assert backfilled == [
        "sched-nightly-2024-01-01T03:00:00+01:00",
        "sched-nightly-2024-01-02T03:00:00+01:00",
    ]
    for workflow_id in backfilled:
        DBOS.retrieve_workflow(workflow_id).get_result()
    again = dbos_cli(
        url, "schedule", "backfill", "nightly", "--json",
        "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-03T00:00:00Z",
    )  # fmt: skip
    assert json.loads(ok(again)) == {"workflow_ids": backfilled}
    assert len(DBOS.list_workflows(name="cli_schedules.job")) == 3

    missing = dbos_cli(url, "schedule", "pause", "nightly", "nope")
    assert missing.returncode == 1
    assert missing.stdout.strip() == "nightly: paused"
    assert "nope: no such schedule" in missing.stderr
    unknown = dbos_cli(url, "schedule", "trigger", "nope")
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr
    assert ok(dbos_cli(url, "schedule", "delete", "nightly")).strip() == "nightly: deleted"
    assert DBOS.list_schedules() == []
