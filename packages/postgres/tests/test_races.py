"""Races that only a server with row locks and READ COMMITTED snapshots can show."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from dbos._records import NewWorkflow, WorkflowOutcome
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


def test_a_finish_that_waited_for_a_cancel_reports_the_cancel(
    dbos_system_database_url: str,
) -> None:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    try:
        storage.create_workflow(NewWorkflow("raced", "wf", "[]", "local", "v1", 1))
        with psycopg.connect(dbos_system_database_url) as canceller:
            # A cancel (or the deadline sweeper) holds the row, uncommitted...
            canceller.execute(
                "UPDATE dbos.workflow_status SET status = 'CANCELLED' WHERE workflow_id = 'raced'"
            )
            result: list[str] = []
            finisher = threading.Thread(
                target=lambda: result.append(
                    storage.finish_workflow(WorkflowOutcome("raced", "SUCCESS", "1", None, 2))
                )
            )
            finisher.start()  # ...so the finish waits for its lock,
            time.sleep(0.3)
            canceller.commit()  # and then finds the row no longer PENDING.
            finisher.join(10)
        assert result == ["CANCELLED"]
        row = storage.get_workflow("raced")
        assert row is not None and (row.status, row.output) == ("CANCELLED", None)
    finally:
        storage.close()


def test_a_cancel_that_waited_for_a_finish_reports_the_finish(
    dbos_system_database_url: str,
) -> None:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    try:
        storage.create_workflow(NewWorkflow("done-first", "wf", "[]", "local", "v1", 1))
        with psycopg.connect(dbos_system_database_url) as finisher:
            finisher.execute(
                "UPDATE dbos.workflow_status SET status = 'SUCCESS' "
                "WHERE workflow_id = 'done-first'"
            )
            result: list[str | None] = []
            canceller = threading.Thread(
                target=lambda: result.append(storage.cancel_workflow("done-first", 2))
            )
            canceller.start()
            time.sleep(0.3)
            finisher.commit()
            canceller.join(10)
        assert result == ["SUCCESS"]
        assert storage.cancel_workflows(("done-first",), 3) == {"done-first": "SUCCESS"}
    finally:
        storage.close()
