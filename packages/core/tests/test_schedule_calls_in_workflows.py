"""Schedule calls made from a workflow body are recorded operations (DBOS Transact 3.4 runs
them as steps ``DBOS.createSchedule``, ``DBOS.pauseSchedule``, ...): a workflow recovered
after its process was killed does not make them again, so it neither fails on the schedule
it created nor undoes a change made to it since. Backfill, trigger and apply are refused
there, as in 3.4."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, DBOSException, SetWorkflowID, SystemStorage
from dbos._api_schedules import _SCHEDULE_IDS
from dbos._engine.registry import clear_scheduled
from dbos.management import schedule_record
from dbos.storage._schedule_records import ScheduleRecord
from dbos_client import DBOSClient

APP = Path(__file__).parent / "apps" / "schedule_ops_app.py"
Launch = Callable[..., None]


@DBOS.workflow(name="schedule_calls_test.tick")
def tick(scheduled_time: datetime, context: Any) -> None:
    pass


@DBOS.workflow(name="schedule_calls_test.manage")
def manage(name: str) -> list[str]:
    DBOS.create_schedule(schedule_name=name, workflow_fn=tick, schedule="0 0 1 1 *")
    DBOS.pause_schedule(name)
    DBOS.resume_schedule(name)
    found = DBOS.get_schedule(name)
    listed = DBOS.list_schedules(schedule_name_prefix=name)
    DBOS.delete_schedule(name)
    assert found is not None
    return [found["status"], *(schedule["schedule_name"] for schedule in listed)]


@DBOS.workflow(name="schedule_calls_test.create_only")
def create_only(name: str) -> None:
    DBOS.create_schedule(schedule_name=name, workflow_fn=tick, schedule="0 0 1 1 *")


@DBOS.workflow(name="schedule_calls_test.refused")
def refused(name: str, call: str) -> None:
    if call == "trigger":
        DBOS.trigger_schedule(name)
    elif call == "backfill":
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        DBOS.backfill_schedule(name, start, start + timedelta(days=400))
    else:
        DBOS.apply_schedules([{"schedule_name": name, "workflow_fn": tick, "schedule": "@daily"}])


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    clear_scheduled()
    yield
    DBOS.destroy()
    clear_scheduled()


def test_schedule_calls_in_a_workflow_are_recorded_steps(launch: Launch) -> None:
    launch()
    with SetWorkflowID("manage-once"):
        assert manage("in-wf") == ["ACTIVE", "in-wf"]
    steps = DBOS.list_workflow_steps("manage-once")
    assert [step["function_name"] for step in steps] == [
        "DBOS.createSchedule",
        "DBOS.pauseSchedule",
        "DBOS.resumeSchedule",
        "DBOS.getSchedule",
        "DBOS.listSchedules",
        "DBOS.deleteSchedule",
    ]
    assert DBOS.get_schedule("in-wf") is None
    # Outside a workflow the same calls record nothing (there is nothing to record them in).
    DBOS.create_schedule(schedule_name="outside", workflow_fn=tick, schedule="@daily")
    DBOS.pause_schedule("outside")
    paused = DBOS.get_schedule("outside")
    assert paused is not None and paused["status"] == "PAUSED"


def test_a_create_stored_before_a_crash_is_taken_as_its_own(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    # A crash between storing the schedule and recording the step: the recovered execution
    # finds the schedule its own operation stored (by the ID derived from the operation) and
    # goes on; a schedule of that name stored by anyone else is still refused.
    launch()
    codec = DBOS._launched_engine().codec
    stored = schedule_record(
        codec,
        schedule_name="half-done",
        workflow_name="schedule_calls_test.tick",
        workflow_class_name=None,
        schedule="0 0 1 1 *",
        context=None,
        automatic_backfill=False,
        cron_timezone=None,
        queue_name=None,
        application_name=None,
    )
    own_id = str(uuid.uuid5(_SCHEDULE_IDS, "crashed-create/1"))
    dbos_storage.create_schedule(replace_id(stored, own_id))
    with SetWorkflowID("crashed-create"):
        create_only("half-done")
    steps = DBOS.list_workflow_steps("crashed-create")
    assert [step["function_name"] for step in steps] == ["DBOS.createSchedule"]
    dbos_storage.create_schedule(replace_id(stored, "someone-else", name="taken"))
    with (
        pytest.raises(DBOSException, match="'taken' already exists"),
        SetWorkflowID("other-create"),
    ):
        create_only("taken")


def replace_id(record: ScheduleRecord, schedule_id: str, name: str | None = None) -> ScheduleRecord:
    return replace(record, schedule_id=schedule_id, schedule_name=name or record.schedule_name)


@pytest.mark.parametrize("call", ["trigger", "backfill", "apply"])
def test_trigger_backfill_and_apply_are_refused_in_a_workflow(launch: Launch, call: str) -> None:
    launch()
    DBOS.create_schedule(schedule_name="s", workflow_fn=tick, schedule="0 0 1 1 *")
    with pytest.raises(DBOSException, match="cannot be called from within a workflow"):
        refused("s", call)


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_recovered_workflow_does_not_repeat_its_schedule_calls(
    dbos_system_database_url: str, dbos_storage: SystemStorage, tmp_path: Path
) -> None:
    url = dbos_system_database_url

    def start(*extra: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, str(APP), url, str(tmp_path), *extra]
        return subprocess.Popen(command, stderr=subprocess.PIPE)

    first = start("start")
    try:
        wait_until((tmp_path / "paused").exists)
        assert (tmp_path / "paused").read_text() == "PAUSED"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    with DBOSClient(url) as client:
        client.resume_schedule("made-in-workflow")  # a change made after the workflow's pause
        (tmp_path / "continue").touch()
        second = start()
        try:
            handle = client.retrieve_workflow("manage-schedules")
            # The recovered execution neither fails creating the schedule again nor pauses it
            # again; what it read before the crash is what it reads now.
            assert handle.get_result() == ["PAUSED", ["ACTIVE"]]
            schedule = client.get_schedule("made-in-workflow")
            assert schedule is not None and schedule["status"] == "ACTIVE"
            steps = [
                step["function_name"] for step in client.list_workflow_steps(handle.workflow_id)
            ]
            assert steps == [
                "DBOS.createSchedule",
                "DBOS.pauseSchedule",
                "DBOS.getSchedule",
                "DBOS.listSchedules",
            ]
            (tmp_path / "stop").touch()
            assert second.wait(timeout=60) == 0, second.stderr.read() if second.stderr else ""
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
