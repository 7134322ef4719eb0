"""LISTEN/NOTIFY: writes made through one storage (another process, in real life) wake
listeners of another storage on the same database."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import pytest

from dbos.storage import (
    ClaimRequest,
    NewWorkflow,
    QueueSpec,
    WorkflowOutcome,
    WorkflowStatusString,
    with_wakeups,
)
from dbos_postgres import PostgresStorage

pytestmark = pytest.mark.postgres_only


def test_enqueue_and_finish_wake_other_storages(dbos_system_database_url: str) -> None:
    writer = PostgresStorage(dbos_system_database_url)
    # Core's fan-out turns what the listening backend relays into these storages' callbacks.
    listener = with_wakeups(PostgresStorage(dbos_system_database_url))
    writer.setup()
    listener.setup()
    try:
        woken = threading.Event()
        heard: list[tuple[str | None, bool]] = []

        def on_activity(queue_name: str | None, slot_freed: bool) -> None:
            heard.append((queue_name, slot_freed))
            woken.set()

        listener.on_queue_activity(on_activity)
        woken.clear()  # the listener calls once after (re)connecting, by design
        heard.clear()
        writer.create_workflow(
            NewWorkflow(
                "queued",
                "task",
                "[]",
                None,
                "v1",
                1,
                status=WorkflowStatusString.ENQUEUED.value,
                queue_name="q",
            )
        )
        assert woken.wait(5), "enqueue in another storage did not wake this one"
        assert heard == [("q", False)]

        # The queued task finishing elsewhere wakes this storage's outcome waiters too.
        claimed = writer.claim_queued(ClaimRequest(QueueSpec("q"), "w", "v1", 1, ("task",), 5))
        assert [row.workflow_id for row in claimed] == ["queued"]
        finished = cast(Any, listener)._finished  # core's FinishSignal for this storage
        generation = finished.generation
        woken.clear()
        writer.finish_workflow(WorkflowOutcome("queued", "SUCCESS", "null", None, 2))
        row = listener.wait_workflow_outcome("queued", 5)
        assert row is not None and row.status == "SUCCESS"
        assert woken.wait(5), "a freed slot in another storage did not wake this one"
        assert heard[-1] == ("q", True)
        deadline = threading.Event()
        for _ in range(100):
            if finished.generation > generation:
                break
            deadline.wait(0.05)
        assert finished.generation > generation, "no finish notification arrived"
    finally:
        writer.close()
        listener.close()


def test_messages_events_and_streams_wake_other_storages(dbos_system_database_url: str) -> None:
    from dbos.storage import (
        WAKE_EVENT,
        WAKE_MESSAGE,
        WAKE_STREAM,
        EventRecord,
        Message,
        StreamWrite,
        Wakeup,
    )

    writer = PostgresStorage(dbos_system_database_url)
    # Core's fan-out turns what the listening backend relays into these storages' callbacks.
    listener = with_wakeups(PostgresStorage(dbos_system_database_url))
    writer.setup()
    listener.setup()
    try:
        seen: list[Wakeup] = []
        arrived = threading.Condition()

        def note(wakeup: Wakeup | None) -> None:
            if wakeup is not None:
                with arrived:
                    seen.append(wakeup)
                    arrived.notify_all()

        listener.on_wakeup(note)
        writer.create_workflow(NewWorkflow("wf", "w", "[]", "e", "v1", 1))
        writer.send(Message("m1", "wf", "topic", '"hi"', 1))
        writer.set_event(EventRecord("wf", "k", '"v"', 1))
        writer.write_stream(StreamWrite("wf", "s", '"x"', 1))
        expected = {
            Wakeup(WAKE_MESSAGE, "wf"),
            Wakeup(WAKE_EVENT, "wf"),
            Wakeup(WAKE_STREAM, "wf"),
        }
        with arrived:
            assert arrived.wait_for(lambda: set(seen) >= expected, timeout=5), seen
        # The listener skips notifications of its own connections' writes: those were
        # already reported in-process, once.
        seen.clear()
        listener.send(Message("m2", "wf", "topic", '"again"', 1))
        time.sleep(0.3)
        assert seen == [Wakeup(WAKE_MESSAGE, "wf")]
    finally:
        writer.close()
        listener.close()


def test_a_stopped_listener_whose_connection_drops_says_nothing(
    dbos_system_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After `stop`, the listener's connection going away (the database dropped by a test or
    a benchmark, a server shutdown) is the end it was asked for: no WARNING, no reconnect."""
    import logging
    import uuid

    import psycopg

    from dbos_postgres._listener import Listener

    channel_schema = f"stop_{uuid.uuid4().hex[:10]}"
    listener = Listener(dbos_system_database_url, channel_schema, lambda _: None)
    listener.start()
    with psycopg.connect(dbos_system_database_url, autocommit=True) as admin:
        [(pid,)] = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE %s",
            (f'LISTEN "dbos_{channel_schema}_wake"%',),
        ).fetchall()
        with caplog.at_level(logging.DEBUG, logger="dbos"):
            listener.stop()
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            cast(Any, listener)._thread.join(5)
    assert not cast(Any, listener)._thread.is_alive()
    assert [r.getMessage() for r in caplog.records if "listener" in r.getMessage()] == []


