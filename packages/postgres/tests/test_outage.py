"""Real outages, longer than the retry budget of calls that may give up: the test's own
Postgres server is stopped, then started again. Workflows waiting in DBOS.recv and between
steps end SUCCESS with no step run twice, the pool serves a new workflow within seconds of
the server's return, and callers outside workflows give up after their budget."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from dbos import DBOS, DBOSConnectionError, SetWorkflowID
from dbos.management import DEFAULT_RETRY_TIMEOUT_S
from dbos.storage import WAKE_MESSAGE
from dbos_client import DBOSClient
from dbos_testing import CrashPlan
from dbos_testing import _postgres_server as pg
from dbos_testing._postgres_binaries import ThrowawayServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.timeout(300)]

#: Longer than the default retry budget, which used to bound workflows' calls too.
OUTAGE_S = DEFAULT_RETRY_TIMEOUT_S + 5
#: Generous: the pool reconnects within about a second of the server's return.
SERVES_AGAIN_WITHIN_S = 10.0

at_recv = threading.Event()
at_gate = threading.Event()
gate = threading.Event()


@DBOS.step()
def outage_server_step(x: int) -> int:
    return x * 2


@DBOS.workflow()
def waits_for_a_message() -> str:
    at_recv.set()
    return f"got {DBOS.recv('topic', timeout_seconds=600)}"


@DBOS.workflow()
def waits_between_steps() -> int:
    first = outage_server_step(1)
    at_gate.set()
    gate.wait(120)
    return first + outage_server_step(2) + outage_server_step(3)


@DBOS.workflow()
def after_the_outage() -> int:
    return outage_server_step(10)


@pytest.fixture
def own_server(dbos_backend: str) -> Iterator[ThrowawayServer]:
    try:
        with pg.stoppable_server() as server:
            yield server
    except pg.PostgresUnavailable as exc:
        pytest.skip(str(exc))


def test_workflows_outlast_a_long_outage(
    own_server: ThrowawayServer,
    dbos_crash: CrashPlan,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    pg.run_admin(own_server.admin_url, 'CREATE DATABASE "outage"')
    url = pg.with_database(own_server.admin_url, "outage")
    DBOS.destroy()
    DBOS(config={"name": "outage-server-test", "system_database_url": url})
    DBOS.launch()
    for event in (at_recv, at_gate, gate):
        event.clear()
    try:
        with SetWorkflowID("receiver"):
            receiver = DBOS.start_workflow(waits_for_a_message)
        with SetWorkflowID("stepper"):
            stepper = DBOS.start_workflow(waits_between_steps)
        assert at_recv.wait(10) and at_gate.wait(10)

        own_server.stop()
        gate.set()  # the stepper's next checkpoints fall in the outage
        time.sleep(OUTAGE_S)
        own_server.start()
        back = time.monotonic()

        with SetWorkflowID("after"):
            assert after_the_outage() == 20
        serves_again_s = time.monotonic() - back
        print(f"\npool served a new workflow {serves_again_s:.2f} s after the server was back")
        assert serves_again_s < SERVES_AGAIN_WITHIN_S

        # The listener LISTENs again once reconnected (within its 2 s backoff): a message
        # sent from another process wakes the receiver by notification, not only by polling.
        time.sleep(3)
        waiter = DBOS._launched_engine().wakeups.register(WAKE_MESSAGE, "receiver")
        with DBOSClient(url) as other_process:
            other_process.send("receiver", "hello", "topic")
        assert waiter.wait(5), "no notification after the reconnect"
        assert receiver.get_result() == "got hello"
        assert stepper.get_result() == 2 + 4 + 6
        for workflow_id in ("receiver", "stepper"):
            status = DBOS.get_workflow_status(workflow_id)
            assert status is not None and status.status == "SUCCESS"
            assert all(step["error"] is None for step in DBOS.list_workflow_steps(workflow_id))
        assert dbos_crash.ran("outage_server_step", "stepper") == 3  # none ran twice
    finally:
        gate.set()
        DBOS.destroy()
    # Reported now and then, not on every retry: at the start, every 30 s, at the end.
    reports = [
        r
        for r in caplog.records
        if r.name == "dbos" and "unreachable" in r.getMessage() and r.levelno == logging.WARNING
    ]
    assert 1 <= len(reports) <= OUTAGE_S // 30 + 1
    # Nor by the pool's reconnection attempts, nor by the listener's (once when it lost its
    # connection), which used to warn on every attempt.
    assert not [
        r
        for r in caplog.records
        if r.name == "psycopg.pool"
        and ("error connecting" in str(r.msg) or "reconnection attempt" in str(r.msg))
    ]
    listener = [r for r in caplog.records if "listener lost" in r.getMessage()]
    assert len(listener) == 1


def test_callers_outside_workflows_give_up_after_their_budget(
    own_server: ThrowawayServer,
) -> None:
    budget_s = 2.0
    pg.run_admin(own_server.admin_url, 'CREATE DATABASE "outage"')
    url = pg.with_database(own_server.admin_url, "outage")
    DBOS.destroy()
    DBOS(
        config={
            "name": "outage-budget-test",
            "system_database_url": url,
            "sys_db_retry_timeout_sec": budget_s,
        }
    )
    DBOS.launch()
    at_recv.clear()
    client = DBOSClient(url, sys_db_retry_timeout_sec=budget_s)
    try:
        with SetWorkflowID("receiver"):
            receiver = DBOS.start_workflow(waits_for_a_message)
        assert at_recv.wait(10)
        own_server.stop()
        stopped = time.monotonic()
        callers: list[Callable[[], object]] = [
            lambda: client.get_workflow_status("receiver"),
            lambda: DBOS.get_workflow_status("receiver"),
        ]
        for give_up in callers:
            started = time.monotonic()
            with pytest.raises(DBOSConnectionError, match="sys_db_retry_timeout_sec"):
                give_up()
            elapsed = time.monotonic() - started
            print(f"\ngave up after {elapsed:.2f} s with a budget of {budget_s} s")
            # The budget counts from the first failure; an attempt waits for a connection
            # no longer than the budget (not the default 10 s): the first, and the last.
            assert budget_s <= elapsed <= 3 * budget_s + 1, elapsed
        time.sleep(max(0.0, 4 * budget_s - (time.monotonic() - stopped)))
        own_server.start()
        # The workflow waited through an outage longer than the budget, unharmed.
        DBOS.send("receiver", "hello", "topic")
        assert receiver.get_result() == "got hello"
        status = client.get_workflow_status("receiver")
        assert status is not None and status.status == "SUCCESS"
    finally:
        client.destroy()
        DBOS.destroy()
