"""Queues stored in the system database (issue 15, DBOS Transact 3.4's names and meaning):
declaring stores them, the getters read and the setters change the stored queue, list,
retrieve and delete on `DBOS` and `DBOSClient`, `DBOS.listen_queues`, and the checks of one
setting against another, on every backend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from dbos import DBOS, DBOSConfigError, DBOSException, Queue, SetEnqueueOptions, SystemStorage
from dbos.management import QueueSettings
from dbos.storage import StoredQueue
from dbos_client import DBOSClient

Launch = Callable[..., None]


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_declared_queues_are_stored_at_launch_and_listed(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("stored-at-launch", concurrency=3, worker_concurrency=2, priority_enabled=True)
    assert dbos_storage.get_queue("stored-at-launch") is None  # not before launch
    assert queue.concurrency == 3  # the declared value until then
    launch()
    stored = dbos_storage.get_queue("stored-at-launch")
    assert stored is not None and stored.application_name == "test-app"
    assert (stored.concurrency, stored.worker_concurrency, stored.priority_enabled) == (3, 2, True)
    assert "stored-at-launch" in [q.name for q in DBOS.list_queues()]
    assert DBOS.retrieve_queue("stored-at-launch") is queue
    after = DBOS.register_queue("stored-after-launch", limiter={"limit": 5, "period": 2.0})
    assert dbos_storage.get_queue("stored-after-launch") is not None  # stored at once
    assert after.limiter == {"limit": 5, "period": 2.0}


def test_setters_change_the_stored_queue_and_getters_read_it(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("tunable", concurrency=2)
    launch()
    queue.set_concurrency(5)
    queue.set_worker_concurrency(3)
    queue.set_limiter({"limit": 10, "period": 1.5})
    queue.set_polling_interval_sec(0.5)
    stored = dbos_storage.get_queue("tunable")
    assert stored is not None
    assert (stored.concurrency, stored.worker_concurrency) == (5, 3)
    assert (stored.rate_limit_max, stored.rate_limit_period_sec) == (10, 1.5)
    assert stored.polling_interval_sec == 0.5
    # A change made elsewhere is what the getters return.
    dbos_storage.update_queue("tunable", {"concurrency": 7}, 1)
    assert queue.concurrency == queue.global_concurrency == 7
    queue.set_limiter(None)
    assert queue.limiter is None

    async def in_async_code() -> tuple[int | None, int | None]:
        await queue.set_global_concurrency_async(9)
        await queue.set_worker_concurrency_async(None)
        return (
            await queue.get_global_concurrency_async(),
            await queue.get_worker_concurrency_async(),
        )

    assert asyncio.run(in_async_code()) == (9, None)


def test_a_refused_setting_changes_nothing(launch: Launch, dbos_storage: SystemStorage) -> None:
    queue = Queue("checked", concurrency=2, worker_concurrency=2)
    launch()
    before = dbos_storage.get_queue("checked")
    with pytest.raises(DBOSConfigError, match="worker_concurrency \\(3\\) cannot exceed"):
        queue.set_worker_concurrency(3)
    with pytest.raises(DBOSConfigError, match="worker_concurrency \\(2\\) cannot exceed"):
        queue.set_concurrency(1)
    with pytest.raises(DBOSConfigError, match="positive integer"):
        queue.set_concurrency(0)
    with pytest.raises(DBOSConfigError, match="limiter must be"):
        queue.set_limiter({"limit": 1})  # type: ignore[arg-type]
    with pytest.raises(DBOSConfigError, match="number > 0"):
        queue.set_polling_interval_sec(0)
    assert dbos_storage.get_queue("checked") == before


def test_set_settings_changes_several_settings_together_or_none(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("several", concurrency=4, worker_concurrency=3)
    launch()
    # Valid only as a whole: one setter at a time would refuse the first step.
    queue.set_settings(concurrency=2, worker_concurrency=1, limiter={"limit": 5, "period": 2})
    stored = dbos_storage.get_queue("several")
    assert stored is not None
    assert (stored.concurrency, stored.worker_concurrency, stored.rate_limit_max) == (2, 1, 5)
    # One refused value: nothing changes, the valid ones included.
    with pytest.raises(DBOSConfigError, match="worker_concurrency \\(9\\) cannot exceed"):
        queue.set_settings(global_concurrency=8, worker_concurrency=9)
    with pytest.raises(DBOSConfigError, match="unknown setting"):
        queue.set_settings(concurrency=8, workers=2)
    with pytest.raises(DBOSConfigError, match="not both"):
        queue.set_settings(concurrency=8, global_concurrency=8)
    assert dbos_storage.get_queue("several") == stored
    asyncio.run(queue.set_settings_async(partition_concurrency=1, partition_limiter=None))
    assert (queue.partition_concurrency, queue.concurrency) == (1, 2)


class _ChangedAfterFirstRead:
    """The real storage, except that right after its first `get_queue` another writer (as
    another process would) lowers the queue's concurrency to 2: the setter's read is stale
    by the time it writes."""

    def __init__(self, storage: SystemStorage) -> None:
        self.storage = storage
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

    def get_queue(self, name: str) -> StoredQueue | None:
        found = self.storage.get_queue(name)
        self.reads += 1
        if self.reads == 1:
            self.storage.update_queue(name, {"concurrency": 2}, 5)
        return found


def test_a_setter_checks_again_when_the_queue_changed_under_it(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    Queue("changed-under-it")
    launch()
    declared = dbos_storage.get_queue("changed-under-it")
    assert declared is not None and declared.concurrency is None
    interleaved = cast(SystemStorage, _ChangedAfterFirstRead(dbos_storage))
    settings = QueueSettings(declared, lambda: interleaved)
    # Valid against what it read (no concurrency), not against what is stored when it writes.
    with pytest.raises(DBOSConfigError, match="worker_concurrency \\(4\\) cannot exceed"):
        settings.set_worker_concurrency(4)
    stored = dbos_storage.get_queue("changed-under-it")
    assert stored is not None and (stored.concurrency, stored.worker_concurrency) == (2, None)
    settings.set_worker_concurrency(2)  # valid against the fresh settings: written
    stored = dbos_storage.get_queue("changed-under-it")
    assert stored is not None and (stored.concurrency, stored.worker_concurrency) == (2, 2)


def test_setters_need_a_stored_queue() -> None:
    DBOS.destroy()
    queue = Queue("not-yet-stored")
    with pytest.raises(DBOSException, match=r"DBOS\.launch"):
        queue.set_concurrency(2)


def test_a_module_level_queue_meets_other_stored_settings(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    # Stored by another process with other settings: this process, of the latest version,
    # overwrites them at launch (DBOS Transact 3.4's update_if_latest_version)...
    dbos_storage.store_queue(StoredQueue("shared-name", concurrency=9), False, 1)
    dbos_storage.store_queue(StoredQueue("kept-name", concurrency=9), False, 1)
    Queue("shared-name", concurrency=2)
    # ...unless it asks never to.
    Queue("kept-name", concurrency=2, on_conflict="never_update")
    launch()
    assert [dbos_storage.get_queue(n).concurrency for n in ("shared-name", "kept-name")] == [  # type: ignore[union-attr]
        2,
        9,
    ]
    assert DBOS.retrieve_queue("kept-name").concurrency == 9  # type: ignore[union-attr]


def test_a_process_of_an_older_version_leaves_the_stored_settings(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    launch(application_version="v1")
    launch(application_version="v2")  # registered later: the latest
    DBOS.destroy()
    dbos_storage.store_queue(StoredQueue("versioned", concurrency=9), False, 1)
    Queue("versioned", concurrency=2)
    launch(application_version="v1")  # v1 keeps its first registration: v2 is the latest
    assert dbos_storage.get_queue("versioned").concurrency == 9  # type: ignore[union-attr]


def test_the_worker_claims_under_a_live_change(launch: Launch) -> None:
    queue = Queue("live-here", concurrency=1, polling_interval_sec=0.05)
    release = threading.Event()
    running: list[int] = []
    lock = threading.Lock()

    @DBOS.workflow()
    def held(index: int) -> int:
        with lock:
            running.append(index)
        release.wait(30)
        return index

    launch()
    handles = [queue.enqueue(held, index) for index in range(5)]
    wait_until(lambda: len(running) == 1)
    time.sleep(0.3)
    assert len(running) == 1
    queue.set_concurrency(3)
    wait_until(lambda: len(running) == 3)
    time.sleep(0.3)
    assert len(running) == 3
    release.set()
    assert sorted(h.get_result() for h in handles) == [0, 1, 2, 3, 4]


def test_a_deleted_queue_is_no_longer_worked_on(
    launch: Launch, dbos_storage: SystemStorage
) -> None:
    queue = Queue("doomed", polling_interval_sec=0.05)

    @DBOS.workflow()
    def job(x: int) -> int:
        return x

    launch()
    assert queue.enqueue(job, 1).get_result() == 1
    DBOS.delete_queue("doomed")
    assert DBOS.retrieve_queue("doomed") is None
    assert "doomed" not in [q.name for q in DBOS.list_queues()]
    # A change reaches every worker within a polling interval (a claim already under way when
    # the queue was deleted may still take a task): enqueue after that.
    time.sleep(0.2)
    handle = queue.enqueue(job, 2)
    time.sleep(0.5)  # ten polling intervals
    assert handle.get_status().status == "ENQUEUED"
    with pytest.raises(DBOSException, match="not stored"):
        queue.set_concurrency(1)
    DBOS.register_queue("doomed", polling_interval_sec=0.05, on_conflict="always_update")
    assert handle.get_result() == 2  # declared again: worked on again


def test_listen_queues_limits_the_queues_this_process_works_on(
    launch: Launch, dbos_storage: SystemStorage, dbos_system_database_url: str
) -> None:
    heard = Queue("heard", polling_interval_sec=0.05)
    ignored = Queue("ignored", polling_interval_sec=0.05)

    @DBOS.workflow()
    def job(x: int) -> int:
        return x

    DBOS.destroy()
    DBOS(config={"name": "test-app", "system_database_url": dbos_system_database_url})
    DBOS.listen_queues(["heard"])
    with pytest.raises(DBOSException, match="called already"):
        DBOS.listen_queues(["heard"])
    DBOS.launch()
    try:
        with pytest.raises(DBOSException, match=r"before DBOS\.launch"):
            DBOS.listen_queues(["ignored"])
        assert heard.enqueue(job, 1).get_result() == 1
        waiting = ignored.enqueue(job, 2)
        time.sleep(0.5)
        assert waiting.get_status().status == "ENQUEUED"
        leases = [lease for lease in dbos_storage.list_leases() if lease.live]
        assert [lease.queues for lease in leases] == [("heard",)]
    finally:
        DBOS.destroy()
    launch()  # a new launch listens to every queue again
    assert DBOS.retrieve_workflow(waiting.workflow_id).get_result() == 2


def test_the_partitioned_checks_follow_the_documented_meaning() -> None:
    # docs/guides/queues.md: one job per tenant, eight jobs per process.
    tenants = Queue("tenant_jobs", concurrency=1, partition_queue=True, worker_concurrency=8)
    assert tenants.declared.partition_concurrency == 1 and tenants.declared.concurrency is None
    Queue("per-partition", partition_concurrency=2, worker_concurrency=8)
    with pytest.raises(DBOSConfigError, match="worker_concurrency \\(8\\) cannot exceed"):
        Queue("whole-queue", global_concurrency=4, worker_concurrency=8)
    with pytest.raises(DBOSConfigError, match="partition_concurrency \\(5\\) cannot exceed"):
        Queue("too-wide", partition_concurrency=5, global_concurrency=4)
    # DBOS Transact 3.4's whole-queue limits on a partitioned queue, and the per-process
    # partition limit, are accepted and stored under their own names.
    both = Queue(
        "global-on-partitions",
        partition_concurrency=1,
        global_concurrency=4,
        worker_concurrency=2,
        partition_worker_concurrency=1,
        limiter={"limit": 10, "period": 1.0},
    )
    assert (both.declared.concurrency, both.declared.partition_concurrency) == (4, 1)
    assert both.declared.partition_worker_concurrency == 1 and both.declared.rate_limit_max == 10
    assert both.declared.partition_queue
    Queue("per-worker-partition", partition_worker_concurrency=3, worker_concurrency=8)
    # `partition_queue=True` with one of 3.4's arguments: the others keep 3.4's meaning too,
    # so `concurrency` and `limiter` bound the whole queue (the older form is without them).
    mixed = Queue(
        "mixed-partitioned",
        concurrency=6,
        limiter={"limit": 5, "period": 2.0},
        partition_queue=True,
        partition_worker_concurrency=1,
    )
    assert (mixed.declared.concurrency, mixed.declared.rate_limit_max) == (6, 5)
    assert mixed.declared.partition_concurrency is None
    assert mixed.declared.partition_rate_limit_max is None
    limited = Queue(
        "limited-partitioned",
        partition_queue=True,
        partition_concurrency=2,
        limiter={"limit": 5, "period": 2.0},
    )
    assert (limited.declared.rate_limit_max, limited.declared.partition_rate_limit_max) == (5, None)
    older = Queue("older-partitioned", 2, {"limit": 3, "period": 1.0}, partition_queue=True)
    assert (older.declared.partition_concurrency, older.declared.concurrency) == (2, None)
    assert (older.declared.partition_rate_limit_max, older.declared.rate_limit_max) == (3, None)
    with pytest.raises(DBOSConfigError, match="partition_worker_concurrency \\(3\\) cannot"):
        Queue("narrow-process", partition_worker_concurrency=3, worker_concurrency=2)
    with pytest.raises(DBOSConfigError, match="partition_worker_concurrency \\(3\\) cannot"):
        Queue("narrow-partition", partition_worker_concurrency=3, partition_concurrency=2)
    with pytest.raises(DBOSConfigError, match="partition_worker_concurrency \\(3\\) cannot"):
        Queue("narrow-queue", partition_worker_concurrency=3, global_concurrency=2)


def test_a_partition_limit_set_live_applies_per_partition(launch: Launch) -> None:
    queue = Queue("tenants-live", partition_queue=True, polling_interval_sec=0.05)
    release = threading.Event()
    running: list[str] = []

    @DBOS.workflow()
    def job(tenant: str) -> None:
        running.append(tenant)
        release.wait(30)

    launch()
    queue.set_partition_concurrency(1)
    assert queue.partition_concurrency == 1
    handles = []
    for tenant in ("a", "a", "b"):
        with SetEnqueueOptions(queue_partition_key=tenant):
            handles.append(queue.enqueue(job, tenant))
    wait_until(lambda: sorted(running) == ["a", "b"])
    time.sleep(0.3)
    assert sorted(running) == ["a", "b"]
    release.set()
    for handle in handles:
        handle.get_result()


def test_dbos_client_registers_retrieves_lists_and_deletes_queues(
    dbos_system_database_url: str, dbos_storage: SystemStorage
) -> None:
    with DBOSClient(dbos_system_database_url) as client:
        queue = client.register_queue("from-client", global_concurrency=4, worker_concurrency=2)
        assert (queue.concurrency, queue.worker_concurrency) == (4, 2)
        again = client.register_queue(
            "from-client", global_concurrency=6, on_conflict="never_update"
        )
        assert again.concurrency == 4
        with pytest.raises(DBOSConfigError, match="update_if_latest_version"):
            client.register_queue("from-client", on_conflict="update_if_latest_version")
        found = client.retrieve_queue("from-client")
        assert found is not None
        found.set_concurrency(8)
        assert queue.concurrency == 8  # both read the stored queue
        assert [q.name for q in client.list_queues()] == ["from-client"]
        assert asyncio.run(client.retrieve_queue_async("nothing")) is None
        client.delete_queue("from-client")
        assert client.list_queues() == [] and dbos_storage.list_queues() == []


def test_list_queues_filters_by_the_application_that_stored_them(
    launch: Launch, dbos_system_database_url: str
) -> None:
    Queue("app-owned")
    launch()  # the test app's name
    with DBOSClient(dbos_system_database_url) as client:
        client.register_queue("billing-owned", application_name="billing")
        client.register_queue("unowned")
        assert client.retrieve_queue("billing-owned").application_name == "billing"  # type: ignore[union-attr]
        assert client.retrieve_queue("unowned").application_name is None  # type: ignore[union-attr]
        app_name = DBOS.retrieve_queue("app-owned").application_name  # type: ignore[union-attr]
        assert app_name is not None
        names = {q.name for q in DBOS.list_queues()}
        assert {"app-owned", "billing-owned", "unowned"} <= names  # every application's
        # (Queues declared by earlier tests of this process are the app's too.)
        mine = {q.name for q in DBOS.list_queues(application_name=app_name)}
        assert "app-owned" in mine and not {"billing-owned", "unowned"} & mine
        both = {q.name for q in client.list_queues(application_name=["billing", app_name])}
        assert both == mine | {"billing-owned"}
        listed = asyncio.run(client.list_queues_async(application_name="billing"))
        assert [q.name for q in listed] == ["billing-owned"]
        with pytest.raises(DBOSException, match="application_name must be"):
            client.list_queues(application_name=3)  # type: ignore[arg-type]


def test_the_queues_as_data_example_runs(dbos_system_database_url: str) -> None:
    """examples/queues_as_data.py: a stored limit of 1 holds, then a client raises it to 3 and
    the running app applies it without a restart."""
    example = Path(__file__).resolve().parents[3] / "examples" / "queues_as_data.py"
    env = {**os.environ, "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url}
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "1. stored at launch: reports concurrency 1" in out
    assert "  at most 1 running at once" in out
    assert "  results: [3, 4, 5, 6, 7, 8]" in out
    assert "  at most 3 running at once" in out
    assert "3. reports concurrency is now 3 for every process" in out
