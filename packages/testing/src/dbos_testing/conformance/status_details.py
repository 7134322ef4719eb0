"""The status-details conformance suite (DBOS Transact 3.4's ``completed_at``,
``forked_from`` and ``schedule_name``) and the listing filters on them and on parents:
tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.status_details import *  # noqa: F403
"""

from __future__ import annotations

from dbos import SystemStorage
from dbos.storage import ForkRequest, WorkflowQuery, WorkflowStatusString

from .storage import finish, new_workflow, step

PENDING = WorkflowStatusString.PENDING.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value
SUCCESS = WorkflowStatusString.SUCCESS.value
ERROR = WorkflowStatusString.ERROR.value
CANCELLED = WorkflowStatusString.CANCELLED.value
EXCEEDED = WorkflowStatusString.MAX_RECOVERY_ATTEMPTS_EXCEEDED.value

__all__ = [
    "test_completed_at_is_set_when_a_workflow_finishes",
    "test_completed_at_is_set_by_cancel_and_the_recovery_limit",
    "test_completed_at_is_cleared_by_a_requeue",
    "test_forked_from_names_the_original",
    "test_schedule_name_round_trips",
    "test_list_by_parent_and_by_having_one",
    "test_list_by_fork_and_schedule",
    "test_list_by_any_of_several_prefixes",
    "test_list_by_lists_of_values",
    "test_list_by_completion_time",
]


def _ids(storage: SystemStorage, **filters: object) -> list[str]:
    query = WorkflowQuery(**filters)  # type: ignore[arg-type]
    return [row.workflow_id for row in storage.list_workflows(query)]


def _completed_at(storage: SystemStorage, workflow_id: str) -> int | None:
    row = storage.get_workflow(workflow_id)
    assert row is not None
    return row.completed_at_ms


def test_completed_at_is_set_when_a_workflow_finishes(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("ok"))
    dbos_storage.create_workflow(new_workflow("failed"))
    assert _completed_at(dbos_storage, "ok") is None
    dbos_storage.record_step(step("ok", 0))
    assert _completed_at(dbos_storage, "ok") is None  # checkpoints do not finish it
    dbos_storage.finish_workflow(finish("ok"))  # at 1_700_000_000_500
    dbos_storage.finish_workflow(finish("failed", ERROR, None))
    assert _completed_at(dbos_storage, "ok") == 1_700_000_000_500
    assert _completed_at(dbos_storage, "failed") == 1_700_000_000_500
    # Listings carry it too.
    rows = dbos_storage.list_workflows(WorkflowQuery(load_inputs=False, load_output=False))
    assert {row.workflow_id: row.completed_at_ms for row in rows} == {
        "ok": 1_700_000_000_500,
        "failed": 1_700_000_000_500,
    }


