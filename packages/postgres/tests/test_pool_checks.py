"""The system pool's check of a connection it hands out (`dbos_postgres._pool`), on a real
server: a connection used in the last second is handed out without the socket poll (a system
call that releases the GIL); once a statement has failed on a lost connection, every
connection is polled again, so the pool's other dead connections are found together."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest

from dbos_postgres._pool import SystemPool, new_pool
from dbos_testing import drop_connections

pytestmark = [pytest.mark.postgres_only, pytest.mark.timeout(120)]


def _use_all(pool: SystemPool) -> None:
    """Take the pool's three connections at once, use each, and give them back."""
    taken = [pool.getconn() for _ in range(3)]
    for connection in taken:
        connection.execute("SELECT 1")
        connection.mark_used()
        pool.putconn(connection)


def _drop_all(url: str) -> int:
    """Terminate every connection to the test's own database (only the pool's)."""
    return drop_connections(url, urlsplit(url).path.lstrip("/"))


@pytest.fixture
def used_pool(dbos_system_database_url: str) -> Iterator[SystemPool]:
    """A pool whose three connections were all just used and given back."""
    pool = new_pool(dbos_system_database_url, max_size=3, timeout_s=10, configure=lambda _: None)
    pool.open(wait=True)
    try:
        _use_all(pool)
        yield pool
    finally:
        pool.close()


def test_after_one_lost_connection_the_others_are_polled_and_replaced(
    used_pool: SystemPool, dbos_system_database_url: str
) -> None:
    pool = used_pool
    assert _drop_all(dbos_system_database_url) == 3
    # Used a moment ago: handed out unpolled, so the statement finds it dead.
    connection = pool.getconn()
    with pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    pool.connection_lost()
    pool.putconn(connection)
    # Now polled: the two dead siblings are found and replaced, not handed out.
    for _ in range(3):
        fresh = pool.getconn()
        try:
            assert fresh.execute("SELECT 1").fetchone() == (1,)
        finally:
            fresh.mark_used()
            pool.putconn(fresh)


def test_a_connection_idle_for_a_second_is_polled_before_it_is_handed_out(
    used_pool: SystemPool, dbos_system_database_url: str
) -> None:
    pool = used_pool
    for connection in pool._pool:  # as if given back more than a second ago
        connection.used_at = float("-inf")
    assert _drop_all(dbos_system_database_url) == 3
    fresh = pool.getconn()
    try:
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.putconn(fresh)
