"""Queue settings reported by notification (issue 17): on Postgres, a change of a stored
queue by any process reaches every listening process at once, so the queue worker reads the
stored queues rarely (a safety net) instead of once per polling interval; where nothing
reports changes (SQLite, ``use_listen_notify`` off) it reads them once per interval, as
before."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from dbos import DBOS, Queue
from dbos._engine.stored_queues import SETTINGS_SAFETY_NET_S
from dbos._launched import launched_engine
from dbos.storage import ClaimRequest, StoredQueue, WorkflowRow

#: Another process: changes queue argv[2]'s concurrency to argv[3] through a DBOSClient.
CHANGE_CONCURRENCY = """
import sys
from dbos_client import DBOSClient

with DBOSClient(sys.argv[1]) as client:
    queue = client.retrieve_queue(sys.argv[2])
    assert queue is not None, sys.argv[2]
    queue.set_concurrency(int(sys.argv[3]))
"""


class SettingsCalls:
    """Counts this process's reads of the stored queues and claims of one queue, delegating
    each to the real storage."""

    def __init__(self, queue_name: str) -> None:
        self.queue_name = queue_name
        self.reads = self.claims = 0

    def install(self) -> None:
        # The queue worker's storage (its stored view holds the same object).
        storage = launched_engine().storage
        list_queues, claim = storage.list_queues, storage.claim_queued

        def counted_list() -> list[StoredQueue]:
            self.reads += 1
            return list_queues()

        def counted_claim(request: ClaimRequest) -> list[WorkflowRow]:
            if request.queue.name == self.queue_name:
                self.claims += 1
            return claim(request)

        storage.list_queues = counted_list  # type: ignore[method-assign]
        storage.claim_queued = counted_claim  # type: ignore[method-assign]


def launch_listening(url: str, queue: Queue, **config: Any) -> None:
    """Launch on `url`, working on `queue` alone: queues other tests declared (process-wide)
    must not set the worker's pace. The `dbos` fixture's teardown is not used: callers
    destroy through `launch`'s fixture or the `finally` of the test."""
    DBOS.destroy()
    DBOS(config={"name": "test-app", "system_database_url": url, **config})  # type: ignore[typeddict-item]
    DBOS.listen_queues([queue.name])
    DBOS.launch()


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("listen", [True, False], ids=["listen", "no-listen"])
def test_settings_are_read_per_interval_only_where_nothing_reports_changes(
    dbos_backend: str, dbos_system_database_url: str, listen: bool
) -> None:
    if dbos_backend != "postgres" and not listen:
        pytest.skip("SQLite never listens: the first case covers it")
    queue = Queue(f"settings-reads-{'listen' if listen else 'poll'}", polling_interval_sec=0.05)
    try:
        launch_listening(dbos_system_database_url, queue, use_listen_notify=listen)
        reported = dbos_backend == "postgres" and listen
        assert launched_engine().storage.reports_queue_settings is reported
        calls = SettingsCalls(queue.name)
        calls.install()
        started = time.monotonic()
        # The queue's polls are the clock: about one every 0.05 s, each one a claim.
        assert wait_for(lambda: calls.claims >= 40, 120), calls.claims
        elapsed = time.monotonic() - started
        reads = calls.reads
        if reported:
            # The safety net's reads only (plus one for the listener's look at every queue
            # after it connects): far fewer than one per poll.
            assert reads <= 2 + elapsed / SETTINGS_SAFETY_NET_S, (reads, elapsed)
            assert reads * 10 < calls.claims, (reads, calls.claims)
        else:
            # About one read per poll, as before.
            assert reads * 4 >= calls.claims, (reads, calls.claims)
    finally:
        DBOS.destroy()


@pytest.mark.postgres_only
@pytest.mark.slow
def test_a_change_by_another_process_applies_long_before_the_next_poll(
    dbos_system_database_url: str,
) -> None:
    """A queue polled every 120 s: a concurrency raised from 1 to 3 by another process (a
    real subprocess) lets this process's worker start two more tasks at once, which only
    the notification can explain (its next periodic read is 120 s away)."""
    url = dbos_system_database_url
    queue = Queue("notified-change", concurrency=1, polling_interval_sec=120)
    started: list[int] = []
    release = threading.Event()

    @DBOS.workflow()
    def held(x: int) -> int:
        started.append(x)
        release.wait(60)
        return x

    try:
        launch_listening(url, queue)
        handles = [queue.enqueue(held, x) for x in range(4)]
        assert wait_for(lambda: len(started) == 1, 60)
        assert [h.get_status().status for h in handles].count("PENDING") == 1
        subprocess.run(
            [sys.executable, "-c", CHANGE_CONCURRENCY, url, queue.name, "3"],
            check=True,
            timeout=60,
        )
        # Well within the 120 s poll: the notification made the worker read and look again.
        assert wait_for(lambda: len(started) == 3, 60), started
        spec = launched_engine().queue_worker.stored.spec(queue.name)
        assert spec is not None and spec.concurrency == 3
        release.set()
        assert sorted(h.get_result(timeout_seconds=60) for h in handles) == [0, 1, 2, 3]
    finally:
        release.set()
        DBOS.destroy()


@pytest.mark.postgres_only
def test_a_notification_of_another_kind_makes_the_worker_read_the_settings(
    dbos_system_database_url: str,
) -> None:
    """What a process gets from a schema it does not know (or an older listener from 0023's
    payload): activity on any queue. It also reads the stored queues again, so a change whose
    own notice it cannot understand is still applied."""
    import psycopg  # a Postgres-only test; core's own suite also runs without a driver

    url = dbos_system_database_url
    queue = Queue("unknown-kind", concurrency=1, polling_interval_sec=120)
    try:
        launch_listening(url, queue)
        calls = SettingsCalls(queue.name)
        calls.install()
        with psycopg.connect(url, autocommit=True) as connection:
            # A change that sends no notice of its own, then a payload of an unknown kind.
            connection.execute("ALTER TABLE dbos.queues DISABLE TRIGGER queues_settings_notify")
            connection.execute(
                "UPDATE dbos.queues SET concurrency = 5 WHERE name = %s", (queue.name,)
            )
            connection.execute("SELECT pg_notify('dbos_dbos', 'renamed-in-the-future:x')")
        stored = launched_engine().queue_worker.stored

        def applied() -> bool:
            spec = stored.spec(queue.name)
            return spec is not None and spec.concurrency == 5

        assert wait_for(applied, 60)
        assert calls.reads >= 1
    finally:
        DBOS.destroy()
