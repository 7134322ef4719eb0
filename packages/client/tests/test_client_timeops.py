"""Moving workflows in time from outside the app (issue 13, item 5): `DBOSClient`'s
`rewind_workflow` and `set_workflow_delay` (+ async) and the ``dbos workflow rewind`` and
``dbos workflow set-delay`` commands, on every backend."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbos import DBOS, DBOSException, Queue, SetEnqueueOptions, SetWorkflowID
from dbos_client import DBOSClient

Launch = Callable[..., None]
DBOS_COMMAND = Path(sys.executable).parent / "dbos"


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


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(result))


class Outage(Exception):
    pass


def test_client_rewinds_and_moves_delays(launch: Launch, dbos_system_database_url: str) -> None:
    runs: Counter[str] = Counter()
    down = {"on": True}
    queue = Queue("client-later")

    @DBOS.step()
    def load() -> int:
        runs["load"] += 1
        return 2

    @DBOS.step()
    def publish(x: int) -> str:
        runs["publish"] += 1
        if down["on"]:
            raise Outage("down")
        return f"published {x}"

    @DBOS.workflow(name="timeops-report")
    def report() -> str:
        return publish(load())

    @DBOS.workflow(name="timeops-task")
    def task(x: int) -> int:
        return x

    launch()
    with SetWorkflowID("report-1"), pytest.raises(Outage):
        report()
    down["on"] = False
    client = DBOSClient(dbos_system_database_url)
    try:
        handle = client.rewind_workflow("report-1", start_step=2)
        assert handle.get_result(timeout_seconds=30) == "published 2"
        assert runs == Counter(load=1, publish=2)
        with pytest.raises(DBOSException, match="start_step"):
            client.rewind_workflow("report-1", start_step=-1)

        async def rewind_async() -> str:
            rewound = await client.rewind_workflow_async("report-1")
            result: str = await rewound.get_result(timeout_seconds=30)
            return result

        assert asyncio.run(rewind_async()) == "published 2"
        assert runs == Counter(load=2, publish=3)

        with SetWorkflowID("delayed"), SetEnqueueOptions(delay_seconds=3600):
            delayed = queue.enqueue(task, 7)
        assert client.set_workflow_delay("delayed", delay_seconds=0)
        assert delayed.get_result(timeout_seconds=30) == 7
        assert not asyncio.run(client.set_workflow_delay_async("delayed", delay_seconds=5))
    finally:
        client.destroy()


def test_cli_rewind_and_set_delay(launch: Launch, dbos_system_database_url: str) -> None:
    url = dbos_system_database_url
    runs: Counter[str] = Counter()
    queue = Queue("cli-later")

    @DBOS.step()
    def count() -> int:
        runs["count"] += 1
        return runs["count"]

    @DBOS.workflow(name="timeops-counter")
    def counter() -> int:
        return count()

    launch()
    with SetWorkflowID("counter-1"):
        assert counter() == 1
    assert as_json(dbos_cli("workflow", "rewind", "counter-1", "--json", url=url)) == {
        "workflow_id": "counter-1"
    }
    assert DBOS.retrieve_workflow("counter-1").get_result(timeout_seconds=30) == 2
    # Queued or running workflows are refused, with a clear message and exit code 1.
    with SetWorkflowID("counter-later"), SetEnqueueOptions(delay_seconds=3600):
        later = queue.enqueue(counter)
    refused = dbos_cli("workflow", "rewind", "counter-later", url=url)
    assert refused.returncode == 1 and "terminal state" in refused.stderr, refused.stderr
    moved = as_json(dbos_cli("workflow", "set-delay", "counter-later", "--seconds", "0",
                             "--json", url=url))  # fmt: skip
    assert moved == {"workflow_id": "counter-later", "changed": True}
    assert later.get_result(timeout_seconds=30) == 3
    again = dbos_cli("workflow", "set-delay", "counter-later", "--until-ms", "0", url=url)
    assert again.returncode == 1 and "not delayed" in again.stdout
    neither = dbos_cli("workflow", "set-delay", "counter-later", url=url)
    assert neither.returncode == 1 and "exactly one" in neither.stderr, neither.stderr
    assert ok(dbos_cli("workflow", "rewind", "counter-later", "--step", "1", url=url)).strip() == (
        "counter-later"
    )
