"""Fault injection: storage calls that fail as if the database were unreachable, and dropped
connections. Built on core's `dbos_storage_call` hooks; nothing is monkeypatched."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from dbos import DBOSConnectionError, hookimpl
from dbos.storage import mask_password


@dataclass
class _Rule:
    operation: str | None
    nth: int | None
    fraction: float | None
    times: int | None
    after_commit: bool
    seed: int
    seen: int = 0
    fired: int = 0
    seen_by_operation: Counter[str] = field(default_factory=Counter)

    def fires(self, operation: str) -> bool:
        if self.operation is not None and operation != self.operation:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.seen += 1
        self.seen_by_operation[operation] += 1
        if self.nth is not None:
            hit = self.seen == self.nth
        else:
            assert self.fraction is not None
            hit = _draw(self.seed, operation, self.seen_by_operation[operation]) < self.fraction
        if hit:
            self.fired += 1
        return hit


def _draw(seed: int, operation: str, index: int) -> float:
    """A number in [0, 1) fixed by the seed, the operation and the call's position among that
    operation's calls. One random stream shared by all calls would let background calls
    (a queue worker's polls, timed by the clock) shift which of a workflow's own calls fail,
    so the same seed would fail different calls from run to run."""
    return random.Random(f"{seed}:{operation}:{index}").random()


@dataclass
class FaultInjector:
    """A pluggy plugin that makes chosen storage calls fail with `DBOSConnectionError`.

    The library retries such failures with backoff, so a workflow hit by them must still
    complete with nothing lost or repeated; the injector counts what it did, for assertions.
    Register it with `dbos.plugin_manager().register(...)` or use the ``dbos_faults`` fixture.
    """

    #: The system database, for `drop_connections` (set by the ``dbos_faults`` fixture).
    database_url: str | None = None
    rules: list[_Rule] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail(
        self,
        operation: str | None = None,
        *,
        nth: int | None = None,
        fraction: float | None = None,
        times: int | None = None,
        after_commit: bool = False,
        seed: int = 0,
    ) -> FaultInjector:
        """Fail calls of `operation` (a `SystemStorage` method name; None: any).

        Args:
            operation: The `SystemStorage` method name whose calls fail; None: any.
            nth: Fail the nth matching call (counting from 1), once.
            fraction: Fail each matching call with this probability. Which calls fail depends
                only on `seed` and each call's position among the calls of its operation, so
                a workflow's own calls fail the same way on every run, whatever other calls
                (a queue worker's polls) happen in between.
            times: Fail at most this many calls (default: once for `nth`, unlimited for
                `fraction`).
            after_commit: Fail after the call took effect, as when the connection dies
                between the commit and its reply, instead of before it reaches the database.
            seed: Seed for `fraction`.
        """
        if (nth is None) == (fraction is None):
            raise ValueError("give exactly one of nth=... or fraction=...")
        if nth is not None and nth < 1:
            raise ValueError(f"nth counts from 1, got {nth}")
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        if nth is not None and times is None:
            times = 1
        with self._lock:
            self.rules.append(_Rule(operation, nth, fraction, times, after_commit, seed))
        return self

    def drop_connections(self) -> int:
        """Terminate every server connection to the system database (Postgres only): the
        pool's and the listener's. Returns how many were dropped."""
        url = self.database_url
        if url is None or not url.startswith(("postgresql:", "postgres:")):
            raise ValueError(
                "drop_connections needs a Postgres system database, got "
                f"{mask_password(str(url))!r}"
            )
        parts = urlsplit(url)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        return drop_connections(admin_url, parts.path.lstrip("/"))

    def restart_server(self) -> None:
        """Restart the Postgres server of the system database (fast shutdown, start again),
        mid-workflow if you like: the library reconnects and carries on. Only for a server
        this test session started; raises `ValueError` for SQLite or another server."""
        from ._postgres_server import OWN_SERVERS, restart_server

        url = self.database_url
        if url is None or not url.startswith(("postgresql:", "postgres:")):
            raise ValueError(
                f"restart_server needs a Postgres system database, got {mask_password(str(url))!r}"
            )
        admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
        if admin_url not in OWN_SERVERS:
            raise ValueError(
                "restart_server only restarts a server this test session started, not the "
                "one DBOS_TEST_DATABASE_URL names"
            )
        restart_server(admin_url)

    def clear(self) -> None:
        """Stop injecting (counts are kept)."""
        with self._lock:
            self.rules.clear()

    def _check(self, operation: str, after_commit: bool) -> None:
        with self._lock:
            if not after_commit:
                self.calls[operation] += 1
            for rule in self.rules:
                if rule.after_commit == after_commit and rule.fires(operation):
                    self.injected[operation] += 1
                    when = "after its commit" if after_commit else "before it ran"
                    raise DBOSConnectionError(f"injected fault: {operation} failed {when}")

    @hookimpl
    def dbos_storage_call(self, operation: str, attempt: int) -> None:
        """Hook: a storage call is about to reach the database. Counts it in `calls`, and raises
        `DBOSConnectionError` (counted in `injected`) if a rule without `after_commit` fires."""
        self._check(operation, after_commit=False)

    @hookimpl
    def dbos_storage_call_done(self, operation: str, attempt: int) -> None:
        """Hook: a storage call returned. Raises `DBOSConnectionError` (counted in `injected`) if
        an `after_commit` rule fires: the call took effect, and its retry must be safe."""
        self._check(operation, after_commit=True)


def drop_connections(admin_url: str, database: str) -> int:
    """Terminate every server connection to `database` (Postgres) except this one's, as a
    network cut or a failover would; returns how many were dropped. Returns once the
    terminated server processes have exited (up to 10 s), so that each dropped client
    already holds the server's goodbye: `pg_terminate_backend` only signals the process."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
        dropped = [pid for pid, terminated in rows if terminated]
        deadline = time.monotonic() + 10.0
        while dropped and time.monotonic() < deadline:
            alive = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (dropped,)
            ).fetchone()
            if alive is None or alive[0] == 0:
                break
            time.sleep(0.01)
    return len(dropped)
