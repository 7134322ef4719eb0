"""Outages of the system database: who waits them out, and how they are reported.

A workflow's own storage calls (its checkpoints, waits and finish) must never give up: a
give-up would end the workflow with a transient error as its outcome. The engine marks that
work with `ride_out_outages`, and `ResilientStorage` retries such calls for as long as the
outage lasts. Every other caller (the app's calls from outside a workflow, `DBOSClient`, the
command line) gets `DBOSConnectionError` once the retry budget (config key
``sys_db_retry_timeout_sec``) has passed.

`OutageReport` logs an outage once when it starts, then about every `REPORT_EVERY_S` while it
lasts (with its length so far), and once when it ends: never once per retry.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger("dbos")

#: Seconds between two warnings while an outage lasts.
REPORT_EVERY_S = 30.0

_riding_out: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dbos_ride_out_outages", default=False
)


@contextmanager
def ride_out_outages() -> Iterator[None]:
    """Within this block (and the threads and tasks it starts with a copy of its context),
    storage calls retry connection errors for as long as the outage lasts."""
    token = _riding_out.set(True)
    try:
        yield
    finally:
        # A generator closed by the garbage collector runs this in a context of its own,
        # where the token does not apply and nothing is left to restore.
        with contextlib.suppress(ValueError, RuntimeError):
            _riding_out.reset(token)


def riding_out() -> bool:
    """Whether the current context waits out outages (see `ride_out_outages`)."""
    return _riding_out.get()


class OutageReport:
    """Logs the outages of one system database, shared by all the calls made to it."""

    def __init__(self, database: str, report_every_s: float = REPORT_EVERY_S) -> None:
        self._database = database
        self._report_every_s = report_every_s
        self._lock = threading.Lock()
        self._since: float | None = None
        #: When the first failed attempt of the outage began: a call can wait a while (for a
        #: pool connection, a connect timeout) before it fails, and the outage's reported
        #: length counts from there, not from when the failure was noticed.
        self._began = 0.0
        self._last_report = 0.0
        self._failures = 0

    def failed(self, operation: str, error: BaseException, started_at: float | None = None) -> None:
        """A call failed with a connection error and will be retried; `started_at`
        (monotonic seconds, default now) is when its failed attempt began."""
        now = time.monotonic()
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since, self._last_report = now, now
                self._began = now if started_at is None else min(started_at, now)
                waited = now - self._began
                logger.warning(
                    "system database %s unreachable (%s: %s%s); retrying until it is back",
                    self._database,
                    operation,
                    error,
                    f"; the attempt waited {waited:.1f} s" if waited >= 0.5 else "",
                )
            elif now - self._last_report >= self._report_every_s:
                self._last_report = now
                logger.warning(
                    "system database %s still unreachable after %.0f s (%d failed attempts; "
                    "last: %s: %s); still retrying",
                    self._database,
                    now - self._began,
                    self._failures,
                    operation,
                    error,
                )

    def succeeded(self, started_at: float | None = None) -> None:
        """A call that began at `started_at` (monotonic seconds) went through: ends the
        current outage, if any. A call that began before the outage was noticed says nothing
        about now (it may have had its connection before the server went away), so it ends
        nothing: otherwise one outage could be reported as several."""
        if self._since is None:  # the common case, without the lock
            return
        with self._lock:
            since = self._since
            if since is None or (started_at is not None and started_at < since):
                return
            self._since, self._failures = None, 0
        logger.warning(
            "system database %s reachable again after %.1f s",
            self._database,
            time.monotonic() - self._began,
        )
