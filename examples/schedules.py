"""Schedules as data: created, paused, backfilled and triggered at run time.

Run it with ``python examples/schedules.py``. It uses the embedded SQLite default (a file in
a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. Apply: the app declares its full set of schedules at launch (idempotent, so every process
   can do it): a report every second, and a nightly cleanup at 02:30 New York time.
2. Pause and resume: a paused schedule runs nothing; resumed, it runs again.
3. Backfill: the nightly cleanup of three past nights, across the 2024 spring-forward night
   (02:30 does not exist then: it runs once, at 03:00); backfilling again runs nothing twice.
4. Trigger: run the cleanup once now.
5. The decorator: ``@DBOS.scheduled`` declares a stored schedule too, listed with the others.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dbos import DBOS

reports: list[datetime] = []


@DBOS.workflow()
def report(scheduled_time: datetime, context: Any) -> None:
    reports.append(scheduled_time)


@DBOS.workflow()
def cleanup(scheduled_time: datetime, context: Any) -> str:
    return f"cleaned {context['table']} for {scheduled_time.isoformat()}"


@DBOS.scheduled("0 0 1 1 *")  # the decorator form: once a year, in UTC
@DBOS.workflow()
def new_year(scheduled_time: datetime, actual_time: datetime) -> None:
    pass


def wait_for_reports(count: int) -> None:
    deadline = time.monotonic() + 30
    while len(reports) < count:
        assert time.monotonic() < deadline, "no report ran"
        time.sleep(0.05)


def main() -> None:
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{Path(folder) / 'schedules.sqlite'}"
        DBOS(
            config={
                "name": "schedules-example",
                "system_database_url": url,
                "scheduler_polling_interval_sec": 0.5,
            }
        )
        DBOS.launch()
        try:
            DBOS.apply_schedules(
                [
                    {"schedule_name": "report", "workflow_fn": report, "schedule": "* * * * * *"},
                    {
                        "schedule_name": "nightly-cleanup",
                        "workflow_fn": cleanup,
                        "schedule": "30 2 * * *",
                        "cron_timezone": "America/New_York",
                        "context": {"table": "sessions"},
                    },
                ]
            )
            wait_for_reports(1)
            print(f"apply: report ran at {reports[0].isoformat()}")

            DBOS.pause_schedule("report")
            time.sleep(1.5)  # the scheduler sees the pause within its polling interval
            paused_at = len(reports)
            time.sleep(2)
            print(f"pause: {len(reports) - paused_at} report(s) while paused")
            DBOS.resume_schedule("report")
            wait_for_reports(paused_at + 1)
            print("resume: report runs again")

            nights = (
                datetime(2024, 3, 8, 12, tzinfo=timezone.utc),
                datetime(2024, 3, 11, 12, tzinfo=timezone.utc),
            )
            handles = DBOS.backfill_schedule("nightly-cleanup", *nights)
            for handle in handles:
                print(f"backfill: {handle.get_result(timeout_seconds=60)}")
            again = DBOS.backfill_schedule("nightly-cleanup", *nights)
            same = [h.workflow_id for h in again] == [h.workflow_id for h in handles]
            runs = len(DBOS.list_workflows(schedule_name="nightly-cleanup"))
            print(f"backfill again: same workflows: {same}, {runs} runs in all")

            triggered = DBOS.trigger_schedule("nightly-cleanup")
            result: str = DBOS.retrieve_workflow(triggered.workflow_id).get_result()
            print(f"trigger: {result.partition(' for ')[0]} now")

            names = [schedule["schedule_name"] for schedule in DBOS.list_schedules()]
            print(f"list: {', '.join(names)}")
        finally:
            DBOS.destroy()


if __name__ == "__main__":
    main()
