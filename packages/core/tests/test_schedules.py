"""Stored schedules (DBOS Transact 3.4's schedule API) in one process, on every backend: the
cross-process cases are in test_schedules_processes.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, DBOSConfigError, DBOSException
from dbos._engine.registry import clear_scheduled
from dbos_client import DBOSClient

Launch = Callable[..., None]
FAST = {"scheduler_polling_interval_sec": 0.2}
runs: list[tuple[str, datetime, Any]] = []
lock = threading.Lock()


@DBOS.workflow(name="schedules_test.job")
def job(scheduled_time: datetime, context: Any) -> None:
    with lock:
        runs.append((DBOS.workflow_id or "", scheduled_time, context))


@DBOS.workflow(name="schedules_test.other")
def other(scheduled_time: datetime, context: Any) -> None:
    job(scheduled_time, ("other", context))


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    clear_scheduled()
    with lock:
        runs.clear()
    yield
    DBOS.destroy()
    clear_scheduled()


def wait_until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def ticks_after(moment: datetime) -> list[datetime]:
    """The ticks run whose scheduled time is after `moment`."""
    with lock:
        return [tick for _, tick, _ in runs if tick > moment]


#: A tick fired just before a pause or deletion was read may be due up to a polling interval
#: (0.2 s) and one tick (1 s) later; its run may start much later on a loaded machine, so the
#: tests judge by the ticks' scheduled times, not by when runs happen.
SLACK = timedelta(seconds=2)


def contexts() -> list[Any]:
    with lock:
        return [context for _, _, context in runs]


def test_a_created_schedule_is_stored_listed_and_runs_with_its_context(launch: Launch) -> None:
    launch(**FAST)
    DBOS.create_schedule(
        schedule_name="every-second",
        workflow_fn=job,
        schedule="* * * * * *",
        context={"report": "daily"},
    )
    stored = DBOS.get_schedule("every-second")
    assert stored is not None
    assert {k: v for k, v in stored.items() if k != "schedule_id"} == {
        "schedule_name": "every-second",
        "workflow_name": "schedules_test.job",
        "workflow_class_name": None,
        "schedule": "* * * * * *",
        "status": "ACTIVE",
        "context": {"report": "daily"},
        "last_fired_at": None,
        "automatic_backfill": False,
        "cron_timezone": None,
        "queue_name": None,
        "application_name": "test-app",
        "shard_key": None,
    }
    assert [s["schedule_name"] for s in DBOS.list_schedules()] == ["every-second"]
    wait_until(lambda: len(contexts()) >= 2)
    with lock:
        workflow_id, tick, context = runs[0]
    assert context == {"report": "daily"}
    assert workflow_id == f"sched-every-second-{tick.isoformat()}"
    status = DBOS.get_workflow_status(workflow_id)
    assert status is not None and status.workflow_id == workflow_id
    fired = DBOS.get_schedule("every-second")
    assert fired is not None and fired["last_fired_at"] is not None
    with pytest.raises(DBOSException, match="already exists"):
        DBOS.create_schedule(schedule_name="every-second", workflow_fn=job, schedule="@daily")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": "61 * * * *"}, "minute 61 is outside 0-59"),
        ({"schedule": "@fortnightly"}, "unknown macro"),
        ({"cron_timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"schedule_name": ""}, "schedule name must be a non-empty string"),
        ({"workflow_fn": print}, "is not registered"),
        ({"shard_key": "k"}, "sharded system databases"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    launch: Launch, changes: dict[str, Any], message: str
) -> None:
    launch(**FAST)
    arguments: dict[str, Any] = {"schedule_name": "s", "workflow_fn": job, "schedule": "@daily"}
    bad: Any = {**arguments, **changes}
    with pytest.raises(DBOSException, match=message):
        DBOS.create_schedule(**bad)
    with pytest.raises(DBOSException, match=message):
        DBOS.apply_schedules(
            [
                {"schedule_name": "ok", "workflow_fn": job, "schedule": "@daily"},
                bad,
            ]
        )
    assert DBOS.list_schedules() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": None}, "cron expression must be a string, got None"),
        ({"schedule": 5}, "cron expression must be a string, got 5"),
        ({"schedule": "61 * * * *"}, "minute 61 is outside 0-59"),
        ({"cron_timezone": 3}, "time zone must be an IANA zone name, got 3"),
        ({"cron_timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_every_bad_cron_or_zone_is_a_config_error(
    launch: Launch, changes: dict[str, Any], message: str
) -> None:
    # One class for every bad cron expression or zone, a missing (None) one included.
    launch(**FAST)
    bad: Any = {"schedule_name": "s", "workflow_fn": job, "schedule": "@daily", **changes}
    with pytest.raises(DBOSConfigError, match=message):
        DBOS.create_schedule(**bad)
    assert DBOS.list_schedules() == []


def test_a_paused_schedule_runs_nothing_until_resumed(launch: Launch) -> None:
    launch(**FAST)
    DBOS.create_schedule(schedule_name="s", workflow_fn=job, schedule="* * * * * *")
    DBOS.pause_schedule("s")
    paused_at = datetime.now(timezone.utc)
    paused = DBOS.get_schedule("s")
    assert paused is not None and paused["status"] == "PAUSED"
    assert [s["schedule_name"] for s in DBOS.list_schedules(status="PAUSED")] == ["s"]
    time.sleep(3)
    assert ticks_after(paused_at + SLACK) == []
    DBOS.resume_schedule("s")
    resumed_at = datetime.now(timezone.utc)
    wait_until(lambda: ticks_after(resumed_at) != [])
    # Unknown names are no-ops, as in DBOS Transact 3.4.
    DBOS.pause_schedule("missing")
    DBOS.resume_schedule("missing")
    DBOS.delete_schedule("missing")


def test_pause_holds_across_a_restart_and_a_reapply(launch: Launch) -> None:
    launch(**FAST)
    schedules: list[Any] = [{"schedule_name": "s", "workflow_fn": job, "schedule": "* * * * * *"}]
    DBOS.apply_schedules(schedules)
    wait_until(lambda: len(contexts()) >= 1)
    DBOS.pause_schedule("s")
    paused_at = datetime.now(timezone.utc)
    DBOS.destroy()
    launch(**FAST)
    DBOS.apply_schedules(schedules)  # the app's full set again at launch: still paused
    stored = DBOS.get_schedule("s")
    assert stored is not None and stored["status"] == "PAUSED"
    time.sleep(3)
    assert ticks_after(paused_at + SLACK) == []
    DBOS.resume_schedule("s")
    resumed_at = datetime.now(timezone.utc)
    wait_until(lambda: ticks_after(resumed_at) != [])


def test_a_changed_schedule_is_followed_and_a_deleted_one_stops(launch: Launch) -> None:
    launch(**FAST)
    first: list[Any] = [
        {"schedule_name": "s", "workflow_fn": job, "schedule": "* * * * * *", "context": 1}
    ]
    DBOS.apply_schedules(first)
    wait_until(lambda: 1 in contexts())
    changed: Any = {**first[0], "context": 2, "workflow_fn": other}
    DBOS.apply_schedules([changed])
    wait_until(lambda: ("other", 2) in contexts())
    DBOS.delete_schedule("s")
    deleted_at = datetime.now(timezone.utc)
    assert DBOS.get_schedule("s") is None
    time.sleep(3)
    assert ticks_after(deleted_at + SLACK) == []


def test_backfill_runs_each_tick_of_the_interval_once(launch: Launch) -> None:
    launch(**FAST)
    # A yearly schedule: the scheduler itself fires nothing during the test.
    DBOS.create_schedule(
        schedule_name="minutely", workflow_fn=job, schedule="* * 1 1 *", context="backfilled"
    )
    start = datetime(2024, 1, 1, 10, 0, tzinfo=timezone.utc)
    handles = DBOS.backfill_schedule("minutely", start, start + timedelta(minutes=5))
    expected = [f"sched-minutely-{(start + timedelta(minutes=n)).isoformat()}" for n in range(1, 5)]
    assert [handle.workflow_id for handle in handles] == expected
    for handle in handles:
        handle.get_result()
    # An overlapping backfill: the ticks already run keep their one run.
    again = DBOS.backfill_schedule(
        "minutely", start + timedelta(minutes=2), datetime(2024, 1, 1, 10, 8)
    )
    for handle in again:
        handle.get_result()
    with lock:
        ids = [workflow_id for workflow_id, _, _ in runs]
    assert len(ids) == len(set(ids)) == 7
    assert contexts() == ["backfilled"] * 7
    with pytest.raises(DBOSException, match="does not exist"):
        DBOS.backfill_schedule("missing", start, start + timedelta(minutes=1))


def test_trigger_runs_the_workflow_now(launch: Launch) -> None:
    launch(**FAST)
    DBOS.create_schedule(schedule_name="s", workflow_fn=job, schedule="@yearly", context="now")
    DBOS.pause_schedule("s")
    before = datetime.now(timezone.utc)
    handle = DBOS.trigger_schedule("s")
    assert handle.workflow_id.startswith("sched-s-trigger-")
    handle.get_result()
    with lock:
        ((_, tick, context),) = runs
    assert context == "now" and tick >= before.replace(microsecond=0) - timedelta(seconds=1)

    @DBOS.workflow()
    def inside() -> None:
        DBOS.trigger_schedule("s")

    with pytest.raises(DBOSException, match="cannot be called from within a workflow"):
        inside()


def test_a_time_zone_schedule_fires_in_its_zone(launch: Launch) -> None:
    launch(**FAST)
    DBOS.create_schedule(
        schedule_name="tz", workflow_fn=job, schedule="* * * * * *", cron_timezone="Asia/Kolkata"
    )
    wait_until(lambda: len(contexts()) >= 1)
    with lock:
        _, tick, _ = runs[0]
    assert tick.utcoffset() == timedelta(hours=5, minutes=30)


def test_the_async_forms_and_the_decorated_schedule_in_the_listing(launch: Launch) -> None:
    @DBOS.scheduled("0 0 1 1 *")
    @DBOS.workflow(name="schedules_test.decorated")
    def decorated(scheduled_time: datetime, actual_time: datetime) -> None:
        pass

    launch(**FAST)

    async def scenario() -> list[str]:
        await DBOS.create_schedule_async(schedule_name="a", workflow_fn=job, schedule="@daily")
        await DBOS.pause_schedule_async("a")
        found = await DBOS.get_schedule_async("a")
        assert found is not None and found["status"] == "PAUSED"
        await DBOS.resume_schedule_async("a")
        await DBOS.apply_schedules_async(
            [{"schedule_name": "b", "workflow_fn": job, "schedule": "@hourly"}]
        )
        await DBOS.delete_schedule_async("b")
        listed = await DBOS.list_schedules_async()
        return [schedule["schedule_name"] for schedule in listed]

    wait_until(lambda: DBOS.get_schedule("schedules_test.decorated") is not None)
    assert asyncio.run(scenario()) == ["a", "schedules_test.decorated"]
    assert DBOS.list_schedules(schedule_name_prefix="schedules_test.") == [
        DBOS.get_schedule("schedules_test.decorated")
    ]


def test_a_client_manages_schedules_by_workflow_name(
    launch: Launch, dbos_system_database_url: str
) -> None:
    launch(**FAST)
    with DBOSClient(dbos_system_database_url) as client:
        client.create_schedule(
            schedule_name="c",
            workflow_name="schedules_test.job",
            schedule="* * * * * *",
            context="from-client",
            application_name="test-app",
        )
        wait_until(lambda: "from-client" in contexts())
        client.pause_schedule("c")
        found = client.get_schedule("c")
        assert found is not None and found["status"] == "PAUSED"
        client.apply_schedules(
            [{"schedule_name": "d", "workflow_name": "schedules_test.job", "schedule": "@daily"}]
        )
        assert [s["schedule_name"] for s in client.list_schedules()] == ["c", "d"]
        start = datetime(2024, 1, 1, tzinfo=timezone.utc)
        handles = client.backfill_schedule("d", start, start + timedelta(days=3))
        assert len(handles) == 2  # strictly between: Jan 2 and Jan 3
        for handle in handles:
            handle.get_result()
        with pytest.raises(DBOSException, match="missing required field 'schedule'"):
            client.apply_schedules([{"schedule_name": "e", "workflow_name": "w"}])
        client.delete_schedule("c")
        client.delete_schedule("d")
        assert client.list_schedules() == []


@pytest.mark.parametrize(
    ("cron", "start", "expected"),
    [
        # Spring forward (2024-03-10): 02:30 does not exist; it runs once, at 03:00.
        (
            "30 2 * * *",
            datetime(2024, 3, 9, 12, tzinfo=timezone.utc),
            ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"],
        ),
        # Fall back (2024-11-03): 01:30 happens twice; it runs once, at the first.
        (
            "30 1 * * *",
            datetime(2024, 11, 2, 12, tzinfo=timezone.utc),
            ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"],
        ),
    ],
)
def test_a_daily_schedule_runs_once_on_daylight_saving_days(
    launch: Launch, cron: str, start: datetime, expected: list[str]
) -> None:
    launch(**FAST)
    DBOS.create_schedule(
        schedule_name="ny", workflow_fn=job, schedule=cron, cron_timezone="America/New_York"
    )
    handles = DBOS.backfill_schedule("ny", start, start + timedelta(days=2))
    assert [handle.workflow_id for handle in handles] == [f"sched-ny-{t}" for t in expected]
    for handle in handles:
        handle.get_result()
    with lock:
        assert sorted(tick.isoformat() for _, tick, _ in runs) == expected


def test_the_example_runs(dbos_system_database_url: str) -> None:
    """examples/schedules.py: apply, pause and resume, backfill across a DST night, trigger."""
    example = Path(__file__).resolve().parents[3] / "examples" / "schedules.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "pause: 0 report(s) while paused" in out
    assert "resume: report runs again" in out
    assert "backfill: cleaned sessions for 2024-03-10T03:00:00-04:00" in out
    assert out.count("backfill: cleaned sessions") == 3
    assert "backfill again: same workflows: True, 3 runs in all" in out
    assert "trigger: cleaned sessions now" in out
    assert "list: new_year, nightly-cleanup, report" in out
