"""Concurrent creates share one statement and one commit (issue 17: group commit, as step
checkpoints and finishes do), and each caller still gets its own answer: created, found, or
its own refusal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from dbos.storage import DBOSQueueDeduplicatedError, NewWorkflow, WorkflowInit
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    yield storage
    storage.close()


def task(workflow_id: str, dedup: str | None = None, **fields: Any) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id, "wf", "[]", "local", "v1", 1, status="ENQUEUED", queue_name="q"
    )
    return replace(workflow, deduplication_id=dedup, **fields)


def test_creates_that_wait_for_a_batch_in_flight_share_the_next_one(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    storage.create_workflow(task("holder", "held"))  # keeps "held" taken on queue q
    batches: list[list[str]] = []
    run_batch = storage._create_batch

    def watched(batch: list[NewWorkflow]) -> Any:
        batches.append(sorted(w.workflow_id for w in batch))
        return run_batch(batch)

    storage._creates = type(storage._creates)(watched, in_flight=2)
    answers: dict[str, list[object]] = {}
    lock = threading.Lock()

    def create(workflow: NewWorkflow) -> None:
        try:
            answer: object = storage.create_workflow(workflow)
        except Exception as exc:  # each caller's own answer, compared below
            answer = exc
        with lock:
            answers.setdefault(workflow.workflow_id, []).append(answer)

    with psycopg.connect(dbos_system_database_url) as other:
        # Two uncommitted rows hold deduplication IDs: the first two creates (two batches in
        # flight) wait on the unique index until this transaction ends.
        for workflow_id, key in (("blocker-1", "k1"), ("blocker-2", "k2")):
            other.execute(
                "INSERT INTO dbos.workflow_status (workflow_id, status, name, queue_name,"
                " deduplication_id, created_at, updated_at)"
                " VALUES (%s, 'ENQUEUED', 'wf', 'q', %s, 1, 1)",
                (workflow_id, key),
            )
        first = [
            threading.Thread(target=create, args=(task("a", "k1"),)),
            threading.Thread(target=create, args=(task("b", "k2"),)),
        ]
        for thread in first:
            thread.start()
        deadline = time.monotonic() + 10
        while len(batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(batches) == [["a"], ["b"]]
        queued = [task("c"), task("d"), task("e", "own-key"), task("refused", "held")]
        rest = [threading.Thread(target=create, args=(w,)) for w in queued]
        for thread in rest:
            thread.start()
        # All four wait behind the two batches in flight before those can end.
        deadline = time.monotonic() + 10
        while len(storage._creates._waiting) < len(queued) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(storage._creates._waiting) == len(queued)
        other.rollback()
    for thread in first + rest:
        thread.join(timeout=30)

    # The four waiting creates were shared: when the two batches in flight end, each hands
    # over to a waiter, which takes what waits then (so one or two batches, not four). A
    # refusal in a batch sends each of its creates to its own statement.
    later = batches[2:]
    assert sorted(w for batch in later for w in batch) == ["c", "d", "e", "refused"]
    assert len(later) <= 2 and max(len(batch) for batch in later) >= 2, later
    for workflow_id in ("a", "b", "c", "d", "e"):
        (answer,) = answers[workflow_id]
        assert isinstance(answer, WorkflowInit) and answer.created, (workflow_id, answer)
        row = storage.get_workflow(workflow_id)
        assert row is not None and (row.status, row.queue_name) == ("ENQUEUED", "q")
    (refusal,) = answers["refused"]
    assert isinstance(refusal, DBOSQueueDeduplicatedError)
    assert storage.get_workflow("refused") is None


def test_a_batch_of_creates_is_one_statement_and_answers_each(storage: PostgresStorage) -> None:
    storage.create_workflow(task("stored"))
    # Claimed on insert (PENDING on a queue) starts now, as create_workflow stores it.
    claimed = replace(task("claimed"), status="PENDING", created_at_ms=77)
    results = storage._create_batch([task("new"), task("stored"), claimed])
    assert [(r.row.workflow_id, r.created) for r in results if isinstance(r, WorkflowInit)] == [
        ("new", True),
        ("stored", False),
        ("claimed", True),
    ]
    row = storage.get_workflow("claimed")
    assert row is not None and row.started_at_ms == 77
    # One ID twice: each alone, in order, so the second finds the first.
    twice = storage._create_batch([task("twice"), task("twice")])
    assert [r.created for r in twice if isinstance(r, WorkflowInit)] == [True, False]
