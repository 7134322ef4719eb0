"""Scheduled workflows in one process, on every backend (the cross-process race is in
test_scheduled_processes.py)."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dbos import DBOS, DBOSConfigError
from dbos._engine.registry import clear_scheduled
from dbos._engine.schedule_ticks import tick_workflow_id

Launch = Callable[..., None]


@pytest.fixture(autouse=True)
def no_leftover_schedules() -> Iterator[None]:
    clear_scheduled()
    yield
    DBOS.destroy()
    clear_scheduled()


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_each_tick_runs_once_with_its_times(launch: Launch) -> None:
    runs: list[tuple[datetime, datetime]] = []
    lock = threading.Lock()

    @DBOS.scheduled("* * * * * *")
    @DBOS.workflow()
    def every_second(scheduled_time: datetime, actual_time: datetime) -> None:
        with lock:
            runs.append((scheduled_time, actual_time))

    launch()
    wait_until(lambda: len(runs) >= 3)
    DBOS.destroy()
    with lock:
        ticks = [scheduled for scheduled, _ in runs]
    assert len(set(ticks)) == len(ticks)
    for scheduled, actual in runs:
        assert scheduled.tzinfo is not None and scheduled.microsecond == 0
        assert actual >= scheduled
    # Consecutive ticks, one second apart.
    ordered = sorted(ticks)
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(ordered))


def test_scheduled_workflow_ids_come_from_the_tick(launch: Launch) -> None:
    seen: list[str | None] = []

    @DBOS.scheduled("* * * * * *")
    @DBOS.workflow()
    async def async_tick(scheduled_time: datetime, actual_time: datetime) -> None:
        seen.append(DBOS.workflow_id)
        assert DBOS.workflow_id == tick_workflow_id(async_tick.__qualname__, scheduled_time)

    launch()
    wait_until(lambda: len(seen) >= 2)
    statuses = DBOS.list_workflows(name=async_tick.__qualname__)
    assert all(s.workflow_id.startswith("sched-") for s in statuses)


@pytest.mark.parametrize("policy", ["skip", "run_once"])
def test_missed_ticks_policy(launch: Launch, policy: str, caplog: pytest.LogCaptureFixture) -> None:
    runs: list[datetime] = []
    lock = threading.Lock()

    @DBOS.scheduled("* * * * * *", missed_ticks=policy)  # type: ignore[arg-type]
    @DBOS.workflow(name=f"missed_{policy}")
    def ticking(scheduled_time: datetime, actual_time: datetime) -> None:
        with lock:
            runs.append(scheduled_time)

    launch()
    wait_until(lambda: len(runs) >= 1)
    DBOS.destroy()
    stopped = datetime.now(timezone.utc)
    time.sleep(2.5)  # the app is down for two or three ticks
    relaunched = datetime.now(timezone.utc)
    caplog.set_level(logging.INFO, logger="dbos")
    launch()
    wait_until(lambda: any(tick > relaunched for tick in runs))
    DBOS.destroy()
    # The scheduler starts some time after `relaunched` (a loaded machine may take seconds to
    # launch): the tick it catches up is the latest at or before its own start, which it logs.
    caught_up = [
        datetime.fromisoformat(str(record.args[0]))
        for record in caplog.records
        if record.msg == "running missed tick %s of %s" and isinstance(record.args, tuple)
    ]
    with lock:
        missed = [tick for tick in runs if stopped < tick <= relaunched]
        after_stop = sorted(tick for tick in runs if tick > stopped)
    if policy == "skip":
        assert missed == [] and caught_up == []
    else:
        # Only the latest missed tick runs, once; the ticks before it are skipped.
        assert len(caught_up) == 1
        assert caught_up[0] > stopped
        assert after_stop[0] == caught_up[0]
        assert after_stop.count(caught_up[0]) == 1


def test_scheduled_needs_a_workflow_and_a_valid_schedule() -> None:
    def plain(scheduled_time: datetime, actual_time: datetime) -> None:
        pass

    with pytest.raises(DBOSConfigError, match=r"above @DBOS\.workflow"):
        DBOS.scheduled("* * * * *")(plain)
    with pytest.raises(DBOSConfigError, match="invalid cron expression"):
        DBOS.scheduled("every minute")
    with pytest.raises(DBOSConfigError, match="missed_ticks"):
        DBOS.scheduled("* * * * *", missed_ticks="all")  # type: ignore[arg-type]
