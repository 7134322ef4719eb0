"""The system database's connection pool, tuned to serve again soon after an outage.

psycopg_pool's own reconnection backs off exponentially (1, 2, 4, ... 64 s) for up to
`reconnect_timeout` (default 5 min): after a minute-long outage its next attempt could be a
minute away, while workflows wait for the database that is already back. Here an attempt
gives up after `RECONNECT_TIMEOUT_S` (so attempts stay about a second apart), and a new one
starts at once while callers are waiting for a connection.

Idle connections that the server closed (a restart) are found before they are handed out,
at the cost of a poll of the socket, not a round trip: a server that shuts down tells its
clients so, which makes their sockets readable; only then is the connection tested. A
connection given back less than `RECENTLY_USED_S` ago is handed out unpolled: the poll is a
system call that releases the GIL, and on a busy process each release could cost the calling
thread a wait for the interpreter (measured: about a tenth of the throughput of a thread
enqueueing while the same process runs the tasks). A server that restarted within that
second fails the statement instead, which the storage layer retries on another connection;
that failure (`connection_lost`) turns the poll back on for every connection for a second,
so the pool's other dead connections are found together, as after any restart.

Connections given back go first to a stack of recently used ones (`SystemPool.take` /
`give_back`), which the next caller takes from without entering psycopg_pool: its getconn and
putconn (locks, statistics, the check, the reset, a queue that hands out the least recently
used connection) cost about a tenth of the client's instructions for a 3-step workflow
(callgrind: 1.61M instructions a workflow through the pool, 1.47M past it). The pool's own
rules still hold: a connection goes back into the pool proper when it was not used in the
last `RECENTLY_USED_S` (so the pool polls it before handing it out; the pool's periodic idle
check also collects such connections, so that it can close them), when it has circulated on
the stack for `HELD_MAX_S` (so the pool can enforce its lifetime), when it is broken or
inside a transaction (the pool discards or resets it), while a caller is going to the pool
for a connection (so waiters are served by the pool, in order), and after a lost
connection (`connection_lost`). A caller that finds the stack empty marks itself as going to
the pool before a last look at the stack, so a connection given back at that moment is
either seen by that look or sent into the pool for it.

psycopg_pool logs a WARNING on every failed attempt, and one per connection found broken
when returned (``discarding closed connection: <psycopg.Connection [BAD] ...>``, printed
unformatted to stderr by Python's last-resort handler where logging is not configured); for
this pool those records are dropped, as `dbos`'s own outage report (see `dbos._outage`) tells
the story once. The pool's connections are of their own class (`SystemConnection`) so that
records about them are told apart.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool

#: Seconds one reconnection attempt of the pool keeps trying before a fresh one starts.
RECONNECT_TIMEOUT_S = 2.0
#: A connection given back this recently (seconds) is handed out without the idle poll.
RECENTLY_USED_S = 1.0
#: Seconds a connection may circulate on the recent stack before it goes back to the pool.
HELD_MAX_S = 60.0
POOL_NAME = "dbos-system"


def new_pool(
    conninfo: str,
    *,
    max_size: int,
    timeout_s: float,
    configure: Callable[[psycopg.Connection[Any]], None],
) -> SystemPool:
    """An unopened pool of autocommit connections (`timeout_s`: how long a caller waits for
    a connection before `PoolTimeout`)."""
    _quiet_pool_logger()
    check = _IdleCheck()
    pool = SystemPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True},
        connection_class=SystemConnection,
        name=POOL_NAME,
        timeout=timeout_s,
        open=False,
        configure=configure,
        check=check,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        reconnect_failed=_try_again_if_awaited,
    )
    check.pool = pool
    return pool


def _try_again_if_awaited(pool: ConnectionPool[Any]) -> None:
    """An attempt gave up: start another now if anyone is waiting for a connection (else the
    next request starts one)."""
    if not pool.closed and pool.get_stats().get("requests_waiting", 0) > 0:
        pool.check()  # starts growing the pool again when it has no connection


class _IdleCheck:
    """The pool's check of a connection it is about to hand out."""

    pool: SystemPool | None = None

    def __call__(self, connection: SystemConnection) -> None:
        """Raise if `connection` is closed, or was told something while idle (most likely the
        server's goodbye) and does not answer a round trip. Its idle siblings are then
        checked at once: after a restart they are all gone, and the pool would otherwise
        pause between finding them one by one."""
        if connection.closed:
            raise psycopg.OperationalError("the connection is closed")
        now = time.monotonic()
        lost_at = float("-inf") if self.pool is None else self.pool.lost_at
        if now - connection.used_at < RECENTLY_USED_S and now - lost_at >= RECENTLY_USED_S:
            return
        if not _readable(connection.pgconn.socket):
            return
        try:
            ConnectionPool.check_connection(connection)
        except psycopg.Error:
            if self.pool is not None and not self.pool.closed:
                self.pool.check()
            raise


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


