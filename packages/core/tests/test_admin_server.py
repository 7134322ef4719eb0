"""The admin server (issue 16): off by default; ``run_admin_server`` / ``admin_port`` turn it
on. ``/dbos-healthz`` answers 200 only while the system database answers and the background
threads run, else 503 with the reasons; ``/dbos-metrics`` is the JSON view. Over real HTTP,
on every backend."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from dbos import DBOS, DBOSConfigError, Queue
from dbos._launched import launched_engine
from dbos_testing import FaultInjector

Launch = Callable[..., None]

admin_queue = Queue("admin-queue", polling_interval_sec=0.05)


@DBOS.workflow()
def admin_task(x: int) -> int:
    return x * 2


def _address() -> tuple[str, int]:
    instance = DBOS._instance
    assert instance is not None and instance._observability is not None
    server = instance._observability.admin_server
    assert server is not None
    return server.address


def get(path: str) -> tuple[int, dict[str, Any]]:
    host, port = _address()
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_off_by_default_and_with_run_admin_server_false(launch: Launch) -> None:
    launch()
    instance = DBOS._instance
    assert instance is not None and instance._observability is not None
    assert instance._observability.admin_server is None
    launch(admin_port=0, run_admin_server=False)
    assert instance is not None
    assert DBOS._instance is not None and DBOS._instance._observability is not None
    assert DBOS._instance._observability.admin_server is None


def test_healthy_process_answers_200_and_the_metrics_view(launch: Launch) -> None:
    launch(admin_port=0)  # port 0: the system picks a free one
    host, _ = _address()
    assert host == "127.0.0.1"
    assert get("/dbos-healthz") == (200, {"status": "healthy"})
    assert admin_queue.enqueue(admin_task, 4).get_result() == 8
    code, view = get("/dbos-metrics")
    assert code == 200
    assert view["status"] == "healthy"
    assert view["background"] == {"heartbeat": True, "queue_worker": True, "scheduler": True}
    assert view["workflows_ended"][admin_task.__qualname__] == {"SUCCESS": 1}
    assert view["workflows_started"][admin_task.__qualname__] == 1
    assert isinstance(view["queues"], dict)
    assert view["lease_age_s"] is not None and view["lease_age_s"] >= 0
    assert get("/nothing-here")[0] == 404


def test_head_answers_the_status_and_other_methods_a_json_405(launch: Launch) -> None:
    launch(admin_port=0)
    host, port = _address()
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("HEAD", "/dbos-healthz")
        head = connection.getresponse()
        assert (head.status, head.read()) == (200, b"")
        for method in ("POST", "PUT", "DELETE"):
            connection.request(method, "/dbos-healthz", body=b"{}")
            refused = connection.getresponse()
            assert refused.status == 405 and refused.getheader("Allow") == "GET, HEAD"
            assert refused.getheader("Content-Type") == "application/json"
            assert json.loads(refused.read()) == {"error": f"{method} not allowed: GET only"}
    finally:
        connection.close()


def test_unreachable_database_answers_503_with_the_reason(
    launch: Launch, dbos_faults: FaultInjector
) -> None:
    launch(admin_port=0)
    dbos_faults.fail("get_workflow", fraction=1.0)
    code, body = get("/dbos-healthz")
    assert code == 503
    assert body["status"] == "unhealthy"
    assert any("system database unreachable" in reason for reason in body["reasons"])
    dbos_faults.clear()
    assert get("/dbos-healthz")[0] == 200


def test_a_real_outage_answers_503_and_200_once_the_database_is_back(
    launch: Launch, dbos_backend: str, dbos_system_database_url: str, dbos_faults: FaultInjector
) -> None:
    """Postgres refuses every new connection to the system database and drops the open ones
    (no fault injection): the health check says the database is unreachable, then healthy
    again once connections are allowed."""
    if dbos_backend != "postgres":
        pytest.skip("a server that refuses connections: Postgres only")
    import psycopg
    from psycopg import sql

    parts = urlsplit(dbos_system_database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    database = sql.Identifier(parts.path.lstrip("/"))
    launch(admin_port=0, sys_db_retry_timeout_sec=1)
    assert get("/dbos-healthz")[0] == 200
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database))
        try:
            dbos_faults.drop_connections()
            code, body = get("/dbos-healthz")
            assert code == 503, body
            assert any("system database unreachable" in r for r in body["reasons"]), body
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database))
    deadline = time.monotonic() + 60
    while get("/dbos-healthz")[0] != 200:
        assert time.monotonic() < deadline, "still unhealthy a minute after the outage"
        time.sleep(0.2)


def test_a_stopped_background_thread_answers_503(launch: Launch) -> None:
    launch(admin_port=0)
    assert get("/dbos-healthz")[0] == 200
    launched_engine().queue_worker.stop()
    code, body = get("/dbos-healthz")
    assert code == 503
    assert "the queue_worker thread is not running" in body["reasons"]


def test_admin_host_and_a_taken_port(launch: Launch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DBOSConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            launch(admin_port=port)
    DBOS.destroy()
    launch(admin_port=0, admin_host="localhost")
    assert get("/dbos-healthz")[0] == 200


@DBOS.workflow()
def waits_for_go() -> str:
    return str(DBOS.recv("go", timeout_seconds=60))


def test_the_metrics_view_counts_resumed_executions_and_ended_statuses(launch: Launch) -> None:
    launch(admin_port=0)
    handle = DBOS.start_workflow(waits_for_go)
    DBOS.cancel_workflow(handle.workflow_id)
    deadline = time.monotonic() + 30
    while get("/dbos-metrics")[1]["workflows_ended"].get(waits_for_go.__qualname__) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    resumed = DBOS.resume_workflow(handle.workflow_id)
    DBOS.send(handle.workflow_id, "now", "go")
    assert resumed.get_result() == "now"
    view = get("/dbos-metrics")[1]
    name = waits_for_go.__qualname__
    assert view["workflows_started"][name] == 2
    assert view["workflows_recovered"][name] == 1
    assert view["workflows_ended"][name] == {"CANCELLED": 1, "SUCCESS": 1}
