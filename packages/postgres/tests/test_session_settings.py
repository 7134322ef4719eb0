"""DBOS Transact's connection settings on Postgres: ``use_listen_notify``,
``sys_db_idle_transaction_timeout_sec`` and ``observability_query_timeout_sec`` reach the
backend's connections."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from dbos import DBOS, DBOSException
from dbos.storage import StorageOptions, WorkflowQuery
from dbos_postgres import PostgresStorage
from dbos_postgres._connect import conninfo_for

pytestmark = pytest.mark.postgres_only


def _listeners(url: str) -> list[Any]:
    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        ).fetchall()


def _launch(url: str, **config: Any) -> None:
    DBOS.destroy()
    DBOS(config={"name": "settings-app", "system_database_url": url, **config})  # type: ignore[typeddict-item]
    DBOS.launch()


def test_use_listen_notify_false_opens_no_listen_connection(
    dbos_system_database_url: str,
) -> None:
    try:
        _launch(dbos_system_database_url, use_listen_notify=False)
        time.sleep(0.5)
        assert _listeners(dbos_system_database_url) == []
        _launch(dbos_system_database_url)
        deadline = time.monotonic() + 10
        while not _listeners(dbos_system_database_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_listeners(dbos_system_database_url)) == 1
    finally:
        DBOS.destroy()


@pytest.mark.parametrize(("seconds", "shown"), [(None, None), (2.5, "2500ms"), (60, "1min")])
def test_the_idle_transaction_timeout_reaches_the_connections(
    dbos_system_database_url: str, seconds: float | None, shown: str | None
) -> None:
    conninfo = conninfo_for(dbos_system_database_url, "dbos", 5, seconds)
    with (
        psycopg.connect(conninfo) as connection,
        psycopg.connect(dbos_system_database_url) as plain,
    ):
        setting = connection.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        server = plain.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert setting is not None and server is not None
    assert setting[0] == (shown if shown is not None else server[0])


def test_a_url_that_sets_the_idle_timeout_wins(dbos_system_database_url: str) -> None:
    separator = "&" if "?" in dbos_system_database_url else "?"
    option = "options=-c%20idle_in_transaction_session_timeout%3D7s"
    url = f"{dbos_system_database_url}{separator}{option}"
    with psycopg.connect(conninfo_for(url, "dbos", 5, 60)) as connection:
        setting = connection.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert setting is not None and setting[0] == "7s"


def test_connections_find_a_vanished_server_by_tcp_keepalives_and_user_timeout(
    dbos_system_database_url: str,
) -> None:
    """libpq's keepalive and user-timeout settings reach a TCP connection (a partition fails a
    statement in about half a minute, not TCP's 15); the URL's own value wins."""
    conninfo = conninfo_for(dbos_system_database_url, "dbos", 5, None)
    separator = "&" if "?" in dbos_system_database_url else "?"
    own = conninfo_for(f"{dbos_system_database_url}{separator}keepalives_idle=77", "dbos", 5, None)
    with psycopg.connect(conninfo) as connection, psycopg.connect(own) as other:
        if connection.info.host.startswith("/"):
            pytest.skip("a Unix socket has no TCP settings")
        # The settings libpq opened the connections with.
        mine = {o.keyword: o.val for o in connection.pgconn.info}
        theirs = {o.keyword: o.val for o in other.pgconn.info}
    assert mine[b"keepalives"] == b"1" and mine[b"keepalives_idle"] == b"10"
    assert mine[b"keepalives_interval"] == b"5" and mine[b"keepalives_count"] == b"3"
    assert mine[b"tcp_user_timeout"] == b"30000"
    assert theirs[b"keepalives_idle"] == b"77"


def test_listings_stop_at_the_observability_timeout(dbos_system_database_url: str) -> None:
    storage = PostgresStorage(
        dbos_system_database_url, StorageOptions(observability_query_timeout_s=0.3)
    )
    storage.setup()
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        with psycopg.connect(dbos_system_database_url) as connection:
            connection.execute("LOCK TABLE dbos.workflow_status IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        with pytest.raises(DBOSException, match="statement timeout"):
            storage.list_workflows(WorkflowQuery())
        assert time.monotonic() - started < 20  # it gave up rather than waiting for the lock
    finally:
        release.set()
        holder.join()
        storage.close()
    # Other calls are not bounded by it, and listing works again once the lock is gone.
    assert storage_rows(dbos_system_database_url) == []


def storage_rows(url: str) -> list[Any]:
    storage = PostgresStorage(url)
    try:
        return storage.list_workflows(WorkflowQuery())
    finally:
        storage.close()