class SystemConnection(psycopg.Connection[Any]):
    """The connections of this module's pools (a class of their own so that psycopg_pool's
    records about them can be recognized), with when each was last given back."""

    #: When the connection was last given back to its pool (monotonic seconds).
    used_at = float("-inf")
    #: When the connection last left the pool proper for the recent stack's circulation.
    taken_at = float("-inf")

    def mark_used(self) -> None:
        """Note that the connection was used just now (it is about to go back to the pool)."""
        self.used_at = time.monotonic()


class SystemPool(ConnectionPool[SystemConnection]):
    """The system database's pool (see the module), with when a statement last failed on a
    lost connection."""

    #: Monotonic seconds; -inf: never.
    lost_at = float("-inf")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Most recently given back last. list.append and list.pop are atomic: no lock.
        self._recent: list[SystemConnection] = []
        # One marker per caller that found the stack empty and is going to the pool proper.
        self._pool_takers: set[object] = set()

    def take(self) -> SystemConnection:
        """A connection for one use, to hand back with `give_back`: the most recently given
        back one if it was used in the last `RECENTLY_USED_S`, else one from the pool
        (checked as `getconn` checks). Raises `PoolTimeout` after the pool's `timeout`."""
        connection = self._take_recent()
        if connection is not None:
            return connection
        # Say so before a last look at the stack: a connection stacked meanwhile is then
        # either seen by that look, or sent into the pool by `give_back`, which sees the mark.
        marker = object()
        self._pool_takers.add(marker)
        try:
            connection = self._take_recent()
            if connection is None:
                connection = self.getconn()
                connection.taken_at = time.monotonic()
            return connection
        finally:
            self._pool_takers.discard(marker)

    def give_back(self, connection: SystemConnection) -> None:
        """Hand back a connection from `take`: onto the recent stack, or into the pool
        proper when the pool must see it (see the module). A broken connection counts as
        lost (`connection_lost`)."""
        connection.mark_used()
        if connection.closed:
            self.connection_lost()
        if (
            self._pool_takers
            or connection.used_at - connection.taken_at >= HELD_MAX_S
            or connection.pgconn.transaction_status != pq.TransactionStatus.IDLE
            or self.closed
        ):
            self.putconn(connection)
            return
        self._recent.append(connection)
        if self._pool_takers or self.closed:  # they came while it was being stacked
            self._return_recent()

    def close(self, timeout: float = 5.0) -> None:
        """Close the pool and every connection, those on the recent stack included."""
        super().close(timeout)
        self._return_recent()  # putconn into a closed pool closes the connection

    def _shrink_pool(self) -> None:
        # psycopg_pool's periodic idle check (every `max_idle`): stacked connections unused
        # since the last burst go back first, so that the pool can close or renew them.
        self._retire_stale(time.monotonic())
        super()._shrink_pool()

    def _take_recent(self) -> SystemConnection | None:
        """The top of the stack if it was used in the last `RECENTLY_USED_S` and no
        connection was lost since; else None, with the stack emptied into the pool when its
        connections must be checked there."""
        if not self._recent:
            return None
        now = time.monotonic()
        if now - self.lost_at < RECENTLY_USED_S:
            self._return_recent()
            return None
        connection = self._pop_recent()
        if connection is None:  # another thread took the last one
            return None
        if now - connection.used_at >= RECENTLY_USED_S:
            # Stale, and every one below it staler: the pool checks them all.
            self.putconn(connection)
            self._return_recent()
            return None
        self._retire_stale(now)
        return connection

    def _pop_recent(self) -> SystemConnection | None:
        try:
            return self._recent.pop()
        except IndexError:
            return None

    def _retire_stale(self, now: float) -> None:
        """Give the bottom of the stack to the pool while it went unused for
        `RECENTLY_USED_S` (fewer callers than before: the pool may close it when idle)."""
        recent = self._recent
        while True:
            try:  # other threads take and stack meanwhile: the list may empty under us
                if now - recent[0].used_at < RECENTLY_USED_S:
                    return
                stalest = recent.pop(0)
            except IndexError:
                return
            self.putconn(stalest)

    def _return_recent(self) -> None:
        while (connection := self._pop_recent()) is not None:
            self.putconn(connection)

    def connection_lost(self) -> None:
        """A statement failed on a lost connection: for the next `RECENTLY_USED_S`, every
        connection is polled before it is handed out, however recently it was used. After a
        quick server restart the pool's other connections are dead too; polled, the first
        of them found dead has the pool check them all at once, instead of each failing a
        statement (and costing a retry's backoff) in turn."""
        self.lost_at = time.monotonic()


class _DropReconnectNoise(logging.Filter):
    """Drops psycopg_pool's warnings about this module's pools and their connections
    (reconnection attempts; connections discarded as broken): outages are reported once, by
    `dbos`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or not isinstance(record.args, tuple):
            return True
        return not any(
            isinstance(arg, SystemConnection) or POOL_NAME in str(arg) for arg in record.args
        )


_FILTER = _DropReconnectNoise()


def _quiet_pool_logger() -> None:
    pool_logger = logging.getLogger("psycopg.pool")
    if _FILTER not in pool_logger.filters:
        pool_logger.addFilter(_FILTER)
