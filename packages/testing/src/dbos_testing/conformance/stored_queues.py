"""The stored-queue conformance suite (issue 15, queues as data): storing, reading, changing
and deleting queues, their depths, and the queues a lease listens to, tested through the
`SystemStorage` protocol only.

Run it from a test module with::

    from dbos_testing.conformance.stored_queues import *  # noqa: F403
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from dbos import SystemStorage
from dbos.storage import DBOSConfigError, Lease, QueueDepth, QueueSpec, StoredQueue

from .._storage import storage_for_url
from .queues import claim, task

__all__ = [
    "test_a_stored_queue_reads_back_as_stored",
    "test_storing_again_replaces_only_when_asked",
    "test_concurrent_stores_of_one_name_insert_it_once",
    "test_update_changes_only_the_named_settings",
    "test_concurrent_updates_of_different_settings_are_all_kept",
    "test_a_conditional_update_applies_only_to_the_expected_settings",
    "test_a_partition_limit_makes_a_queue_partitioned_and_it_stays_so",
    "test_update_of_an_unknown_queue_or_setting_changes_nothing",
    "test_delete_removes_the_queue_and_leaves_its_tasks",
    "test_queue_depths_count_enqueued_and_pending_tasks_per_queue",
    "test_a_lease_records_the_queues_its_process_listens_to",
    "test_a_backend_that_reports_settings_changes_reports_other_storages_changes",
]

_FULL = StoredQueue(
    name="orders",
    concurrency=10,
    worker_concurrency=2,
    rate_limit_max=50,
    rate_limit_period_sec=1.5,
    priority_enabled=True,
    partition_queue=False,
    polling_interval_sec=0.25,
    application_name="shop",
)


def _times(queue: StoredQueue | None) -> tuple[int, int]:
    assert queue is not None
    return queue.created_at_ms, queue.updated_at_ms


def test_a_stored_queue_reads_back_as_stored(dbos_storage: SystemStorage) -> None:
    assert dbos_storage.get_queue("orders") is None and dbos_storage.list_queues() == []
    assert dbos_storage.store_queue(_FULL, False, 1_000) is True
    expected = replace(_FULL, created_at_ms=1_000, updated_at_ms=1_000)
    assert dbos_storage.get_queue("orders") == expected
    partitioned = StoredQueue(
        "tenants",
        partition_queue=True,
        partition_concurrency=1,
        partition_rate_limit_max=3,
        partition_rate_limit_period_sec=2.0,
    )
    dbos_storage.store_queue(partitioned, False, 2_000)
    assert [q.name for q in dbos_storage.list_queues()] == ["orders", "tenants"]
    found = dbos_storage.get_queue("tenants")
    assert found is not None and found.settings() == partitioned.settings()
    assert found.application_name is None


def test_storing_again_replaces_only_when_asked(dbos_storage: SystemStorage) -> None:
    dbos_storage.store_queue(_FULL, False, 1_000)
    other = StoredQueue("orders", concurrency=3, application_name="other")
    assert dbos_storage.store_queue(other, False, 2_000) is False
    assert dbos_storage.get_queue("orders") == replace(
        _FULL, created_at_ms=1_000, updated_at_ms=1_000
    )
    assert dbos_storage.store_queue(other, True, 3_000) is False
    found = dbos_storage.get_queue("orders")
    assert found is not None and found.settings() == other.settings()
    assert found.application_name == "other" and _times(found) == (1_000, 3_000)


def test_concurrent_stores_of_one_name_insert_it_once(dbos_storage: SystemStorage) -> None:
    inserted: list[bool] = []
    barrier = threading.Barrier(4)

    def store(index: int) -> None:
        barrier.wait()
        inserted.append(
            dbos_storage.store_queue(StoredQueue("raced", concurrency=index + 1), True, 5)
        )

    threads = [threading.Thread(target=store, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(inserted) == [False, False, False, True]
    assert [q.name for q in dbos_storage.list_queues()] == ["raced"]


def test_update_changes_only_the_named_settings(dbos_storage: SystemStorage) -> None:
    dbos_storage.store_queue(_FULL, False, 1_000)
    updated = dbos_storage.update_queue(
        "orders", {"concurrency": 4, "rate_limit_max": None, "rate_limit_period_sec": None}, 2_000
    )
    expected = replace(
        _FULL,
        concurrency=4,
        rate_limit_max=None,
        rate_limit_period_sec=None,
        created_at_ms=1_000,
        updated_at_ms=2_000,
    )
    assert updated == expected
    assert dbos_storage.get_queue("orders") == expected
    dbos_storage.update_queue("orders", {"polling_interval_sec": 2.5}, 3_000)
    found = dbos_storage.get_queue("orders")
    assert found is not None and found.polling_interval_sec == 2.5 and found.concurrency == 4


def test_concurrent_updates_of_different_settings_are_all_kept(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.store_queue(StoredQueue("busy"), False, 1_000)
    settings = ["concurrency", "worker_concurrency", "rate_limit_max", "partition_concurrency"]
    barrier = threading.Barrier(len(settings))

    def change(setting: str) -> None:
        barrier.wait()
        dbos_storage.update_queue("busy", {setting: 7}, 2_000)

    threads = [threading.Thread(target=change, args=(s,)) for s in settings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = dbos_storage.get_queue("busy")
    assert found is not None
    assert [getattr(found, s) for s in settings] == [7, 7, 7, 7]


def test_a_conditional_update_applies_only_to_the_expected_settings(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.store_queue(_FULL, False, 1_000)
    read = dbos_storage.get_queue("orders")
    assert read is not None
    # Another writer changes a setting after `read`: the conditional update misses.
    dbos_storage.update_queue("orders", {"concurrency": 9}, 2_000)
    assert dbos_storage.update_queue("orders", {"worker_concurrency": 1}, 3_000, read) is None
    now = dbos_storage.get_queue("orders")
    assert now is not None and now.worker_concurrency == _FULL.worker_concurrency
    assert _times(now) == (1_000, 2_000)
    # Against the settings as they are now (a float and None among them), it applies.
    updated = dbos_storage.update_queue("orders", {"worker_concurrency": 1}, 4_000, now)
    assert updated is not None and (updated.concurrency, updated.worker_concurrency) == (9, 1)
    cleared = dbos_storage.update_queue("orders", {"rate_limit_max": None}, 5_000, updated)
    assert cleared is not None and cleared.rate_limit_max is None
    again = dbos_storage.update_queue("orders", {"concurrency": 8}, 6_000, cleared)
    assert again is not None and again.concurrency == 8
    assert dbos_storage.update_queue("missing", {"concurrency": 1}, 7_000, _FULL) is None


def test_a_partition_limit_makes_a_queue_partitioned_and_it_stays_so(
    dbos_storage: SystemStorage,
) -> None:
    dbos_storage.store_queue(StoredQueue("later"), False, 1_000)
    changed = dbos_storage.update_queue("later", {"partition_concurrency": 2}, 2_000)
    assert changed is not None and changed.partition_queue is True
    cleared = dbos_storage.update_queue("later", {"partition_concurrency": None}, 3_000)
    assert cleared is not None and cleared.partition_queue is True
    assert cleared.partition_concurrency is None


def test_update_of_an_unknown_queue_or_setting_changes_nothing(
    dbos_storage: SystemStorage,
) -> None:
    assert dbos_storage.update_queue("missing", {"concurrency": 1}, 1_000) is None
    assert dbos_storage.get_queue("missing") is None
    dbos_storage.store_queue(_FULL, False, 1_000)
    with pytest.raises(DBOSConfigError, match="name"):
        dbos_storage.update_queue("orders", {"name": 1, "concurrency": 1}, 2_000)
    assert _times(dbos_storage.get_queue("orders")) == (1_000, 1_000)


def test_delete_removes_the_queue_and_leaves_its_tasks(dbos_storage: SystemStorage) -> None:
    dbos_storage.store_queue(_FULL, False, 1_000)
    dbos_storage.create_workflow(task("waiting", "orders"))
    assert dbos_storage.delete_queue("orders") is True
    assert dbos_storage.delete_queue("orders") is False
    assert dbos_storage.get_queue("orders") is None and dbos_storage.list_queues() == []
    row = dbos_storage.get_workflow("waiting")
    assert row is not None and row.status == "ENQUEUED" and row.queue_name == "orders"


def test_queue_depths_count_enqueued_and_pending_tasks_per_queue(
    dbos_storage: SystemStorage,
) -> None:
    assert dbos_storage.queue_depths() == []
    for index in range(3):
        dbos_storage.create_workflow(task(f"a-{index}", "a"))
    dbos_storage.create_workflow(task("b-0", "b"))
    assert len(claim(dbos_storage, QueueSpec("a"), 2)) == 2
    assert dbos_storage.queue_depths() == [QueueDepth("a", 1, 2), QueueDepth("b", 1, 0)]


def test_a_lease_records_the_queues_its_process_listens_to(dbos_storage: SystemStorage) -> None:
    dbos_storage.renew_lease(Lease("i-all", "e1", "v1", 60_000, "h", 1))
    dbos_storage.renew_lease(Lease("i-some", "e2", "v1", 60_000, "h", 2, ("a", "b")))
    leases = {lease.instance_id: lease.queues for lease in dbos_storage.list_leases()}
    assert leases == {"i-all": None, "i-some": ("a", "b")}
    dbos_storage.renew_lease(Lease("i-some", "e2", "v1", 60_000, "h", 2, ("c",)))
    leases = {lease.instance_id: lease.queues for lease in dbos_storage.list_leases()}
    assert leases["i-some"] == ("c",)


def test_a_backend_that_reports_settings_changes_reports_other_storages_changes(
    dbos_storage: SystemStorage, dbos_system_database_url: str
) -> None:
    """The optional ``reports_queue_settings`` (see `StorageBackend.relay_notifications`): a
    backend that says True relays every store, change and delete of a queue made through
    another storage on the same database (another process, in real life) to
    `on_queue_settings`, with the queue's name. Queue workers then read the stored queues
    only as a safety net, so a missed change would leave them on old limits."""
    if not dbos_storage.reports_queue_settings:
        pytest.skip("this backend does not report settings changes (optional)")
    heard: list[str | None] = []
    dbos_storage.on_queue_settings(heard.append)
    other = storage_for_url(dbos_system_database_url)
    other.setup()
    try:

        def reported(count: int) -> None:
            deadline = time.monotonic() + 10
            while len(heard) < count and time.monotonic() < deadline:
                time.sleep(0.01)
            assert heard == ["reported"] * count

        assert other.store_queue(StoredQueue("reported"), False, 1)
        reported(1)
        assert other.update_queue("reported", {"worker_concurrency": 3}, 2) is not None
        reported(2)
        assert other.delete_queue("reported")
        reported(3)
    finally:
        other.close()
