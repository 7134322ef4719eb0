"""A pause or delete of a stored schedule is strict, on every backend: once the call returns,
whether from the process running the schedule, from a `DBOSClient` or from another process,
no tick of it is created any more (each tick's insert checks the schedule atomically). Judged
by the stored rows of the schedule: none created after the call returned, none added later.
A backfill or trigger of a paused schedule still runs it (DBOS Transact 3.4)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS
from dbos._engine.registry import clear_scheduled
from dbos_client import DBOSClient

Launch = Callable[..., None]
APP = Path(__file__).parent / "apps" / "schedules_app.py"
#: How long the tests watch for ticks after a pause or delete (the schedules tick every second).
WATCH_S = 2.5


@DBOS.workflow(name="schedules_strict.job")
def job(scheduled_time: datetime, context: Any) -> None:
    pass


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    clear_scheduled()
    yield
    DBOS.destroy()
    clear_scheduled()


def _created_ms(client: DBOSClient, name: str) -> list[int]:
    """When each stored run of schedule `name` was created (ms since the epoch), in order."""
    runs = client.list_workflows(schedule_name=name, load_input=False, load_output=False)
    return sorted(run.created_at for run in runs)


def _wait_for_ticks(client: DBOSClient, name: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(_created_ms(client, name)) < count:
        assert time.monotonic() < deadline, f"schedule {name!r} did not tick {count} times"
        time.sleep(0.05)


def _stop(client: DBOSClient, how: str, name: str) -> None:
    """Pause or delete schedule `name` from this process's DBOS or from `client`."""
    side, verb = how.split("-")
    target: Any = client if side == "client" else DBOS
    getattr(target, f"{verb}_schedule")(name)


@pytest.mark.parametrize("how", ["dbos-pause", "dbos-delete", "client-pause", "client-delete"])
def test_no_tick_is_created_once_a_pause_or_delete_returns(
    launch: Launch, dbos_system_database_url: str, how: str
) -> None:
    # The user's setting: a fast schedule, a one-second polling interval. A pause from a
    # client is not seen by the running process's scheduler until its next poll: only the
    # check at insert stops the ticks it fires meanwhile.
    launch(scheduler_polling_interval_sec=1)
    DBOS.create_schedule(schedule_name="s", workflow_fn=job, schedule="* * * * * *")
    with DBOSClient(dbos_system_database_url) as client:
        _wait_for_ticks(client, "s", 2)
        _stop(client, how, "s")
        returned_ms = int(time.time() * 1000)
        at_return = _created_ms(client, "s")
        time.sleep(WATCH_S)
        later = _created_ms(client, "s")
    assert [ms for ms in later if ms > returned_ms] == []
    assert later == at_return


def test_a_paused_schedule_can_still_be_backfilled_and_triggered(launch: Launch) -> None:
    # DBOS Transact 3.4: backfill_schedule and trigger_schedule ignore the status.
    launch(scheduler_polling_interval_sec=1)
    DBOS.create_schedule(schedule_name="s", workflow_fn=job, schedule="* * * * * *")
    DBOS.pause_schedule("s")
    end = datetime.now(timezone.utc).replace(microsecond=0)
    handles = DBOS.backfill_schedule("s", end - timedelta(seconds=3), end)
    assert len(handles) == 2
    triggered = DBOS.trigger_schedule("s")
    for handle in [*handles, triggered]:
        assert handle.get_result() is None


@pytest.mark.slow
def test_a_client_pause_stops_the_ticks_of_another_process(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    # The schedules run in a separate process (polling every 0.5 s); this process pauses one
    # and deletes the other through a client.
    process = subprocess.Popen(
        [sys.executable, str(APP), dbos_system_database_url, str(tmp_path), "40", "v1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DBOS__VMID": "strict-0"},
    )
    (tmp_path / "go").touch()
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob("ready-*")):  # launched (on SQLite: the file exists)
            assert time.monotonic() < deadline and process.poll() is None, process.stderr
            time.sleep(0.05)
        with DBOSClient(dbos_system_database_url) as client:
            _wait_for_ticks(client, "first", 2)
            _wait_for_ticks(client, "second", 2, timeout=30)
            client.pause_schedule("first")
            client.delete_schedule("second")
            returned_ms = int(time.time() * 1000)
            at_return = {name: _created_ms(client, name) for name in ("first", "second")}
            time.sleep(WATCH_S)
            later = {name: _created_ms(client, name) for name in ("first", "second")}
            assert process.poll() is None, process.communicate()[1]
    finally:
        process.kill()
        process.communicate(timeout=30)
    for name in ("first", "second"):
        assert [ms for ms in later[name] if ms > returned_ms] == [], name
    assert later == at_return
