"""The fork options conformance suite (DBOS Transact 3.4's ``fork_workflow`` keywords as
`ForkRequest` carries them): the fork's queue, partition key, timeout and deadline, and the
child workflow IDs its copied operations are rewritten to, tested through the
`SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.fork_options import *  # noqa: F403
"""

from __future__ import annotations

from dbos import SystemStorage
from dbos.storage import ForkRequest, WorkflowStatusString

from .storage import new_workflow, step

__all__ = [
    "test_fork_takes_the_queue_partition_key_and_timeout_given",
    "test_fork_without_options_has_no_partition_key_or_timeout",
    "test_fork_replaces_the_child_ids_of_its_copied_operations",
]

NOW = 1_800_000_000_000


def _fork(workflow_id: str, forked: str, start_step: int, **overrides: object) -> ForkRequest:
    fields: dict[str, object] = {
        "workflow_id": workflow_id,
        "forked_workflow_id": forked,
        "start_step": start_step,
        "queue_name": "forks",
        "application_version": None,
        "now_ms": NOW,
        **overrides,
    }
    return ForkRequest(**fields)  # type: ignore[arg-type]


def _original(storage: SystemStorage) -> None:
    # The original had a partition key and a timeout of its own: a fork takes neither.
    storage.create_workflow(
        new_workflow(
            "original",
            status=WorkflowStatusString.ENQUEUED.value,
            queue_name="old",
            queue_partition_key="old-partition",
            timeout_ms=60_000,
            deadline_ms=1_700_000_060_000,
        )
    )
    for function_id in (1, 2):
        storage.record_step(step("original", function_id))


def test_fork_takes_the_queue_partition_key_and_timeout_given(dbos_storage: SystemStorage) -> None:
    _original(dbos_storage)
    request = _fork(
        "original",
        "forked",
        2,
        queue_name="partitioned",
        queue_partition_key="tenant-7",
        timeout_ms=1_500,
        deadline_ms=NOW + 1_500,
    )
    row = dbos_storage.fork_workflow(request)
    assert (row.status, row.queue_name, row.queue_partition_key) == (
        WorkflowStatusString.ENQUEUED.value,
        "partitioned",
        "tenant-7",
    )
    assert (row.timeout_ms, row.deadline_ms) == (1_500, NOW + 1_500)
    assert dbos_storage.get_workflow("forked") == row


def test_fork_without_options_has_no_partition_key_or_timeout(dbos_storage: SystemStorage) -> None:
    _original(dbos_storage)
    row = dbos_storage.fork_workflow(_fork("original", "forked", 2))
    assert (row.queue_name, row.queue_partition_key) == ("forks", None)
    assert (row.timeout_ms, row.deadline_ms) == (None, None)


def test_fork_replaces_the_child_ids_of_its_copied_operations(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(new_workflow("parent"))
    # 1 starts child-a, 2 awaits it, 3 starts child-b, 4 is a plain step, 5 starts
    # child-c (not copied: the fork starts at 5).
    children = {1: "child-a", 2: "child-a", 3: "child-b", 5: "child-c"}
    for function_id in range(1, 6):
        child = children.get(function_id)
        dbos_storage.record_step(step("parent", function_id, child_workflow_id=child))
    replacements = (("child-a", "new-a"), ("child-c", "new-c"), ("ghost", "new-ghost"))
    dbos_storage.fork_workflow(_fork("parent", "forked", 5, replacement_children=replacements))
    copied = dbos_storage.load_steps("forked")
    assert [(s.function_id, s.child_workflow_id) for s in copied] == [
        (1, "new-a"),
        (2, "new-a"),
        (3, "child-b"),
        (4, None),
    ]
    # Only the child ID changes: the recorded outputs are copied as they are.
    original = dbos_storage.load_steps("parent")
    assert [s.output for s in copied] == [s.output for s in original[:4]]
    assert [s.child_workflow_id for s in original] == [
        "child-a",
        "child-a",
        "child-b",
        None,
        "child-c",
    ]
