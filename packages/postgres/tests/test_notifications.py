"""LISTEN/NOTIFY: writes made through one storage (another process, in real life) wake
listeners of another storage on the same database."""

from __future__ import annotations

import threading

import pytest

from dbos._records import (
    ClaimRequest,
    NewWorkflow,
    QueueSpec,
    WorkflowOutcome,
    WorkflowStatusString,
)
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


def test_enqueue_and_finish_wake_other_storages(dbos_system_database_url: str) -> None:
    writer = PostgresStorage(dbos_system_database_url)
    listener = PostgresStorage(dbos_system_database_url)
    writer.setup()
    listener.setup()
    try:
        woken = threading.Event()
        heard: list[tuple[str | None, bool]] = []

        def on_activity(queue_name: str | None, slot_freed: bool) -> None:
            heard.append((queue_name, slot_freed))
            woken.set()

        listener.on_queue_activity(on_activity)
        woken.clear()  # the listener calls once after (re)connecting, by design
        heard.clear()
        writer.create_workflow(
            NewWorkflow(
                "queued",
                "task",
                "[]",
                None,
                "v1",
                1,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name="q",
            )
        )
        assert woken.wait(5), "enqueue in another storage did not wake this one"
        assert heard == [("q", False)]

        # The queued task finishing elsewhere wakes this storage's outcome waiters too.
        claimed = writer.claim_queued(ClaimRequest(QueueSpec("q"), "w", "v1", 1, ("task",), 5))
        assert [row.workflow_id for row in claimed] == ["queued"]
        generation = listener._finished.generation
        woken.clear()
        writer.finish_workflow(WorkflowOutcome("queued", "SUCCESS", "null", None, 2))
        row = listener.wait_workflow_outcome("queued", 5)
        assert row is not None and row.status == "SUCCESS"
        assert woken.wait(5), "a freed slot in another storage did not wake this one"
        assert heard[-1] == ("q", True)
        deadline = threading.Event()
        for _ in range(100):
            if listener._finished.generation > generation:
                break
            deadline.wait(0.05)
        assert listener._finished.generation > generation, "no finish notification arrived"
    finally:
        writer.close()
        listener.close()