def test_queue_settings_changes_are_relayed(dbos_system_database_url: str) -> None:
    """Migration 0023's trigger: storing, changing and deleting a queue in one storage (another
    process, in real life) reaches a listening storage as a settings notice for that queue,
    which core hands to `on_queue_settings` (not `on_queue_activity`). A payload of another
    kind, 0003's bare queue name included, still means activity on any queue."""
    import queue as queues

    import psycopg

    from dbos.storage import QueueActivity, StoredQueue

    writer = PostgresStorage(dbos_system_database_url)
    backend = PostgresStorage(dbos_system_database_url)
    listener = with_wakeups(backend)
    # Registered after core's: a notice taken from here has reached core's callbacks.
    relayed: queues.Queue[object] = queues.Queue()
    backend.relay_notifications(relayed.put)
    settings: list[str | None] = []
    activity: list[tuple[str | None, bool]] = []
    listener.on_queue_settings(settings.append)
    listener.on_queue_activity(lambda name, freed: activity.append((name, freed)))

    def reporting() -> bool:
        return listener.reports_queue_settings

    assert not reporting()  # not listening yet
    writer.setup()
    listener.setup()

    def next_relayed() -> object:
        return relayed.get(timeout=5)

    try:
        assert reporting()
        # The listener's "anything may have changed" on connecting comes first.
        assert next_relayed() is None
        activity.clear()
        notice = QueueActivity("relayed", False, settings_changed=True)
        assert writer.store_queue(StoredQueue("relayed"), False, 1)
        assert next_relayed() == notice
        assert writer.update_queue("relayed", {"concurrency": 2}, 2) is not None
        assert next_relayed() == notice
        assert writer.delete_queue("relayed")
        assert next_relayed() == notice
        with psycopg.connect(dbos_system_database_url, autocommit=True) as connection:
            connection.execute("SELECT pg_notify('dbos_dbos', 'relayed')")  # 0003's payload
            connection.execute("SELECT pg_notify('dbos_dbos', 'resized:relayed')")  # unknown
        assert next_relayed() == QueueActivity(None, True)
        assert next_relayed() == QueueActivity(None, True)
        assert settings == ["relayed"] * 3
        assert activity == [(None, True)] * 2
    finally:
        writer.close()
        listener.close()


def test_without_listen_notify_settings_changes_are_not_reported(
    dbos_system_database_url: str,
) -> None:
    from dbos.storage import StorageOptions

    storage = with_wakeups(
        PostgresStorage(dbos_system_database_url, StorageOptions(use_listen_notify=False))
    )
    storage.setup()
    try:
        assert not storage.reports_queue_settings
    finally:
        storage.close()
