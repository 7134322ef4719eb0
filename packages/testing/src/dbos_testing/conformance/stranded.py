"""The stranded-work conformance suite (issue 11, item 4): which PENDING and ENQUEUED
workflows no live process serves, counted by version, and moving them to a version that is
served, through the protocol only. Run it from a test module with
``from dbos_testing.conformance.stranded import *``."""

from __future__ import annotations

import threading
from dataclasses import replace

from dbos import SystemStorage
from dbos.storage import (
    ApplicationVersion,
    ClaimRequest,
    Lease,
    NewWorkflow,
    QueueSpec,
    StrandedVersion,
    WorkflowQuery,
    WorkflowStatusString,
)

PENDING = WorkflowStatusString.PENDING.value
ENQUEUED = WorkflowStatusString.ENQUEUED.value
SUCCESS = WorkflowStatusString.SUCCESS.value

#: Long enough to stay live for a whole test.
LIVE_MS = 600_000

__all__ = [
    "test_stranded_are_the_unserved_versions_pending_and_enqueued_rows",
    "test_a_version_less_queued_row_is_stranded_without_a_live_latest_version",
    "test_stranded_combines_with_the_other_filters",
    "test_move_takes_queued_rows_and_abandoned_pending_ones_only",
    "test_a_moved_row_is_claimed_by_its_new_version_only",
    "test_concurrent_moves_and_takeovers_give_each_row_to_one_caller",
    "test_version_less_tasks_go_only_to_claimers_that_take_them",
]


def lease(instance_id: str, version: str, duration_ms: int = LIVE_MS) -> Lease:
    return Lease(instance_id, f"ex-{instance_id}", version, duration_ms)


def row(workflow_id: str, version: str | None, **overrides: object) -> NewWorkflow:
    workflow = NewWorkflow(
        workflow_id=workflow_id,
        name="module.workflow",
        inputs='{"args":[],"kwargs":{}}',
        executor_id="ex",
        application_version=version,
        created_at_ms=1_000,
    )
    return replace(workflow, **overrides)  # type: ignore[arg-type]


def stranded_ids(storage: SystemStorage, **filters: object) -> list[str]:
    query = replace(WorkflowQuery(load_inputs=False, load_output=False, stranded=True), **filters)  # type: ignore[arg-type]
    return [found.workflow_id for found in storage.list_workflows(query)]


def test_stranded_are_the_unserved_versions_pending_and_enqueued_rows(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("v2-process", "v2"))
    dbos_storage.renew_lease(lease("v1-dead", "v1", duration_ms=0))
    dbos_storage.create_workflow(row("v1-pending", "v1", owner_instance="v1-dead", created_at_ms=1))
    dbos_storage.create_workflow(
        row("v1-queued", "v1", status=ENQUEUED, queue_name="q", created_at_ms=2)
    )
    dbos_storage.create_workflow(
        row("v1-queued-2", "v1", status=ENQUEUED, queue_name="q", created_at_ms=3)
    )
    dbos_storage.create_workflow(row("v0-pending", "v0", created_at_ms=4))
    dbos_storage.create_workflow(row("v1-done", "v1", status=SUCCESS, created_at_ms=5))
    dbos_storage.create_workflow(row("v2-pending", "v2", owner_instance="v1-dead", created_at_ms=6))
    dbos_storage.create_workflow(
        row("v2-queued", "v2", status=ENQUEUED, queue_name="q", created_at_ms=7)
    )
    # A served version's rows are not stranded, even with a dead owner: a takeover takes them.
    assert stranded_ids(dbos_storage) == ["v1-pending", "v1-queued", "v1-queued-2", "v0-pending"]
    assert dbos_storage.count_stranded_workflows() == [
        StrandedVersion("v0", 1, 0, 4),
        StrandedVersion("v1", 1, 2, 1),
    ]
    # A live v1 process serves v1 again: only v0 is left stranded.
    dbos_storage.renew_lease(lease("v1-back", "v1"))
    assert stranded_ids(dbos_storage) == ["v0-pending"]
    dbos_storage.release_lease("v1-back")
    dbos_storage.release_lease("v2-process")
    assert len(stranded_ids(dbos_storage)) == 6


