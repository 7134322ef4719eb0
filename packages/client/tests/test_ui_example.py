"""examples/dashboard.py runs its shop on the test's database; the dashboard then shows its
orders: the shipped ones, the failed one with its traceback, the one held on the queue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import StartUI
from .test_ui_http import request

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "dashboard.py"


@pytest.mark.slow
def test_the_example_shop_in_the_dashboard(
    dbos_system_database_url: str, ui_server: StartUI
) -> None:
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "order-1: order-1 shipped" in result.stdout
    assert f"dbos ui --db-url {dbos_system_database_url}" in result.stdout
    server = ui_server()
    listing = request(server, "GET", "/workflows").body
    for number in range(1, 5):
        assert f'data-workflow-id="order-{number}"' in listing
    failed = request(server, "GET", "/workflows/order-3").body
    assert "card declined for order-3" in failed and 'id="traceback"' in failed
    waiting = request(server, "GET", "/workflows/order-4").body
    assert 'id="workflow-status">ENQUEUED<' in waiting
    assert request(server, "GET", "/workflows?queue=orders").body.count("data-workflow-id=") == 4
    queues = request(server, "GET", "/queues").body
    row = queues.partition('<tr data-queue="orders">')[2].partition("</tr>")[0]
    assert '<span class="setting" data-setting="concurrency">concurrency: 2</span>' in row
    assert "<td>1</td><td>0</td>" in row  # the held order waits, none runs


def test_the_example_never_prints_the_database_password(
    dbos_backend: str, dbos_system_database_url: str
) -> None:
    if dbos_backend != "postgres":
        pytest.skip("a URL with a password: Postgres")
    scheme, rest = dbos_system_database_url.split("://", 1)
    user, host = rest.rsplit("@", 1) if "@" in rest else ("postgres", rest)
    # The test server trusts local connections, so the password is ignored but present.
    url = f"{scheme}://{user.split(':')[0]}:pw-never-shown@{host}"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": url}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pw-never-shown" not in result.stdout + result.stderr
    assert "dbos ui  # reads DBOS_SYSTEM_DATABASE_URL" in result.stdout
