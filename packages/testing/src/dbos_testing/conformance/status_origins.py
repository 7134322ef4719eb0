"""The status-origins conformance suite (DBOS Transact 3.4's ``workflow_timeout_ms``,
``delay_until_epoch_ms``, ``was_forked_from`` and ``application_name``) and the listing
filters ``was_forked_from``, ``dequeued_after``/``dequeued_before`` and ``application_name``:
tested through the `SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.status_origins import *  # noqa: F403
"""

from __future__ import annotations

from dbos import SystemStorage
from dbos.storage import ForkRequest, QueueSpec, WorkflowQuery

from .queues import claim, task
from .storage import finish, new_workflow

__all__ = [
    "test_timeout_delay_and_application_round_trip",
    "test_a_batch_stores_them_too",
    "test_was_forked_from_marks_the_original_only",
    "test_a_fork_keeps_its_originals_application",
    "test_list_by_was_forked_from",
    "test_list_by_dequeue_time",
    "test_list_by_application_name_keeps_unnamed_rows",
]


def _ids(storage: SystemStorage, **filters: object) -> list[str]:
    query = WorkflowQuery(**filters)  # type: ignore[arg-type]
    return [row.workflow_id for row in storage.list_workflows(query)]


def test_timeout_delay_and_application_round_trip(dbos_storage: SystemStorage) -> None:
    init = dbos_storage.create_workflow(
        new_workflow("timed", timeout_ms=5_000, deadline_ms=9_000, application_name="billing")
    )
    assert (init.row.timeout_ms, init.row.deadline_ms, init.row.application_name) == (
        5_000,
        9_000,
        "billing",
    )
    dbos_storage.create_workflow(task("delayed", delay_until_ms=123_456))
    dbos_storage.create_workflow(new_workflow("plain"))
    rows = {
        row.workflow_id: row
        for row in dbos_storage.list_workflows(WorkflowQuery(load_inputs=False))
    }
    timed, delayed, plain = rows["timed"], rows["delayed"], rows["plain"]
    assert (timed.timeout_ms, timed.application_name, timed.delay_until_ms) == (
        5_000,
        "billing",
        None,
    )
    assert (delayed.delay_until_ms, delayed.timeout_ms) == (123_456, None)
    assert (plain.timeout_ms, plain.application_name, plain.was_forked_from) == (
        None,
        None,
        False,
    )
    stored = dbos_storage.get_workflow("timed")
    assert stored is not None and (stored.timeout_ms, stored.application_name) == (
        5_000,
        "billing",
    )


def test_a_batch_stores_them_too(dbos_storage: SystemStorage) -> None:
    inits = dbos_storage.create_workflows(
        (
            task("b1", timeout_ms=1_000, application_name="app-a"),
            task("b2", delay_until_ms=77_000),
        )
    )
    assert [(i.row.timeout_ms, i.row.application_name) for i in inits] == [
        (1_000, "app-a"),
        (None, None),
    ]
    assert inits[1].row.delay_until_ms == 77_000


def test_was_forked_from_marks_the_original_only(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("original"))
    dbos_storage.finish_workflow(finish("original"))
    assert dbos_storage.create_workflow(new_workflow("other")).row.was_forked_from is False
    fork = dbos_storage.fork_workflow(ForkRequest("original", "forked", 1, "q", None, 5))
    assert fork.was_forked_from is False
    original = dbos_storage.get_workflow("original")
    assert original is not None and original.was_forked_from is True
    # A second fork, and a fork of the fork, leave the marks consistent.
    dbos_storage.fork_workflow(ForkRequest("original", "forked-2", 1, "q", None, 6))
    dbos_storage.fork_workflow(ForkRequest("forked", "forked-of-fork", 1, "q", None, 7))
    marks = {
        row.workflow_id: row.was_forked_from
        for row in dbos_storage.list_workflows(WorkflowQuery(load_inputs=False))
    }
    assert marks == {
        "original": True,
        "other": False,
        "forked": True,
        "forked-2": False,
        "forked-of-fork": False,
    }


def test_a_fork_keeps_its_originals_application(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("owned", application_name="billing"))
    fork = dbos_storage.fork_workflow(ForkRequest("owned", "owned-fork", 1, "q", None, 5))
    assert fork.application_name == "billing"
    # The timeout is the original start's, not the fork's: a fork has none of its own.
    assert fork.timeout_ms is None


def test_list_by_was_forked_from(dbos_storage: SystemStorage) -> None:
    for index, workflow_id in enumerate(("a", "b", "c")):
        dbos_storage.create_workflow(new_workflow(workflow_id, created_at_ms=index))
    dbos_storage.fork_workflow(ForkRequest("b", "b-fork", 1, "q", None, 10))
    assert _ids(dbos_storage, was_forked_from=True) == ["b"]
    assert _ids(dbos_storage, was_forked_from=False) == ["a", "c", "b-fork"]
    assert _ids(dbos_storage, was_forked_from=True, is_fork=True) == []


def test_list_by_dequeue_time(dbos_storage: SystemStorage) -> None:
    spec = QueueSpec("q")
    dbos_storage.create_workflow(task("early", created_at_ms=1))
    assert claim(dbos_storage, spec, now_ms=1_000) == ["early"]
    dbos_storage.create_workflow(task("late", created_at_ms=2))
    assert claim(dbos_storage, spec, now_ms=3_000) == ["late"]
    dbos_storage.create_workflow(task("waiting", created_at_ms=3))
    # A workflow that never was on a queue never matches, whatever its started_at.
    dbos_storage.create_workflow(new_workflow("direct", created_at_ms=4))
    dequeued = {
        row.workflow_id: row.started_at_ms
        for row in dbos_storage.list_workflows(WorkflowQuery(load_inputs=False))
    }
    assert (dequeued["early"], dequeued["late"], dequeued["waiting"]) == (1_000, 3_000, None)
    assert _ids(dbos_storage, dequeued_after_ms=2_000) == ["late"]
    assert _ids(dbos_storage, dequeued_before_ms=2_000) == ["early"]
    assert _ids(dbos_storage, dequeued_after_ms=1_000, dequeued_before_ms=3_000) == [
        "early",
        "late",
    ]
    assert _ids(dbos_storage, dequeued_after_ms=0) == ["early", "late"]


def test_list_by_application_name_keeps_unnamed_rows(dbos_storage: SystemStorage) -> None:
    for index, (workflow_id, app) in enumerate(
        (("a1", "app-a"), ("b1", "app-b"), ("none", None), ("c1", "app-c"))
    ):
        dbos_storage.create_workflow(
            new_workflow(workflow_id, created_at_ms=index, application_name=app)
        )
    assert _ids(dbos_storage, application_name="app-a") == ["a1", "none"]
    assert _ids(dbos_storage, application_name=("app-a", "app-c")) == ["a1", "none", "c1"]
    assert _ids(dbos_storage, application_name="nobody") == ["none"]
    assert _ids(dbos_storage, application_name=()) == []
    assert _ids(dbos_storage, application_name="app-b", name="other") == []
