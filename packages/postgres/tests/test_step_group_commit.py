"""Step checkpoints of concurrent workflows share one statement and one commit (issue 17,
item 1), and each caller still gets its own answer: inserted, a conflict, or a missing
workflow."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dbos.storage import (
    DBOSNonExistentWorkflowError,
    DBOSStepConflictError,
    NewWorkflow,
    StepAck,
    StepRecord,
    as_params,
)
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    for name in ("held-1", "held-2", *(f"w{i}" for i in range(4))):
        storage.create_workflow(NewWorkflow(name, "wf", "[]", "local", "v1", 1))
    yield storage
    storage.close()


def step(workflow_id: str, function_id: int) -> StepRecord:
    return StepRecord(workflow_id, function_id, "s", f'"{workflow_id}/{function_id}"', None, 1, 2)


def test_checkpoints_that_wait_for_a_batch_in_flight_share_the_next_one(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    storage.record_step(step("w0", 1))  # recorded before: the batch's w0/1 conflicts
    batches: list[list[str]] = []
    run_batch = storage._record_step_batch

    def watched(batch: list[dict[str, Any]]) -> Any:
        batches.append([f"{p['workflow_id']}/{p['function_id']}" for p in batch])
        return run_batch(batch)

    storage._step_commits = type(storage._step_commits)(watched, in_flight=2)
    answers: dict[str, object] = {}

    def record(record: StepRecord) -> None:
        try:
            answers[f"{record.workflow_id}/{record.function_id}"] = storage.record_step(record)
        except Exception as exc:  # each caller's own answer, compared below
            answers[f"{record.workflow_id}/{record.function_id}"] = exc

    with psycopg.connect(dbos_system_database_url) as other:
        # Both batches in flight wait for these rows (a checkpoint's foreign key check takes
        # a key-share lock on its workflow's row).
        other.execute(
            "SELECT 1 FROM dbos.workflow_status WHERE workflow_id IN ('held-1', 'held-2')"
            " FOR UPDATE"
        )
        first = [threading.Thread(target=record, args=(step(w, 1),)) for w in ("held-1", "held-2")]
        for thread in first:
            thread.start()
        deadline = time.monotonic() + 10
        while len(batches) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        queued = [step("w0", 1), step("w1", 1), step("w2", 1), step("w3", 1), step("gone", 1)]
        rest = [threading.Thread(target=record, args=(r,)) for r in queued]
        for thread in rest:
            thread.start()
        time.sleep(0.3)  # all five are waiting behind the held batches
        other.commit()
        for thread in first + rest:
            thread.join(10)
    assert sorted(batches[:2]) == [["held-1/1"], ["held-2/1"]]
    # The five waiting checkpoints ran in the next batches, one per batch in flight (each
    # finishing leader hands over to a waiter, which takes all that waits); a batch holding
    # the missing workflow's checkpoint fell back to one statement each, so every caller
    # got its own answer.
    assert sorted(name for batch in batches[2:] for name in batch) == [
        "gone/1",
        "w0/1",
        "w1/1",
        "w2/1",
        "w3/1",
    ]
    assert len(batches[2:]) <= 2
    assert isinstance(answers["w0/1"], DBOSStepConflictError)
    assert isinstance(answers["gone/1"], DBOSNonExistentWorkflowError)
    for name in ("held-1/1", "held-2/1", "w1/1", "w2/1", "w3/1"):
        assert answers[name] == StepAck(workflow_status="PENDING", owner_instance=None), name
    assert [s.output for s in storage.load_steps("w2")] == ['"w2/1"']


def test_a_batch_without_errors_is_one_statement_with_answers_in_order(
    storage: PostgresStorage,
) -> None:
    storage.record_step(step("w1", 1))
    batch = [as_params(step(w, 2 if w == "w1" else 1)) for w in ("w0", "w1", "w2")]
    batch.append(as_params(step("w1", 1)))  # recorded already: not inserted
    found = storage._record_step_batch(batch)
    assert [tuple(row) for row in found] == [  # type: ignore[arg-type]
        (True, "PENDING", None),
        (True, "PENDING", None),
        (True, "PENDING", None),
        (False, "PENDING", None),
    ]
    assert [s.function_id for s in storage.load_steps("w1")] == [1, 2]
