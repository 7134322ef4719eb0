"""`DBOSClient` and the `dbos` command retry connection errors within a budget
(``sys_db_retry_timeout_sec``, ``--retry-timeout``), then give up with a clear error.
(``dbos_storage`` only sets up the database the client opens)."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from dbos import DBOSConfigError, DBOSConnectionError, SystemStorage
from dbos_client import DBOSClient
from dbos_client._cli import cli
from dbos_testing import FaultInjector


def test_a_client_call_rides_out_a_dropped_connection(
    dbos_system_database_url: str, dbos_storage: SystemStorage, dbos_faults: FaultInjector
) -> None:
    with DBOSClient(dbos_system_database_url) as client:
        dbos_faults.fail("list_workflows", nth=1)
        assert client.list_workflows() == []
        assert dbos_faults.injected["list_workflows"] == 1


def test_a_client_gives_up_after_its_budget(
    dbos_system_database_url: str, dbos_storage: SystemStorage, dbos_faults: FaultInjector
) -> None:
    with DBOSClient(dbos_system_database_url, sys_db_retry_timeout_sec=0.3) as client:
        dbos_faults.fail(fraction=1.0)
        started = time.monotonic()
        with pytest.raises(DBOSConnectionError, match=r"sys_db_retry_timeout_sec is 0\.3"):
            client.list_workflows()
        assert 0.3 <= time.monotonic() - started < 2.0
    with DBOSClient(dbos_system_database_url, retry_connection_errors=False) as client:
        with pytest.raises(DBOSConnectionError):
            client.list_workflows()
        assert dbos_faults.calls["list_workflows"] == dbos_faults.injected["list_workflows"]


def test_a_bad_budget_is_refused(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    for bad in (-1, float("inf"), True, "10"):
        with pytest.raises(DBOSConfigError, match="sys_db_retry_timeout_sec"):
            DBOSClient(dbos_system_database_url, sys_db_retry_timeout_sec=bad)  # type: ignore[arg-type]


def test_the_command_line_retries_within_its_budget(
    dbos_system_database_url: str, dbos_storage: SystemStorage, dbos_faults: FaultInjector
) -> None:
    runner = CliRunner()
    base = ["--db-url", dbos_system_database_url]
    dbos_faults.fail("list_workflows", nth=1)
    result = runner.invoke(cli, [*base, "workflow", "list", "--json"])
    assert result.exit_code == 0, result.output
    dbos_faults.fail(fraction=1.0)
    result = runner.invoke(
        cli,
        [*base, "workflow", "list"],
        env={"DBOS_SYS_DB_RETRY_TIMEOUT_SEC": "0.2"},
    )
    assert result.exit_code == 1
    assert "sys_db_retry_timeout_sec is 0.2" in result.output
    result = runner.invoke(cli, [*base, "--retry-timeout", "-1", "workflow", "list"])
    assert result.exit_code == 2 and "--retry-timeout" in result.output
