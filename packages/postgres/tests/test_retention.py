"""Retention (garbage_collect) on Postgres deletes in bounded batches, each its own
transaction, oldest first, and never a workflow that is not finished."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import psycopg
import pytest

from dbos.storage import NewWorkflow, WorkflowOutcome
from dbos_postgres import PostgresStorage, _storage

pytestmark = pytest.mark.postgres_only

# A statement-level trigger records, for every DELETE on workflow_status, the transaction it
# ran in and how many rows it deleted: what the batches were, as the server saw them.
LOG_DELETES = """
CREATE TABLE public.deletes (txid BIGINT, deleted BIGINT, oldest BIGINT, newest BIGINT);
CREATE FUNCTION public.log_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.deletes
    SELECT txid_current(), count(*), min(created_at), max(created_at) FROM gone;
    RETURN NULL;
END;
$$;
CREATE TRIGGER log_deletes AFTER DELETE ON dbos.workflow_status
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION public.log_deletes();
"""


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    with psycopg.connect(dbos_system_database_url, autocommit=True) as connection:
        connection.execute(LOG_DELETES.encode())
    yield storage
    storage.close()


def _finished(storage: PostgresStorage, workflow_id: str, created_at_ms: int) -> None:
    storage.create_workflow(NewWorkflow(workflow_id, "wf", "[]", "local", "v1", created_at_ms))
    storage.finish_workflow(WorkflowOutcome(workflow_id, "SUCCESS", "1", None, created_at_ms))


def test_retention_deletes_in_batches_each_its_own_transaction(
    storage: PostgresStorage, dbos_system_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_storage, "DELETE_BATCH", 10)
    # 25 finished workflows, interleaved with unfinished ones that must stay, and two created
    # in the same millisecond across a batch boundary.
    for n in range(25):
        _finished(storage, f"done-{n:02}", 100 + n - (n == 10))
        storage.create_workflow(NewWorkflow(f"open-{n:02}", "wf", "[]", "local", "v1", 100 + n))
    _finished(storage, "recent", 1000)
    assert storage.delete_older_than(1000) == 25
    with psycopg.connect(dbos_system_database_url) as connection:
        batches = connection.execute(
            "SELECT txid, deleted, oldest, newest FROM public.deletes ORDER BY txid"
        ).fetchall()
        left = connection.execute(
            "SELECT workflow_id FROM dbos.workflow_status ORDER BY workflow_id"
        ).fetchall()
    assert [deleted for _, deleted, _, _ in batches] == [10, 10, 5]
    assert len({txid for txid, _, _, _ in batches}) == 3
    # Oldest first: each batch starts where the previous one ended.
    assert all(a[3] <= b[2] for a, b in pairwise(batches))
    assert [row[0] for row in left] == [f"open-{n:02}" for n in range(25)] + ["recent"]


def test_a_full_last_batch_ends_with_an_empty_one(
    storage: PostgresStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_storage, "DELETE_BATCH", 5)
    for n in range(10):
        _finished(storage, f"done-{n}", 100 + n)
    assert storage.delete_older_than(1000) == 10
    assert storage.delete_older_than(1000) == 0
