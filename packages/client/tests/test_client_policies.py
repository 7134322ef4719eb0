"""`DBOSClient` with the ID reuse and duplication policies and workflow attributes (DBOS
Transact 3.4's enqueue options ``workflow_id_reuse_policy``, ``duplication_policy`` and
``attributes``, and ``update_workflow_attributes``), on every backend; and concurrent
"reject" enqueues of one ID from several processes, of which exactly one creates it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from dbos import (
    DBOS,
    DBOSException,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowIDInUseError,
    Queue,
)
from dbos_client import DBOSClient, EnqueueOptions

Launch = Callable[..., None]


def test_enqueue_options_carry_the_policies_and_attributes(
    launch: Launch, dbos_system_database_url: str
) -> None:
    queue = Queue("client_policies")
    release = threading.Event()

    @DBOS.workflow(name="task")
    def task(x: int) -> int:
        release.wait(10)
        return x

    launch()
    with DBOSClient(dbos_system_database_url) as client:

        def opts(**options: Any) -> EnqueueOptions:
            options = {"workflow_name": "task", "queue_name": queue.name, **options}
            return cast(EnqueueOptions, options)

        first = client.enqueue(
            opts(workflow_id="t1", deduplication_id="d", attributes={"k": "v"}), 1
        )
        with pytest.raises(DBOSQueueDeduplicatedError):
            client.enqueue(opts(deduplication_id="d"), 2)
        again = client.enqueue(opts(deduplication_id="d", duplication_policy="return-existing"), 3)
        assert again.workflow_id == "t1"
        release.set()
        assert first.get_result(timeout_seconds=30) == 1
        with pytest.raises(DBOSWorkflowIDInUseError) as refused:
            client.enqueue(opts(workflow_id="t1", workflow_id_reuse_policy="reject"), 4)
        assert refused.value.workflow_status == "SUCCESS"
        assert client.enqueue(opts(workflow_id="t1"), 5).workflow_id == "t1"

        status = client.get_workflow_status("t1")
        assert status is not None and status.attributes == {"k": "v"}
        client.update_workflow_attributes("t1", {"n": 1}, merge=True)
        assert [s.workflow_id for s in client.list_workflows(attributes={"k": "v", "n": 1})] == [
            "t1"
        ]

        async def scenario() -> None:
            await client.update_workflow_attributes_async("t1", {"only": True})
            found = await client.list_workflows_async(attributes={"only": True})
            assert [s.attributes for s in found] == [{"only": True}]

        asyncio.run(scenario())
        # The command line shows them too.
        command = Path(sys.executable).with_name("dbos")
        shown = subprocess.run(
            [str(command), "workflow", "get", "t1", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url},
            timeout=120,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["attributes"] == {"only": True}
        for bad, message in (
            ({"workflow_id_reuse_policy": "fresh"}, "unknown workflow_id_reuse_policy"),
            ({"duplication_policy": "return-existing"}, "needs a deduplication_id"),
            ({"attributes": {"x": object()}}, "attribute 'x' is not JSON-serializable"),
        ):
            with pytest.raises(DBOSException, match=message):
                client.enqueue(opts(**bad), 6)


RACER = """
import os, sys, time
from dbos import DBOSWorkflowIDInUseError
from dbos_client import DBOSClient
url, go = sys.argv[1], sys.argv[2]
with DBOSClient(url) as client:
    options = {"workflow_name": "task", "queue_name": "race", "workflow_id": "raced",
               "workflow_id_reuse_policy": "reject"}
    while not os.path.exists(go):  # all connected first: then they race on the insert
        time.sleep(0.001)
    try:
        client.enqueue(options, 1)
        print("created")
    except DBOSWorkflowIDInUseError:
        print("refused")
"""


@pytest.mark.postgres_only
def test_concurrent_reject_enqueues_from_processes_create_the_workflow_once(
    dbos_system_database_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    # Set the schema up first, so that the racers race on the row, not on migrations.
    DBOSClient(dbos_system_database_url).destroy()
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, dbos_system_database_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outputs.append(out.strip())
    assert sorted(outputs) == ["created", "refused", "refused", "refused"]
    with DBOSClient(dbos_system_database_url) as client:
        assert [s.workflow_id for s in client.list_workflows(workflow_ids=["raced"])] == ["raced"]
