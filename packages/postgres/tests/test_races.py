"""Races that only a server with row locks and READ COMMITTED snapshots can show: a settling
write (finish, cancel) that waits for a concurrent one must report what is stored, not the
PENDING its statement's snapshot saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from dbos.storage import NewWorkflow, WorkflowOutcome
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    storage.create_workflow(NewWorkflow("raced", "wf", "[]", "local", "v1", 1))
    yield storage
    storage.close()


def settle_while_another_holds_the_row(
    url: str, other_status: str, settle: Callable[[], object]
) -> object:
    """Run `settle` while another transaction has set the row to `other_status` without
    committing yet (so `settle` waits for its lock), then commit it; `settle`'s answer."""
    result: list[object] = []
    with psycopg.connect(url) as other:
        other.execute(
            "UPDATE dbos.workflow_status SET status = %s WHERE workflow_id = 'raced'",
            (other_status,),
        )
        waiter = threading.Thread(target=lambda: result.append(settle()))
        waiter.start()
        time.sleep(0.3)
        other.commit()
        waiter.join(10)
    assert len(result) == 1
    return result[0]


def test_a_finish_that_waited_for_a_cancel_reports_the_cancel(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    outcome = WorkflowOutcome("raced", "SUCCESS", "1", None, 2)
    answer = settle_while_another_holds_the_row(
        dbos_system_database_url, "CANCELLED", lambda: storage.finish_workflow(outcome)
    )
    assert answer == "CANCELLED"
    row = storage.get_workflow("raced")
    assert row is not None and (row.status, row.output) == ("CANCELLED", None)


def test_a_cancel_that_waited_for_a_finish_reports_the_finish(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    answer = settle_while_another_holds_the_row(
        dbos_system_database_url, "SUCCESS", lambda: storage.cancel_workflow("raced", 2)
    )
    assert answer == "SUCCESS"
    assert storage.cancel_workflows(("raced",), 3) == {"raced": "SUCCESS"}
