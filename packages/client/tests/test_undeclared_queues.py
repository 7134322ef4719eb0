"""Work named onto a queue that no process has declared (no stored queue of that name) would
wait forever without a word, on every backend: `DBOS.create_schedule` and
`DBOS.apply_schedules` refuse such a queue (DBOS Transact 3.4); `rewind_workflow` (on `DBOS`
and `DBOSClient`), ``dbos workflow rewind --queue`` and a client's `create_schedule` accept it
as 3.4 does, with a WARNING naming the queue."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, DBOSException, Queue, SetWorkflowID
from dbos_client import DBOSClient

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
WAITS = "waits until a process declares it"


@DBOS.workflow(name="undeclared_queues.job")
def job(scheduled_time: datetime, context: Any) -> None:
    pass


@DBOS.workflow(name="undeclared_queues.done")
def done() -> str:
    return "done"


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    yield
    DBOS.destroy()


def warnings_about(caplog: pytest.LogCaptureFixture, queue: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and repr(queue) in r.getMessage()
    ]


def test_a_schedule_on_an_undeclared_queue_is_refused_and_stores_nothing(
    launch: Launch, dbos_system_database_url: str
) -> None:
    Queue("declared-q")
    launch()
    with pytest.raises(DBOSException, match="queue 'nope-q' is not declared"):
        DBOS.create_schedule(
            schedule_name="s", workflow_fn=job, schedule="* * * * *", queue_name="nope-q"
        )
    assert DBOS.get_schedule("s") is None
    entries: list[Any] = [
        {"schedule_name": "a", "workflow_fn": job, "schedule": "* * * * *"},
        {"schedule_name": "b", "workflow_fn": job, "schedule": "* * * * *", "queue_name": "x"},
    ]
    with pytest.raises(DBOSException, match="schedule entry 1: queue 'x' is not declared"):
        DBOS.apply_schedules(entries)
    assert DBOS.list_schedules() == []
    # Declared here, stored by another process (a client), or DBOS's own: accepted.
    with DBOSClient(dbos_system_database_url) as client:
        client.register_queue("stored-q")
    for index, queue in enumerate(["declared-q", "stored-q"]):
        DBOS.create_schedule(
            schedule_name=f"ok-{index}", workflow_fn=job, schedule="* * * * *", queue_name=queue
        )
    fixed: Any = {**entries[1], "queue_name": "declared-q"}
    DBOS.apply_schedules([fixed])
    stored = {s["schedule_name"]: s["queue_name"] for s in DBOS.list_schedules()}
    assert stored == {"ok-0": "declared-q", "ok-1": "stored-q", "b": "declared-q"}


def test_a_client_schedule_on_an_undeclared_queue_is_stored_with_a_warning(
    launch: Launch, dbos_system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    launch()
    caplog.set_level(logging.WARNING, logger="dbos")
    with DBOSClient(dbos_system_database_url) as client:
        client.create_schedule(
            schedule_name="c",
            workflow_name="undeclared_queues.job",
            schedule="* * * * *",
            queue_name="nope-q",
        )
        stored = client.get_schedule("c")
        assert stored is not None and stored["queue_name"] == "nope-q"
        (message,) = warnings_about(caplog, "nope-q")
        assert "schedule 'c'" in message and WAITS in message
        caplog.clear()
        client.register_queue("stored-q")
        client.apply_schedules(
            [
                {
                    "schedule_name": "d",
                    "workflow_name": "undeclared_queues.job",
                    "schedule": "* * * * *",
                    "queue_name": "stored-q",
                }
            ]
        )
        assert warnings_about(caplog, "stored-q") == []


def test_a_rewind_onto_an_undeclared_queue_warns(
    launch: Launch, dbos_system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    Queue("declared-q")
    launch()
    with SetWorkflowID("w1"):
        assert done() == "done"
    caplog.set_level(logging.WARNING, logger="dbos")
    DBOS.rewind_workflow("w1", queue_name="nope")
    (message,) = warnings_about(caplog, "nope")
    assert "rewind of workflow 'w1'" in message and WAITS in message
    DBOS.cancel_workflow("w1")
    caplog.clear()
    with DBOSClient(dbos_system_database_url) as client:
        client.rewind_workflow("w1", queue_name="nope-2")
        assert len(warnings_about(caplog, "nope-2")) == 1
        client.cancel_workflow("w1")
        client.rewind_workflow("w1", queue_name="declared-q")  # stored at launch
        assert warnings_about(caplog, "declared-q") == []
    assert DBOS.retrieve_workflow("w1").get_result(timeout_seconds=30) == "done"
    # The command prints the warning and still rewinds (exit code 0).
    DBOS.destroy()
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    env["DBOS_SYSTEM_DATABASE_URL"] = dbos_system_database_url
    result = subprocess.run(
        [str(DBOS_COMMAND), "workflow", "rewind", "w1", "--queue", "nope-3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "w1"
    assert "'nope-3'" in result.stderr and WAITS in result.stderr, result.stderr
