"""``dbos queue list`` and ``dbos queue set`` (issue 15): the stored queues with their
settings, depth, running tasks and listeners, and a live change, on every backend."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import Queue, SystemStorage
from dbos.storage import StoredQueue
from dbos_client import DBOSClient

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
pytestmark = pytest.mark.slow


def dbos_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    env["DBOS_SYSTEM_DATABASE_URL"] = url
    command = [str(DBOS_COMMAND), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


def table_rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:]]


def test_queue_list_shows_settings_depth_running_and_listeners(
    launch: Launch, dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    url = dbos_system_database_url
    Queue("cli-orders", concurrency=5, worker_concurrency=2, limiter={"limit": 10, "period": 60})
    launch()
    # Tasks no process has the code of: they wait.
    with DBOSClient(url) as client:
        for index in range(2):
            client.enqueue({"workflow_name": "nobody.runs.this", "queue_name": "cli-orders"}, index)
    listed = {q["name"]: q for q in as_json(dbos_cli("queue", "list", "--json", url=url))}
    orders = listed["cli-orders"]
    assert (orders["concurrency"], orders["worker_concurrency"]) == (5, 2)
    assert orders["limiter"] == "10/60s"
    assert (orders["enqueued"], orders["pending"]) == (2, 0)
    [listener] = orders["listeners"]  # this test's process, by its lease
    assert listener.startswith("local@")  # the default executor ID
    rows = {row[0]: row for row in table_rows(ok(dbos_cli("queue", "list", url=url)))}
    assert rows["cli-orders"][1:3] == ["5", "2"]


def test_queue_set_changes_a_queue_live_and_refuses_bad_values(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    url = dbos_system_database_url
    dbos_storage.store_queue(StoredQueue("cli-live", concurrency=2), False, 1)
    changed = as_json(
        dbos_cli(
            "queue", "set", "cli-live", "--concurrency", "6", "--worker-concurrency", "3",
            "--limit", "4", "--period", "2", "--json", url=url,
        )
    )  # fmt: skip
    assert [(q["concurrency"], q["worker_concurrency"], q["limiter"]) for q in changed] == [
        (6, 3, "4/2s")
    ]
    stored = dbos_storage.get_queue("cli-live")
    assert stored is not None and (stored.concurrency, stored.rate_limit_max) == (6, 4)
    ok(dbos_cli("queue", "set", "cli-live", "--concurrency", "0", "--limit", "0", url=url))
    stored = dbos_storage.get_queue("cli-live")
    assert stored is not None and (stored.concurrency, stored.rate_limit_max) == (None, None)
    refused = dbos_cli("queue", "set", "cli-live", "--concurrency", "1", url=url)
    assert refused.returncode == 1 and "cannot exceed" in refused.stderr
    assert dbos_storage.get_queue("cli-live") == stored  # nothing changed
    missing = dbos_cli("queue", "set", "nothing-here", "--concurrency", "1", url=url)
    assert missing.returncode == 1 and "no queue named 'nothing-here'" in missing.stderr
    # Printed as every error is: one line ending with the error class.
    assert missing.stderr.strip().endswith("is stored (DBOSException)"), missing.stderr


def test_queue_set_changes_partition_limits_and_list_shows_them(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    url = dbos_system_database_url
    dbos_storage.store_queue(StoredQueue("cli-tenants", partition_queue=True), False, 1)
    changed = as_json(
        dbos_cli(
            "queue", "set", "cli-tenants", "--concurrency", "4", "--worker-concurrency", "3",
            "--partition-concurrency", "2", "--partition-worker-concurrency", "1", "--json",
            url=url,
        )
    )  # fmt: skip
    assert [
        (q["concurrency"], q["partition_concurrency"], q["partition_worker_concurrency"])
        for q in changed
    ] == [(4, 2, 1)]
    rows = {row[0]: row for row in table_rows(ok(dbos_cli("queue", "list", url=url)))}
    assert rows["cli-tenants"][4] == "yes, 2 each, 1 each per process"
    refused = dbos_cli(
        "queue", "set", "cli-tenants", "--partition-worker-concurrency", "5", url=url
    )
    assert refused.returncode == 1 and "partition_worker_concurrency (5) cannot" in refused.stderr
    stored = dbos_storage.get_queue("cli-tenants")
    assert stored is not None and stored.partition_worker_concurrency == 1


def test_queue_set_applies_its_options_together_or_not_at_all(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    url = dbos_system_database_url
    dbos_storage.store_queue(
        StoredQueue("cli-whole", concurrency=6, worker_concurrency=3), False, 1
    )
    before = dbos_storage.get_queue("cli-whole")
    # The new concurrency is fine alone, the worker concurrency is not: neither is written.
    refused = dbos_cli(
        "queue", "set", "cli-whole", "--concurrency", "8", "--worker-concurrency", "9", url=url
    )
    assert refused.returncode == 1 and "worker_concurrency (9) cannot exceed" in refused.stderr
    assert dbos_storage.get_queue("cli-whole") == before
    # A usage error (a rate limit without its period) changes nothing either.
    usage = dbos_cli("queue", "set", "cli-whole", "--concurrency", "5", "--limit", "3", url=url)
    assert usage.returncode == 2 and "--limit and --period together" in usage.stderr
    assert dbos_storage.get_queue("cli-whole") == before
    # Lowering both limits is valid as a whole, though not one option after the other.
    ok(
        dbos_cli(
            "queue", "set", "cli-whole", "--concurrency", "2", "--worker-concurrency", "1", url=url
        )
    )
    stored = dbos_storage.get_queue("cli-whole")
    assert stored is not None and (stored.concurrency, stored.worker_concurrency) == (2, 1)


def test_queue_set_changes_the_partition_rate_limit(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    url = dbos_system_database_url
    dbos_storage.store_queue(StoredQueue("cli-plimit", partition_queue=True), False, 1)
    [changed] = as_json(
        dbos_cli(
            "queue", "set", "cli-plimit", "--partition-limit", "3", "--partition-period", "10",
            "--json", url=url,
        )
    )  # fmt: skip
    assert changed["partition_limiter"] == "3/10s"
    ok(dbos_cli("queue", "set", "cli-plimit", "--partition-limit", "0", url=url))
    stored = dbos_storage.get_queue("cli-plimit")
    assert stored is not None and stored.partition_rate_limit_max is None