def test_completed_at_is_set_by_cancel_and_the_recovery_limit(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(new_workflow("running"))
    dbos_storage.create_workflow(new_workflow("queued", status=ENQUEUED, queue_name="q"))
    dbos_storage.create_workflow(new_workflow("done"))
    dbos_storage.finish_workflow(finish("done"))
    dbos_storage.cancel_workflows(("running", "queued", "done"), 1_700_000_000_900)
    assert _completed_at(dbos_storage, "running") == 1_700_000_000_900
    assert _completed_at(dbos_storage, "queued") == 1_700_000_000_900
    assert _completed_at(dbos_storage, "done") == 1_700_000_000_500  # finished before: kept
    dbos_storage.create_workflow(new_workflow("crashing", max_recovery_attempts=0))
    dbos_storage.recover_pending("executor-a", "v1")
    row = dbos_storage.get_workflow("crashing")
    assert row is not None and row.status == EXCEEDED
    assert row.completed_at_ms == row.updated_at_ms


def test_completed_at_is_cleared_by_a_requeue(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("failed"))
    dbos_storage.finish_workflow(finish("failed", ERROR, None))
    assert _completed_at(dbos_storage, "failed") is not None
    dbos_storage.requeue_workflows(("failed",), "internal", 77)
    assert _completed_at(dbos_storage, "failed") is None


def test_forked_from_names_the_original(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("original"))
    dbos_storage.record_step(step("original", 0))
    dbos_storage.finish_workflow(finish("original"))
    fork = dbos_storage.fork_workflow(
        ForkRequest("original", "forked", 1, "forks", None, 1_800_000_000_000)
    )
    assert (fork.forked_from, fork.completed_at_ms, fork.status) == ("original", None, ENQUEUED)
    stored = dbos_storage.get_workflow("forked")
    assert stored is not None and stored.forked_from == "original"
    original = dbos_storage.get_workflow("original")
    assert original is not None and original.forked_from is None


def test_schedule_name_round_trips(dbos_storage: SystemStorage) -> None:
    init = dbos_storage.create_workflow(new_workflow("tick", schedule_name="every-minute"))
    assert init.row.schedule_name == "every-minute"
    row = dbos_storage.get_workflow("tick")
    assert row is not None and row.schedule_name == "every-minute"
    plain = dbos_storage.create_workflow(new_workflow("plain")).row
    assert plain.schedule_name is None


def test_list_by_parent_and_by_having_one(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("p1", created_at_ms=1))
    dbos_storage.create_workflow(new_workflow("p2", created_at_ms=2))
    dbos_storage.create_workflow(new_workflow("c1", created_at_ms=3, parent_workflow_id="p1"))
    dbos_storage.create_workflow(new_workflow("c2", created_at_ms=4, parent_workflow_id="p2"))
    dbos_storage.create_workflow(new_workflow("c3", created_at_ms=5, parent_workflow_id="p1"))
    assert _ids(dbos_storage, parent_workflow_id="p1") == ["c1", "c3"]
    assert _ids(dbos_storage, parent_workflow_id=("p1", "p2")) == ["c1", "c2", "c3"]
    assert _ids(dbos_storage, parent_workflow_id=()) == []
    assert _ids(dbos_storage, has_parent=True) == ["c1", "c2", "c3"]
    assert _ids(dbos_storage, has_parent=False) == ["p1", "p2"]
    assert _ids(dbos_storage, has_parent=False, parent_workflow_id="p1") == []


def test_list_by_fork_and_schedule(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("a", created_at_ms=1))
    dbos_storage.create_workflow(new_workflow("b", created_at_ms=2, schedule_name="hourly"))
    dbos_storage.create_workflow(new_workflow("c", created_at_ms=3, schedule_name="daily"))
    for original, forked, at in (("a", "a-fork", 4), ("b", "b-fork", 5)):
        dbos_storage.fork_workflow(ForkRequest(original, forked, 0, "forks", None, at))
    assert _ids(dbos_storage, forked_from="a") == ["a-fork"]
    assert _ids(dbos_storage, forked_from=("a", "b")) == ["a-fork", "b-fork"]
    assert _ids(dbos_storage, is_fork=True) == ["a-fork", "b-fork"]
    assert _ids(dbos_storage, is_fork=False) == ["a", "b", "c"]
    assert _ids(dbos_storage, schedule_name="hourly") == ["b"]
    assert _ids(dbos_storage, schedule_name=("hourly", "daily")) == ["b", "c"]


def test_list_by_any_of_several_prefixes(dbos_storage: SystemStorage) -> None:
    for index, workflow_id in enumerate(("order-1", "order-2", "refund-1", "other", "a%b", "a_c")):
        dbos_storage.create_workflow(new_workflow(workflow_id, created_at_ms=index))
    assert _ids(dbos_storage, workflow_id_prefix=("order-", "refund-")) == [
        "order-1",
        "order-2",
        "refund-1",
    ]
    assert _ids(dbos_storage, workflow_id_prefix=("refund-",)) == ["refund-1"]
    assert _ids(dbos_storage, workflow_id_prefix=()) == []
    # Prefixes compare exactly: % and _ are no wildcards.
    assert _ids(dbos_storage, workflow_id_prefix=("a%", "zzz")) == ["a%b"]
    assert _ids(dbos_storage, workflow_id_prefix=("a_", "o%")) == ["a_c"]
    # With the other filters: all must hold.
    assert _ids(dbos_storage, workflow_id_prefix=("order-", "refund-"), limit=1, offset=2) == [
        "refund-1"
    ]


def test_list_by_lists_of_values(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("x", created_at_ms=1, name="f"))
    dbos_storage.create_workflow(
        new_workflow("y", created_at_ms=2, name="g", executor_id="e2", queue_name="q1")
    )
    dbos_storage.create_workflow(
        new_workflow("z", created_at_ms=3, name="h", application_version="v2", queue_name="q2")
    )
    assert _ids(dbos_storage, name=("f", "h")) == ["x", "z"]
    assert _ids(dbos_storage, executor_id=("e2", "nobody")) == ["y"]
    assert _ids(dbos_storage, application_version=("v1",)) == ["x", "y"]
    assert _ids(dbos_storage, queue_name=("q1", "q2")) == ["y", "z"]
    assert _ids(dbos_storage, name=()) == []


def test_list_by_completion_time(dbos_storage: SystemStorage) -> None:
    for workflow_id, at in (("early", 100), ("late", 300)):
        dbos_storage.create_workflow(new_workflow(workflow_id))
        dbos_storage.cancel_workflows((workflow_id,), at)
    dbos_storage.create_workflow(new_workflow("running"))
    assert _ids(dbos_storage, completed_after_ms=200) == ["late"]
    assert _ids(dbos_storage, completed_before_ms=200) == ["early"]
    assert _ids(dbos_storage, completed_after_ms=100, completed_before_ms=300) == ["early", "late"]
