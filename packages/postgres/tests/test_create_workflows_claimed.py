"""`create_workflows` stores a row claimed on insert (PENDING on a queue) as `create_workflow`
does: started when created."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from dbos.storage import NewWorkflow
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    yield storage
    storage.close()


def test_a_row_claimed_on_insert_starts_when_created(storage: PostgresStorage) -> None:
    queued = NewWorkflow("queued", "wf", "[]", "local", "v1", 5, status="ENQUEUED", queue_name="q")
    claimed = replace(queued, workflow_id="claimed", status="PENDING", created_at_ms=77)
    single = replace(claimed, workflow_id="single")
    inits = storage.create_workflows((queued, claimed))
    assert [(i.row.workflow_id, i.created) for i in inits] == [("queued", True), ("claimed", True)]
    storage.create_workflow(single)
    started = {}
    for workflow_id in ("queued", "claimed", "single"):
        row = storage.get_workflow(workflow_id)
        assert row is not None
        started[workflow_id] = row.started_at_ms
    assert started == {"queued": None, "claimed": 77, "single": 77}
