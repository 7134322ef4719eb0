"""``dbos workflow fork`` with DBOS Transact 3.4's fork options (``--queue``,
``--partition-key``, ``--timeout``, ``--replace-child``), against a running app on every
backend, through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dbos import DBOS, Queue, SetWorkflowID

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"
pytestmark = pytest.mark.slow


def dbos_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DBOS_SYSTEM_DATABASE_URL"}
    env["DBOS_SYSTEM_DATABASE_URL"] = url
    return subprocess.run(
        [str(DBOS_COMMAND), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def forked_id(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    workflow_id = json.loads(result.stdout)["workflow_id"]
    assert isinstance(workflow_id, str)
    return workflow_id


def test_cli_fork_options(launch: Launch, dbos_system_database_url: str) -> None:
    url = dbos_system_database_url

    @DBOS.step()
    def pack(x: int) -> str:
        return f"packed {x}"

    @DBOS.workflow()
    def packing(x: int) -> str:
        return pack(x)

    @DBOS.workflow()
    def fulfil(x: int) -> str:
        return DBOS.start_workflow(packing, x).get_result() + ", shipped"

    Queue("cli-parts", partition_queue=True)
    launch()
    with SetWorkflowID("order"):
        assert fulfil(1) == "packed 1, shipped"
    old_child = DBOS.list_workflow_steps("order")[0]["child_workflow_id"]
    assert old_child is not None
    with SetWorkflowID("new-child"):
        DBOS.fork_workflow(old_child, 1).get_result(timeout_seconds=30)

    fork = forked_id(
        dbos_cli(
            "workflow", "fork", "order", "--step", "2", "--queue", "cli-parts",
            "--partition-key", "p-1", "--timeout", "90", "--replace-child",
            f"{old_child}=new-child", "--json", url=url,
        )
    )  # fmt: skip
    assert DBOS.retrieve_workflow(fork).get_result(timeout_seconds=30) == "packed 1, shipped"
    status = DBOS.get_workflow_status(fork)
    assert status is not None
    assert (status.queue_name, status.queue_partition_key) == ("cli-parts", "p-1")
    assert status.workflow_timeout_ms == 90_000
    assert DBOS.list_workflow_steps(fork)[0]["child_workflow_id"] == "new-child"

    # A key the queue does not take: exit 1 with the reason; bad option values: exit 2.
    unkeyed = dbos_cli("workflow", "fork", "order", "--queue", "cli-parts", url=url)
    assert unkeyed.returncode == 1 and "queue 'cli-parts' is partitioned" in unkeyed.stderr
    for option, value, message in (
        ("--timeout", "0", "--timeout"),
        ("--replace-child", "no-equals-sign", "is not OLD=NEW"),
    ):
        bad = dbos_cli("workflow", "fork", "order", option, value, url=url)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
