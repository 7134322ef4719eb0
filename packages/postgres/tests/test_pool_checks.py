"""The system pool's check of a connection it hands out (`dbos_postgres._pool`), on a real
server: a connection used in the last second is handed out without the socket poll (a system
call that releases the GIL); once a statement has failed on a lost connection, every
connection is polled again, so the pool's other dead connections are found together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dbos_postgres._pool import connection_lost, mark_used, new_pool

pytestmark = [pytest.mark.postgres_only, pytest.mark.timeout(120)]
APP = "pool-checks-test"


def _pool(url: str) -> Any:
    def configure(connection: psycopg.Connection[Any]) -> None:
        connection.execute("SET application_name = 'pool-checks-test'")

    pool = new_pool(url, max_size=3, timeout_s=10, configure=configure)
    pool.open(wait=True)
    return pool


def _use_all(pool: Any) -> None:
    """Take the pool's three connections at once, use each, and give them back."""
    taken = [pool.getconn() for _ in range(3)]
    for connection in taken:
        connection.execute("SELECT 1")
        mark_used(connection)
        pool.putconn(connection)


def _terminate_all(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (APP,),
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def used_pool(dbos_system_database_url: str) -> Iterator[Any]:
    """A pool whose three connections were all just used and given back."""
    pool = _pool(dbos_system_database_url)
    try:
        _use_all(pool)
        yield pool
    finally:
        pool.close()


def test_after_one_lost_connection_the_others_are_polled_and_replaced(
    used_pool: Any, dbos_system_database_url: str
) -> None:
    pool = used_pool
    assert _terminate_all(dbos_system_database_url) == 3
    # Used a moment ago: handed out unpolled, so the statement finds it dead.
    connection = pool.getconn()
    with pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    connection_lost(pool)
    pool.putconn(connection)
    # Now polled: the two dead siblings are found and replaced, not handed out.
    for _ in range(3):
        fresh = pool.getconn()
        try:
            assert fresh.execute("SELECT 1").fetchone() == (1,)
        finally:
            mark_used(fresh)
            pool.putconn(fresh)


def test_a_connection_idle_for_a_second_is_polled_before_it_is_handed_out(
    used_pool: Any, dbos_system_database_url: str
) -> None:
    pool = used_pool
    for connection in pool._pool:  # as if given back more than a second ago
        connection.dbos_used_at = float("-inf")
    assert _terminate_all(dbos_system_database_url) == 3
    fresh = pool.getconn()
    try:
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.putconn(fresh)
