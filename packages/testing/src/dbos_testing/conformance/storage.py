"""The storage conformance suite: the `SystemStorage` contract, tested through the protocol only.

Every backend must pass it. Run it from a test module with::

    from dbos_testing.conformance.storage import *  # noqa: F403

and it runs once per backend selected with ``--dbos-backend``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import pytest

from dbos import DBOSNonExistentWorkflowError, DBOSStepConflictError, SystemStorage
from dbos.storage import (
    NewWorkflow,
    StepRecord,
    WorkflowOutcome,
    WorkflowQuery,
    WorkflowStatusString,
)

PENDING = WorkflowStatusString.PENDING.value
SUCCESS = WorkflowStatusString.SUCCESS.value
ERROR = WorkflowStatusString.ERROR.value
CANCELLED = WorkflowStatusString.CANCELLED.value
EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value

__all__ = [
    "test_create_workflow_round_trips_every_field",
    "test_create_workflow_returns_the_row_get_workflow_reads",
    "test_create_workflow_twice_returns_the_existing_row_unchanged",
    "test_create_workflow_race_has_exactly_one_creator",
    "test_record_step_round_trips_in_function_id_order",
    "test_record_step_conflict_keeps_the_first_record",
    "test_record_step_ack_reports_the_workflow_status",
    "test_record_step_for_a_missing_workflow",
    "test_finish_workflow_only_from_pending",
    "test_finish_missing_workflow",
    "test_get_missing_workflow",
    "test_wait_returns_at_once_for_a_finished_workflow",
    "test_wait_is_woken_by_a_finish_in_another_thread",
    "test_wait_times_out_with_none",
    "test_wait_for_a_workflow_created_later",
    "test_recover_pending_claims_only_this_executor_and_version",
    "test_recover_pending_marks_workflows_past_their_limit",
    "test_list_workflows_filters",
    "test_list_workflows_order_limit_offset",
    "test_list_workflows_can_skip_payloads",
    "test_payloads_round_trip_exactly",
    "test_setup_is_idempotent",
]


def new_workflow(workflow_id: str, **overrides: object) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name="module.workflow",
        inputs='{"args":[1],"kwargs":{}}',
        executor_id="executor-a",
        application_version="v1",
        created_at_ms=1_700_000_000_000,
        max_recovery_attempts=5,
        parent_workflow_id=None,
        queue_name=None,
    )
    return replace(workflow, **overrides)  # type: ignore[arg-type]


def step(workflow_id: str, function_id: int, **overrides: object) -> StepRecord:
    record = StepRecord(
        workflow_id=workflow_id,
        function_id=function_id,
        function_name=f"step_{function_id}",
        output=f'"out {function_id}"',
        error=None,
        started_at_ms=10 + function_id,
        completed_at_ms=20 + function_id,
    )
    return replace(record, **overrides)  # type: ignore[arg-type]


def finish(
    workflow_id: str, status: str = SUCCESS, output: str | None = '"done"'
) -> WorkflowOutcome:
    return WorkflowOutcome(workflow_id, status, output, None, 1_700_000_000_500)


def test_create_workflow_round_trips_every_field(dbos_storage: SystemStorage) -> None:
    workflow = new_workflow("wf-1", parent_workflow_id="parent", queue_name="q")
    init = dbos_storage.create_workflow(workflow)
    assert init.created
    row = init.row
    assert (row.workflow_id, row.status, row.name, row.inputs) == (
        "wf-1",
        PENDING,
        "module.workflow",
        '{"args":[1],"kwargs":{}}',
    )
    assert (row.executor_id, row.application_version) == ("executor-a", "v1")
    assert (row.recovery_attempts, row.max_recovery_attempts) == (1, 5)
    assert (row.created_at_ms, row.updated_at_ms) == (1_700_000_000_000, 1_700_000_000_000)
    assert (row.parent_workflow_id, row.queue_name) == ("parent", "q")
    assert (row.output, row.error) == (None, None)
    assert dbos_storage.get_workflow("wf-1") == row


#: Workflows that set every field `NewWorkflow` has, in the shapes the engine creates: a
#: backend may build a created row without reading it back, and must build what it stored.
_CREATE_SHAPES: dict[str, dict[str, object]] = {
    "started": {"owner_instance": "instance-1", "deadline_ms": 1_700_000_009_000},
    "queued-claimed": {"queue_name": "q", "priority": 3, "queue_partition_key": "p"},
    "enqueued": {
        "status": WorkflowStatusString.ENQUEUED.value,
        "queue_name": "q",
        "deduplication_id": "d",
        "executor_id": None,
    },
    "delayed": {
        "status": WorkflowStatusString.ENQUEUED.value,
        "queue_name": "q",
        "delay_until_ms": 1_700_000_005_000,
        "timeout_ms": 2_500,
    },
    "everything-else": {
        "parent_workflow_id": "parent",
        "class_name": "Shop",
        "config_name": "north",
        "schedule_name": "every-minute",
        "attributes": '{"b":[1,2],"a":{"x":null}}',
        "serialization": "portable_json",
        "authenticated_user": "alice",
        "authenticated_roles": '["admin"]',
        "assumed_role": "admin",
        "first_function_id": 0,
        "application_name": "shop",
        "max_recovery_attempts": None,
    },
}


@pytest.mark.parametrize("shape", sorted(_CREATE_SHAPES))
def test_create_workflow_returns_the_row_get_workflow_reads(
    dbos_storage: SystemStorage, shape: str
) -> None:
    init = dbos_storage.create_workflow(new_workflow(f"wf-{shape}", **_CREATE_SHAPES[shape]))
    stored = dbos_storage.get_workflow(f"wf-{shape}")
    assert init.created and stored is not None
    # A backend may normalize the attributes' spacing and key order (`WorkflowRow`).
    assert json.loads(init.row.attributes or "null") == json.loads(stored.attributes or "null")
    assert replace(init.row, attributes=None) == replace(stored, attributes=None)


def test_create_workflow_twice_returns_the_existing_row_unchanged(
    dbos_storage: SystemStorage,
) -> None:
    first = dbos_storage.create_workflow(new_workflow("wf-1"))
    second = dbos_storage.create_workflow(
        new_workflow("wf-1", name="other.name", inputs="[]", executor_id="executor-b")
    )
    assert not second.created
    assert second.row == first.row


def test_create_workflow_race_has_exactly_one_creator(dbos_storage: SystemStorage) -> None:
    barrier = threading.Barrier(8)
    created: list[bool] = []
    lock = threading.Lock()

    def create(index: int) -> None:
        barrier.wait()
        init = dbos_storage.create_workflow(new_workflow("raced", executor_id=f"e{index}"))
        with lock:
            created.append(init.created)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False] * 7 + [True]


def test_record_step_round_trips_in_function_id_order(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    records = [step("wf", 2), step("wf", 0), step("wf", 1, child_workflow_id="wf-1")]
    records.append(step("wf", 3, output=None, error='{"__dbos_error__":{}}'))
    for record in records:
        dbos_storage.record_step(record)
    assert dbos_storage.load_steps("wf") == sorted(records, key=lambda r: r.function_id)
    assert dbos_storage.load_steps("other") == []


def test_record_step_conflict_keeps_the_first_record(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    first = step("wf", 0)
    dbos_storage.record_step(first)
    with pytest.raises(DBOSStepConflictError):
        dbos_storage.record_step(step("wf", 0, output='"second"'))
    assert dbos_storage.load_steps("wf") == [first]


def test_record_step_ack_reports_the_workflow_status(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    assert dbos_storage.record_step(step("wf", 0)).workflow_status == PENDING
    dbos_storage.finish_workflow(finish("wf", CANCELLED, None))
    assert dbos_storage.record_step(step("wf", 1)).workflow_status == CANCELLED


def test_record_step_for_a_missing_workflow(dbos_storage: SystemStorage) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.record_step(step("ghost", 0))


def test_finish_workflow_only_from_pending(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    assert dbos_storage.finish_workflow(finish("wf", ERROR, None)) == ERROR
    assert dbos_storage.finish_workflow(finish("wf", SUCCESS, '"late"')) == ERROR
    row = dbos_storage.get_workflow("wf")
    assert row is not None
    assert (row.status, row.output, row.updated_at_ms) == (ERROR, None, 1_700_000_000_500)


def test_finish_missing_workflow(dbos_storage: SystemStorage) -> None:
    with pytest.raises(DBOSNonExistentWorkflowError):
        dbos_storage.finish_workflow(finish("ghost"))


def test_get_missing_workflow(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.get_workflow("ghost") is None


def test_wait_returns_at_once_for_a_finished_workflow(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    dbos_storage.finish_workflow(finish("wf"))
    row = dbos_storage.wait_workflow_outcome("wf", 5.0)
    assert row is not None and (row.status, row.output) == (SUCCESS, '"done"')


def test_wait_is_woken_by_a_finish_in_another_thread(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    timer = threading.Timer(0.2, lambda: dbos_storage.finish_workflow(finish("wf")))
    started = time.monotonic()
    timer.start()
    row = dbos_storage.wait_workflow_outcome("wf", 10.0)
    elapsed = time.monotonic() - started
    assert row is not None and row.status == SUCCESS
    assert 0.15 < elapsed < 2.0  # generous: woken, not left to a long poll


def test_wait_times_out_with_none(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    started = time.monotonic()
    assert dbos_storage.wait_workflow_outcome("wf", 0.3) is None
    assert time.monotonic() - started >= 0.29


def test_wait_for_a_workflow_created_later(dbos_storage: SystemStorage) -> None:
    def create_and_finish() -> None:
        dbos_storage.create_workflow(new_workflow("late"))
        dbos_storage.finish_workflow(finish("late"))

    timer = threading.Timer(0.2, create_and_finish)
    timer.start()
    row = dbos_storage.wait_workflow_outcome("late", 10.0)
    assert row is not None and row.status == SUCCESS


def test_recover_pending_claims_only_this_executor_and_version(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(new_workflow("mine-2", created_at_ms=2))
    dbos_storage.create_workflow(new_workflow("mine-1", created_at_ms=1))
    dbos_storage.create_workflow(new_workflow("other-executor", executor_id="executor-b"))
    dbos_storage.create_workflow(new_workflow("other-version", application_version="v2"))
    dbos_storage.create_workflow(new_workflow("finished"))
    dbos_storage.finish_workflow(finish("finished"))
    rows = dbos_storage.recover_pending("executor-a", "v1")
    assert [(r.workflow_id, r.status, r.recovery_attempts) for r in rows] == [
        ("mine-1", PENDING, 2),
        ("mine-2", PENDING, 2),
    ]
    untouched = dbos_storage.get_workflow("other-executor")
    assert untouched is not None and untouched.recovery_attempts == 1
    done = dbos_storage.get_workflow("finished")
    assert done is not None and (done.status, done.recovery_attempts) == (SUCCESS, 1)


def test_recover_pending_marks_workflows_past_their_limit(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("limited", max_recovery_attempts=1))
    dbos_storage.create_workflow(new_workflow("unlimited", max_recovery_attempts=None))
    first = {r.workflow_id: r for r in dbos_storage.recover_pending("executor-a", "v1")}
    assert (first["limited"].status, first["limited"].recovery_attempts) == (PENDING, 2)
    second = {r.workflow_id: r for r in dbos_storage.recover_pending("executor-a", "v1")}
    assert (second["limited"].status, second["limited"].recovery_attempts) == (EXCEEDED, 3)
    third = {r.workflow_id: r for r in dbos_storage.recover_pending("executor-a", "v1")}
    assert "limited" not in third
    assert (third["unlimited"].status, third["unlimited"].recovery_attempts) == (PENDING, 4)


def _ids(storage: SystemStorage, **filters: object) -> list[str]:
    return [row.workflow_id for row in storage.list_workflows(WorkflowQuery(**filters))]  # type: ignore[arg-type]


def test_list_workflows_filters(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a-1", created_at_ms=100, name="alpha"))
    dbos_storage.create_workflow(
        new_workflow("a-2", created_at_ms=200, executor_id="executor-b", queue_name="q")
    )
    dbos_storage.create_workflow(
        new_workflow("b-1", created_at_ms=300, application_version="v2", parent_workflow_id="a-1")
    )
    dbos_storage.finish_workflow(finish("a-2", ERROR, None))
    assert _ids(dbos_storage) == ["a-1", "a-2", "b-1"]
    assert _ids(dbos_storage, workflow_ids=("b-1", "a-1", "zzz")) == ["a-1", "b-1"]
    assert _ids(dbos_storage, workflow_ids=()) == []
    assert _ids(dbos_storage, workflow_id_prefix="a-") == ["a-1", "a-2"]
    assert _ids(dbos_storage, workflow_id_prefix="%") == []
    assert _ids(dbos_storage, statuses=(ERROR,)) == ["a-2"]
    assert _ids(dbos_storage, statuses=(ERROR, PENDING)) == ["a-1", "a-2", "b-1"]
    assert _ids(dbos_storage, name="alpha") == ["a-1"]
    assert _ids(dbos_storage, executor_id="executor-b") == ["a-2"]
    assert _ids(dbos_storage, application_version="v2") == ["b-1"]
    assert _ids(dbos_storage, queue_name="q") == ["a-2"]
    assert _ids(dbos_storage, parent_workflow_id="a-1") == ["b-1"]
    assert _ids(dbos_storage, created_after_ms=200) == ["a-2", "b-1"]
    assert _ids(dbos_storage, created_before_ms=200) == ["a-1", "a-2"]
    assert _ids(dbos_storage, created_after_ms=150, created_before_ms=250) == ["a-2"]


def test_list_workflows_order_limit_offset(dbos_storage: SystemStorage) -> None:
    for index in range(5):
        dbos_storage.create_workflow(new_workflow(f"wf-{index}", created_at_ms=index))
    assert _ids(dbos_storage, sort_desc=True) == ["wf-4", "wf-3", "wf-2", "wf-1", "wf-0"]
    assert _ids(dbos_storage, limit=2) == ["wf-0", "wf-1"]
    assert _ids(dbos_storage, limit=2, offset=2) == ["wf-2", "wf-3"]
    assert _ids(dbos_storage, offset=3) == ["wf-3", "wf-4"]
    assert _ids(dbos_storage, limit=2, sort_desc=True) == ["wf-4", "wf-3"]


def test_list_workflows_can_skip_payloads(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("wf"))
    dbos_storage.finish_workflow(finish("wf"))
    full = dbos_storage.list_workflows(WorkflowQuery())[0]
    assert (full.inputs, full.output) == ('{"args":[1],"kwargs":{}}', '"done"')
    bare = dbos_storage.list_workflows(WorkflowQuery(load_inputs=False, load_output=False))[0]
    assert (bare.inputs, bare.output, bare.error) == (None, None, None)
    assert bare.status == SUCCESS


def test_payloads_round_trip_exactly(dbos_storage: SystemStorage) -> None:
    tricky = "\"quotes\" 'single' \\ back\\slash ünïcødé 🚀 \n newline -- ; DROP TABLE x; %s {}"
    large = "x" * 1_000_000
    dbos_storage.create_workflow(new_workflow("wf", inputs=tricky))
    dbos_storage.record_step(step("wf", 0, output=large))
    dbos_storage.finish_workflow(finish("wf", SUCCESS, tricky))
    row = dbos_storage.get_workflow("wf")
    assert row is not None and (row.inputs, row.output) == (tricky, tricky)
    assert dbos_storage.load_steps("wf")[0].output == large


def test_setup_is_idempotent(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("kept"))
    dbos_storage.setup()
    dbos_storage.setup()
    assert dbos_storage.get_workflow("kept") is not None
