"""`DBOSClient` with portable serialization (DBOS Transact 3.4's ``serialization_type``
enqueue option and ``send`` keyword), on every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dbos import DBOS, PortableWorkflowError, Queue, WorkflowSerializationFormat
from dbos_client import DBOSClient, EnqueueOptions

Launch = Callable[..., None]
PORTABLE = WorkflowSerializationFormat.PORTABLE


def test_a_client_enqueues_and_sends_portably(
    launch: Launch, dbos_system_database_url: str
) -> None:
    queue = Queue("client_portable")

    @DBOS.workflow(name="portable_task")
    def task(when: dt.datetime) -> Any:
        message = DBOS.recv(timeout_seconds=30)
        if message == "fail":
            raise ValueError(f"failed at {when.isoformat()}")
        return [when.year, message]

    launch()
    with DBOSClient(dbos_system_database_url) as client:
        options: EnqueueOptions = {
            "workflow_name": "portable_task",
            "queue_name": queue.name,
            "workflow_id": "cp-1",
            "serialization_type": PORTABLE,
        }
        handle = client.enqueue(options, dt.datetime(2031, 2, 3))
        client.send("cp-1", {"at": dt.date(2031, 2, 4)}, serialization_type=PORTABLE)
        assert handle.get_result(timeout_seconds=30) == [2031, {"at": "2031-02-04"}]
        status = client.get_workflow_status("cp-1")
        assert status is not None
        assert status.input == {"args": ("2031-02-03T00:00:00.000Z",), "kwargs": {}}

        failing = client.enqueue({**options, "workflow_id": "cp-2"}, dt.datetime(2031, 2, 3))
        client.send("cp-2", "fail")
        try:
            failing.get_result(timeout_seconds=30)
        except PortableWorkflowError as error:
            assert (error.name, error.message) == (
                "ValueError",
                "failed at 2031-02-03T00:00:00+00:00",
            )
        else:
            raise AssertionError("the portable workflow's error was not raised")
