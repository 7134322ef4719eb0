"""The system pool (`dbos_postgres._pool`), on a real server: its check of a connection it
hands out (a connection used in the last second is handed out without the socket poll, a
system call that releases the GIL; once a statement has failed on a lost connection, every
connection is polled again, so the pool's other dead connections are found together), and the
stack of recently used connections in front of it (`take` / `give_back`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from dbos_postgres._pool import HELD_MAX_S, SystemConnection, SystemPool, new_pool
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


def _each_answers(
    take: Callable[[], SystemConnection],
    give_back: Callable[[SystemConnection], object],
    times: int,
) -> None:
    """Take a connection `times` times; each must answer a statement."""
    for _ in range(times):
        fresh = take()
        try:
            assert fresh.execute("SELECT 1").fetchone() == (1,)
        finally:
            give_back(fresh)


def _find_dead(
    take: Callable[[], SystemConnection],
    give_back: Callable[[SystemConnection], object],
) -> None:
    """Take a connection whose statement must fail as lost, and give it back."""
    connection = take()
    with pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    give_back(connection)


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

    def put_back(connection: SystemConnection) -> None:
        connection.mark_used()
        pool.putconn(connection)

    # Used a moment ago: handed out unpolled, so the statement finds it dead.
    _find_dead(pool.getconn, put_back)
    pool.connection_lost()
    # Now polled: the two dead siblings are found and replaced, not handed out.
    _each_answers(pool.getconn, put_back, 3)


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


# --- the recent stack in front of the pool (SystemPool.take / give_back) -------------------


@pytest.fixture
def small_pool(dbos_system_database_url: str) -> Iterator[SystemPool]:
    """An open pool of at most two connections that waits at most 2 s for one."""
    pool = new_pool(dbos_system_database_url, max_size=2, timeout_s=2, configure=lambda _: None)
    pool.open(wait=True)
    try:
        yield pool
    finally:
        pool.close()


def _requests(pool: SystemPool) -> int:
    return pool.get_stats().get("requests_num", 0)


def test_a_connection_given_back_is_taken_again_without_the_pool(small_pool: SystemPool) -> None:
    pool = small_pool
    first = pool.take()
    first.execute("SELECT 1")
    pool.give_back(first)
    requests = _requests(pool)
    for _ in range(5):
        again = pool.take()
        assert again is first  # the most recently given back, not the pool's next in line
        pool.give_back(again)
    assert _requests(pool) == requests


def test_a_connection_inside_a_transaction_or_broken_goes_back_through_the_pool(
    small_pool: SystemPool,
) -> None:
    pool = small_pool
    inside = pool.take()
    inside.execute("BEGIN")
    inside.execute("CREATE TEMP TABLE leftover (x int)")
    pool.give_back(inside)  # the pool rolls it back
    broken = pool.take()
    assert broken.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert broken.execute("SELECT to_regclass('pg_temp.leftover')").fetchone() == (None,)
    broken.close()
    pool.give_back(broken)  # the pool discards it
    fresh = pool.take()
    try:
        assert not fresh.closed
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.give_back(fresh)


def test_a_connection_unused_for_a_second_is_checked_by_the_pool_again(
    small_pool: SystemPool, dbos_system_database_url: str
) -> None:
    pool = small_pool
    stacked = pool.take()
    pool.give_back(stacked)
    stacked.used_at -= 2.0  # as if given back two seconds ago
    assert _drop_all(dbos_system_database_url) >= 1
    fresh = pool.take()  # the pool polls the dead one and replaces it
    try:
        assert fresh is not stacked
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.give_back(fresh)


def test_after_a_lost_connection_the_stacked_ones_are_checked_by_the_pool(
    small_pool: SystemPool, dbos_system_database_url: str
) -> None:
    pool = small_pool
    one, two = pool.take(), pool.take()
    pool.give_back(one)
    pool.give_back(two)
    assert _drop_all(dbos_system_database_url) == 2
    _find_dead(pool.take, pool.give_back)
    assert time.monotonic() - pool.lost_at < 1.0  # give_back saw it broken
    # The other stacked connection is dead too: the pool finds it.
    _each_answers(pool.take, pool.give_back, 2)


def test_a_connection_circulating_too_long_goes_back_to_the_pool(small_pool: SystemPool) -> None:
    pool = small_pool
    connection = pool.take()
    connection.taken_at -= HELD_MAX_S
    requests = _requests(pool)
    pool.give_back(connection)
    again = pool.take()  # from the pool proper (which enforces its lifetime), not the stack
    pool.give_back(again)
    assert _requests(pool) == requests + 1


def test_many_threads_share_a_small_pool_without_a_connection_in_two_hands(
    small_pool: SystemPool,
) -> None:
    pool = small_pool
    in_use: set[int] = set()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                connection = pool.take()
                with lock:
                    assert id(connection) not in in_use
                    in_use.add(id(connection))
                try:
                    assert connection.execute("SELECT 1").fetchone() == (1,)
                finally:
                    with lock:
                        in_use.discard(id(connection))
                    pool.give_back(connection)
        except BaseException as exc:  # a PoolTimeout would mean a connection went missing
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    held = [pool.take(), pool.take()]  # both connections are still there to take
    for connection in held:
        pool.give_back(connection)


def test_a_caller_waiting_for_an_exhausted_pool_gets_a_connection_given_back(
    small_pool: SystemPool,
) -> None:
    pool = small_pool
    held = [pool.take(), pool.take()]
    queued_before = pool.get_stats().get("requests_queued", 0)
    got: list[SystemConnection] = []
    waiter = threading.Thread(target=lambda: got.append(pool.take()))
    waiter.start()
    time.sleep(0.5)
    queued = pool.get_stats().get("requests_queued", 0) - queued_before
    pool.give_back(held.pop())  # a caller waits: into the pool, which hands it over
    waiter.join(timeout=1.5)
    assert got and got[0].execute("SELECT 1").fetchone() == (1,)
    assert queued == 1  # it waited in the pool's queue once, not once per look at the stack
    pool.give_back(got[0])
    pool.give_back(held.pop())


def test_an_exhausted_pool_times_out_with_the_pools_own_timeout(small_pool: SystemPool) -> None:
    pool = small_pool
    held = [pool.take(), pool.take()]
    started = time.monotonic()
    with pytest.raises(PoolTimeout, match=r"after 2\.00 sec"):
        pool.take()
    assert time.monotonic() - started >= 1.9
    for connection in held:
        pool.give_back(connection)


def test_closing_the_pool_closes_the_stacked_connections(dbos_system_database_url: str) -> None:
    pool = new_pool(dbos_system_database_url, max_size=2, timeout_s=2, configure=lambda _: None)
    pool.open(wait=True)
    one, two = pool.take(), pool.take()
    pool.give_back(one)
    pool.give_back(two)
    pool.close()
    assert one.closed and two.closed


def test_the_pools_idle_check_collects_stale_stacked_connections(small_pool: SystemPool) -> None:
    pool = small_pool
    one, two = pool.take(), pool.take()
    pool.give_back(one)
    pool.give_back(two)
    assert pool.get_stats().get("pool_available", 0) == 0  # both on the stack
    one.used_at -= 2.0
    two.used_at -= 2.0
    pool._shrink_pool()  # what psycopg_pool's periodic idle check runs (every max_idle)
    # Back in the pool proper, which may close one of them as idle.
    assert pool.get_stats().get("pool_available", 0) >= 1
    fresh = pool.take()
    try:
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.give_back(fresh)
