"""psycopg_pool's records about the system pool stay out of the user's output: connections
killed under a running workflow (as in an outage) leave no `discarding closed connection:
<psycopg.Connection [BAD] ...>` line (it went to stderr unformatted where logging is not
configured); the workflow still finishes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
import pytest

from dbos import DBOS

Launch = Callable[..., None]
pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.timeout(120)]
APP = "pool-noise-app"


@DBOS.step()
def short_step(i: int) -> int:
    time.sleep(0.05)
    return i


@DBOS.workflow()
def many_steps(n: int) -> int:
    return sum(short_step(i) for i in range(n))


def test_killed_connections_are_not_reported_by_the_pool(
    dbos_system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="psycopg.pool")
    DBOS.destroy()
    DBOS(config={"name": APP, "system_database_url": dbos_system_database_url})
    try:
        DBOS.launch()
        handle = DBOS.start_workflow(many_steps, 40)
        with psycopg.connect(dbos_system_database_url, autocommit=True) as admin:
            killed = 0
            for _ in range(10):
                row = admin.execute(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                    "where application_name = %s and pid <> pg_backend_pid()",
                    (APP,),
                ).fetchone()
                killed += row[0] if row else 0
                time.sleep(0.2)
        assert killed > 0
        assert handle.get_result(timeout_seconds=60) == sum(range(40))
    finally:
        DBOS.destroy()
    noisy = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("psycopg.pool") and r.levelno >= logging.WARNING
    ]
    assert noisy == []
