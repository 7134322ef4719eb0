"""`DebouncerClient` (issue 13, item 4): debouncing from outside the app, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from dbos import DBOS, DBOSException, Debouncer, Queue
from dbos_client import DBOSClient, DebouncerClient

Launch = Callable[..., None]


def test_debouncer_client_starts_one_workflow_with_the_last_inputs(
    launch: Launch, dbos_system_database_url: str
) -> None:
    seen: list[str] = []
    queue = Queue("client-debounced")

    @DBOS.workflow(name="debounce-process")
    def process(value: str) -> str:
        seen.append(value)
        return value.upper()

    launch()
    client = DBOSClient(dbos_system_database_url)
    try:
        debouncer: DebouncerClient[str] = DebouncerClient(
            client, {"workflow_name": "debounce-process", "queue_name": queue.name}
        )
        handles = [debouncer.debounce("k", 2.0, value) for value in ("a", "b", "c")]
        assert len({handle.workflow_id for handle in handles}) == 1
        assert handles[0].get_result(timeout_seconds=60) == "C"
        assert seen == ["c"]
        status = DBOS.get_workflow_status(handles[0].workflow_id)
        assert status is not None and status.queue_name == queue.name

        # An app's Debouncer and a client's share the window of one key.
        in_app = Debouncer.create(process, queue=queue)
        first = debouncer.debounce("shared", 2.0, "from-client")
        second = in_app.debounce("shared", 2.0, "from-app")
        assert first.workflow_id == second.workflow_id
        assert second.get_result(timeout_seconds=60) == "FROM-APP"

        async def debounce_async() -> str:
            handle = await debouncer.debounce_async("k2", 0.2, "z")
            result: str = await handle.get_result(timeout_seconds=60)
            return result

        assert asyncio.run(debounce_async()) == "Z"
        named: DebouncerClient[str] = DebouncerClient(
            client,
            {"workflow_name": "debounce-process", "queue_name": queue.name, "workflow_id": "named"},
            queue="client-debounced",
            debounce_timeout_sec=5,
        )
        assert named.debounce("k3", 0.2, "n").get_result(timeout_seconds=60) == "N"
        assert DBOS.get_workflow_status("named") is not None
        refused: DebouncerClient[str] = DebouncerClient(
            client, {"workflow_name": "debounce-process", "queue_name": queue.name, "priority": 1}
        )
        with pytest.raises(DBOSException, match="Cannot debounce"):
            refused.debounce("k", 1.0, "x")
        with pytest.raises(DBOSException, match="application_name"):
            DebouncerClient(client, {"workflow_name": "p", "queue_name": "q"}, application_name="a")
    finally:
        client.destroy()