def test_a_version_less_queued_row_is_stranded_without_a_live_latest_version(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.create_workflow(row("anyone", None, status=ENQUEUED, queue_name="q"))
    # No live process at all (and no version registered).
    assert stranded_ids(dbos_storage) == ["anyone"]
    assert dbos_storage.count_stranded_workflows() == [StrandedVersion(None, 0, 1, 1_000)]
    dbos_storage.register_application_version(ApplicationVersion("id-1", "v1", 1, 1, None))
    dbos_storage.register_application_version(ApplicationVersion("id-2", "v2", 2, 2, None))
    dbos_storage.renew_lease(lease("old", "v1"))
    # Only the latest version takes version-less work, and v2 has no live process.
    assert stranded_ids(dbos_storage) == ["anyone"]
    dbos_storage.renew_lease(lease("new", "v2"))
    assert stranded_ids(dbos_storage) == []
    assert dbos_storage.count_stranded_workflows() == []


def test_stranded_combines_with_the_other_filters(dbos_storage: SystemStorage) -> None:
    for index in range(4):
        version = "v1" if index % 2 else "v0"
        dbos_storage.create_workflow(row(f"w{index}", version, created_at_ms=index))
    assert stranded_ids(dbos_storage, application_version="v1") == ["w1", "w3"]
    assert stranded_ids(dbos_storage, sort_desc=True, limit=2) == ["w3", "w2"]
    assert stranded_ids(dbos_storage, statuses=(ENQUEUED,)) == []


def test_move_takes_queued_rows_and_abandoned_pending_ones_only(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("alive", "v1"))
    dbos_storage.renew_lease(lease("dead", "v1", duration_ms=0))
    dbos_storage.create_workflow(
        row("queued", "v1", status=ENQUEUED, queue_name="q", deduplication_id="d")
    )
    dbos_storage.create_workflow(
        row("abandoned", "v1", owner_instance="dead", queue_name="q", deduplication_id="e")
    )
    dbos_storage.create_workflow(row("ownerless", "v1"))
    dbos_storage.create_workflow(row("running", "v1", owner_instance="alive"))
    dbos_storage.create_workflow(row("finished", "v1", status=SUCCESS))
    ids = ("queued", "abandoned", "ownerless", "running", "finished", "unknown")
    moved = dbos_storage.move_workflows(ids, "v2", "_internal", 5_000)
    assert sorted(moved) == ["abandoned", "ownerless", "queued"]
    rows = {wid: dbos_storage.get_workflow(wid) for wid in ids}
    queued, abandoned = rows["queued"], rows["abandoned"]
    assert queued is not None and abandoned is not None
    assert (queued.status, queued.application_version, queued.queue_name) == (ENQUEUED, "v2", "q")
    assert queued.deduplication_id == "d"
    assert (abandoned.status, abandoned.application_version) == (ENQUEUED, "v2")
    # A started queue task goes back to its own queue, unstarted, as a recovery puts it back:
    # its queue's limits count it again when it is claimed, and its deduplication ID holds.
    assert (abandoned.queue_name, abandoned.deduplication_id) == ("q", "e")
    assert (abandoned.executor_id, abandoned.owner_instance) == (None, None)
    assert abandoned.started_at_ms is None
    ownerless = rows["ownerless"]
    assert ownerless is not None
    assert (ownerless.status, ownerless.queue_name) == (ENQUEUED, "_internal")
    running, finished = rows["running"], rows["finished"]
    assert running is not None and finished is not None
    assert (running.status, running.application_version, running.owner_instance) == (
        PENDING,
        "v1",
        "alive",
    )
    assert (finished.status, finished.application_version) == (SUCCESS, "v1")
    assert rows["unknown"] is None


def test_a_moved_row_is_claimed_by_its_new_version_only(dbos_storage: SystemStorage) -> None:
    dbos_storage.create_workflow(row("task", "v1", status=ENQUEUED, queue_name="q"))
    assert dbos_storage.move_workflows(("task",), "v2", "_internal", 5_000) == ["task"]

    def claim(version: str) -> list[str]:
        request = ClaimRequest(
            QueueSpec("q"),
            f"ex-{version}",
            version,
            10,
            ("module.workflow",),
            6_000,
            f"i-{version}",
        )
        return [claimed.workflow_id for claimed in dbos_storage.claim_queued(request)]

    assert claim("v1") == []
    assert claim("v2") == ["task"]
    claimed = dbos_storage.get_workflow("task")
    assert claimed is not None and (claimed.status, claimed.owner_instance) == (PENDING, "i-v2")
    # Claimed and owned by a live process: it is not moved again.
    dbos_storage.renew_lease(lease("i-v2", "v2"))
    assert dbos_storage.move_workflows(("task",), "v3", "_internal", 7_000) == []


def test_concurrent_moves_and_takeovers_give_each_row_to_one_caller(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.renew_lease(lease("dead", "v1", duration_ms=0))
    ids = tuple(f"w{index}" for index in range(20))
    for index, workflow_id in enumerate(ids):
        dbos_storage.create_workflow(
            row(workflow_id, "v1", owner_instance="dead", created_at_ms=index)
        )
    dbos_storage.renew_lease(lease("taker", "v1"))
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(3)

    def move(name: str) -> None:
        barrier.wait()
        results[name] = dbos_storage.move_workflows(ids, "v2", "_internal", 5_000)

    def take_over() -> None:
        barrier.wait()
        rows = dbos_storage.take_over_workflows("taker", "ex-taker", "v1", 100)
        results["takeover"] = [taken.workflow_id for taken in rows]

    threads = [
        threading.Thread(target=move, args=("move-a",)),
        threading.Thread(target=move, args=("move-b",)),
        threading.Thread(target=take_over),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    moved = results["move-a"] + results["move-b"]
    taken = results["takeover"]
    # A row taken over is owned by a live process: no move takes it afterwards, and a row
    # moved is no longer PENDING, so no takeover takes it.
    assert not set(moved) & set(taken)
    assert sorted(set(moved) | set(taken)) == sorted(ids)
    for workflow_id in ids:
        stored = dbos_storage.get_workflow(workflow_id)
        assert stored is not None
        if workflow_id in taken:
            assert (stored.status, stored.owner_instance, stored.application_version) == (
                PENDING,
                "taker",
                "v1",
            )
        else:
            assert (stored.status, stored.application_version) == (ENQUEUED, "v2")


def test_version_less_tasks_go_only_to_claimers_that_take_them(
    dbos_storage: SystemStorage,
) -> None:
    for index, queue in enumerate(("plain", "limited", "parts")):
        key = "k" if queue == "parts" else None
        for version, at in ((None, index), ("v1", 10 + index)):
            name = f"{queue}-{version or 'any'}"
            dbos_storage.create_workflow(
                row(
                    name,
                    version,
                    status=ENQUEUED,
                    queue_name=queue,
                    created_at_ms=at,
                    queue_partition_key=key,
                )
            )
    specs = {
        "plain": QueueSpec("plain"),
        "limited": QueueSpec("limited", concurrency=5),
        "parts": QueueSpec("parts", partitioned=True),
    }

    def claim(queue: str, takes_unversioned: bool) -> list[str]:
        request = ClaimRequest(
            specs[queue], "ex", "v1", 10, ("module.workflow",), 6_000, "i", takes_unversioned
        )
        return [claimed.workflow_id for claimed in dbos_storage.claim_queued(request)]

    # An older version's process (DBOS Transact's rule): only its own version's tasks.
    for queue in ("plain", "limited", "parts"):
        assert claim(queue, False) == [f"{queue}-v1"]
        assert claim(queue, True) == [f"{queue}-any"]
