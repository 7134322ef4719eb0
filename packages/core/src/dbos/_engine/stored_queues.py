"""The stored queues as the queue worker sees them (issue 15): filtered by
`DBOS.listen_queues`, read again at once after this process changes one, and at once when
the backend reports another process's change (`QueueActivity.settings_changed`), so a change
made by any process reaches this one's claims within its polling interval.

How often they are read when nothing is reported (issue 17): once per shortest polling
interval of the queues worked on, for a backend that does not report settings changes
(SQLite, whose file several processes may share; Postgres with ``use_listen_notify`` off or
while its listener reconnects); for one that does, at most once per `SETTINGS_SAFETY_NET_S`
(or the polling interval if longer), a safety net only. A lost notification connection is
reported as "anything may have changed" (None), which marks the view stale as well."""

from __future__ import annotations

import threading
import time

from ..storage._protocol import SystemStorage
from ..storage._records import QueueSpec
from .queues import DEFAULT_POLLING_INTERVAL_S, listened_queues

#: Seconds between two reads of the stored queues when nothing reported a change, for a
#: backend that reports settings changes (see the module's text).
SETTINGS_SAFETY_NET_S = 5.0


class StoredQueueView:
    """The stored queues this process works on, refreshed when due."""

    def __init__(self, storage: SystemStorage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        # Held through a whole read, so a read that started earlier can never replace the
        # result of one that started later (a setter's own read, after its commit).
        self._reading = threading.Lock()
        # Each queue's claim limits and polling interval as of the last read: what the worker
        # asks for on every claim and every finishing task.
        self._specs: dict[str, QueueSpec] = {}
        self._intervals: dict[str, float] = {}
        self._read_at = float("-inf")
        self._stale = True

    def mark_stale(self) -> None:
        """Read the stored queues again at the next chance (this process changed one, or
        the backend reported a change, or a lost notification connection)."""
        with self._lock:
            self._stale = True

    @property
    def stale(self) -> bool:
        """Whether a change was reported that the view has not read yet: the limits in use
        may be old (claims that cannot wait for the worker's read leave the task to it)."""
        return self._stale

    def interval_of(self, queue_name: str) -> float:
        """Queue `queue_name`'s polling interval in seconds (the default for a queue not
        stored, such as the internal one)."""
        with self._lock:
            return self._intervals.get(queue_name, DEFAULT_POLLING_INTERVAL_S)

    def refresh(self) -> bool:
        """Read the stored queues now (after this process changed one, so its next claims
        apply the change); returns whether what it read differs from what was in use.
        Raises what storage raises (the view stays stale, so the worker reads again)."""
        with self._reading:
            return self._read_now(time.monotonic())

    def refresh_if_stale(self) -> bool:
        """Read the stored queues if a change was reported since the last read; returns
        whether what it read differs from what was in use. Raises what storage raises."""
        if not self._stale:
            return False
        with self._reading:
            if not self.stale:  # read by another thread meanwhile
                return False
            return self._read_now(time.monotonic())

    def refresh_if_due(self, now_s: float) -> bool:
        """Read the stored queues if they were marked stale or the time between periodic
        reads passed since the last read (see the module's text; `now_s` is monotonic
        seconds); returns whether what it read differs from what was in use. Raises what
        storage raises (the last read stays in use)."""
        with self._reading:
            with self._lock:
                # The shortest polling interval of the queues worked on (the default if none).
                every = min(self._intervals.values(), default=DEFAULT_POLLING_INTERVAL_S)
                if self._storage.reports_queue_settings:
                    every = max(every, SETTINGS_SAFETY_NET_S)
                due = self._stale or now_s - self._read_at >= every
            if not due:
                return False
            return self._read_now(now_s)

    def _read_now(self, now_s: float) -> bool:
        # Callers hold `_reading`. A change reported during the read marks the view stale
        # again, so it is read once more.
        with self._lock:
            self._stale = False
            self._read_at = now_s
        try:
            return self._read()
        except BaseException:
            with self._lock:
                self._stale = True
            raise

    def _read(self) -> bool:
        listening = listened_queues()
        found = [
            queue
            for queue in self._storage.list_queues()
            if listening is None or queue.name in listening
        ]
        specs = {queue.name: queue.spec() for queue in found}
        intervals = {queue.name: queue.polling_interval_sec for queue in found}
        with self._lock:
            changed = (specs, intervals) != (self._specs, self._intervals)
            self._specs, self._intervals = specs, intervals
        return changed

    def specs(self) -> list[QueueSpec]:
        """The claim limits of every queue worked on."""
        with self._lock:
            return list(self._specs.values())

    def spec(self, name: str) -> QueueSpec | None:
        """The claim limits of queue `name`, or None if it is not worked on."""
        with self._lock:
            return self._specs.get(name)
