"""Outages longer than the retry budget (simulated: every storage call fails while one lasts):
a workflow's waits, checkpoints and finish outlast them and no transient error becomes an
outcome; callers that must give up do so after ``sys_db_retry_timeout_sec``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dbos import DBOS, DBOSConnectionError, SetWorkflowID
from dbos_client import DBOSClient
from dbos_testing import CrashPlan, FaultInjector

BUDGET_S = 0.3
OUTAGE_S = 1.5  # five times the budget


@DBOS.step()
def outage_step(x: int) -> int:
    return x * 2


at_recv = threading.Event()
at_gate = threading.Event()
gate = threading.Event()


@DBOS.workflow()
def outage_receiver() -> str:
    at_recv.set()
    message = DBOS.recv("topic", timeout_seconds=60)
    return f"got {message}"


@DBOS.workflow()
def outage_stepper() -> int:
    first = outage_step(1)
    at_gate.set()
    gate.wait(30)
    return first + outage_step(2) + outage_step(3)


@pytest.fixture
def short_budget(dbos_system_database_url: str) -> Iterator[type[DBOS]]:
    """DBOS launched with a retry budget far shorter than the outages of these tests."""
    DBOS.destroy()
    DBOS(
        config={
            "name": "outage-test",
            "system_database_url": dbos_system_database_url,
            "sys_db_retry_timeout_sec": BUDGET_S,
        }
    )
    DBOS.launch()
    for event in (at_recv, at_gate, gate):
        event.clear()
    yield DBOS
    gate.set()
    DBOS.destroy()


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dbos" and r.levelno == logging.WARNING and text in r.getMessage()
    ]


def test_waits_and_checkpoints_outlast_the_budget(
    short_budget: type[DBOS],
    dbos_faults: FaultInjector,
    dbos_crash: CrashPlan,
    dbos_system_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dbos")
    client = DBOSClient(dbos_system_database_url, sys_db_retry_timeout_sec=BUDGET_S)
    try:
        with SetWorkflowID("receiver"):
            receiver = DBOS.start_workflow(outage_receiver)
        with SetWorkflowID("stepper"):
            stepper = DBOS.start_workflow(outage_stepper)
        assert at_recv.wait(10) and at_gate.wait(10)

        dbos_faults.fail(fraction=1.0)  # the outage begins
        gate.set()  # the stepper's next checkpoints fall in the outage
        # Callers outside workflows give up after the budget, with a clear error.
        callers: list[Callable[[], object]] = [
            lambda: DBOS.retrieve_workflow("receiver").get_status(),
            lambda: client.get_workflow_status("receiver"),
        ]
        for give_up in callers:
            started = time.monotonic()
            with pytest.raises(DBOSConnectionError, match="sys_db_retry_timeout_sec"):
                give_up()
            assert BUDGET_S <= time.monotonic() - started < OUTAGE_S
        time.sleep(OUTAGE_S)
        dbos_faults.clear()  # the outage ends

        DBOS.send("receiver", "hello", "topic")
        assert receiver.get_result() == "got hello"
        assert stepper.get_result() == 2 + 4 + 6
        for workflow_id in ("receiver", "stepper"):
            status = client.get_workflow_status(workflow_id)
            assert status is not None and status.status == "SUCCESS"
            assert all(s["error"] is None for s in client.list_workflow_steps(workflow_id))
        assert dbos_crash.ran("outage_step", "stepper") == 3  # none ran twice
    finally:
        client.destroy()
    # Many retries, few words: one warning as it began, one as it ended.
    assert sum(dbos_faults.injected.values()) > 5
    assert len(_warnings(caplog, "unreachable")) == 2  # the app's storage, the client's
    assert len(_warnings(caplog, "reachable again")) == 2


def test_a_connection_error_in_a_workflow_is_not_its_outcome(
    dbos: type[DBOS], dbos_crash: CrashPlan
) -> None:
    attempts: list[int] = []

    @DBOS.step()
    def reads_the_database() -> str:
        attempts.append(1)
        if len(attempts) == 1:  # as a DBOSClient call that gave up would
            raise DBOSConnectionError("system database unreachable")
        return "read"

    @DBOS.workflow()
    def reader() -> str:
        outage_step(1)
        return reads_the_database()

    with SetWorkflowID("reader"):
        assert reader() == "read"
    status = DBOS.get_workflow_status("reader")
    assert status is not None and status.status == "SUCCESS"
    steps = DBOS.list_workflow_steps("reader")
    assert [s["error"] for s in steps] == [None, None]
    assert len(attempts) == 2
    assert dbos_crash.ran("outage_step", "reader") == 1  # replayed, not run again
