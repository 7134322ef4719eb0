"""The stored queues as the queue worker sees them (issue 15): read from the system database
at most once per polling interval (and at once after this process changes one), filtered by
`DBOS.listen_queues`, so a change made by any process reaches this one's claims within its
polling interval."""

from __future__ import annotations

import threading

from ..storage._protocol import SystemStorage
from ..storage._records import QueueSpec
from .queues import DEFAULT_POLLING_INTERVAL_S, listened_queues


class StoredQueueView:
    """The stored queues this process works on, refreshed when due."""

    def __init__(self, storage: SystemStorage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        # Held through a whole read, so a read that started earlier can never replace the
        # result of one that started later (a setter's own read, after its commit).
        self._reading = threading.Lock()
        # Each queue's claim limits, and the shortest polling interval, as of the last read:
        # what the worker asks for on every claim and every finishing task.
        self._specs: dict[str, QueueSpec] = {}
        self._intervals: dict[str, float] = {}
        self._interval = DEFAULT_POLLING_INTERVAL_S
        self._read_at = float("-inf")
        self._stale = True

    def mark_stale(self) -> None:
        """Read the stored queues again at the next chance (this process changed one)."""
        with self._lock:
            self._stale = True

    def interval(self) -> float:
        """The shortest polling interval of the queues worked on (the default if none)."""
        with self._lock:
            return self._interval

    def interval_of(self, queue_name: str) -> float:
        """Queue `queue_name`'s polling interval in seconds (the default for a queue not
        stored, such as the internal one)."""
        with self._lock:
            return self._intervals.get(queue_name, DEFAULT_POLLING_INTERVAL_S)

    def refresh(self) -> None:
        """Read the stored queues now (after this process changed one, so its next claims
        apply the change). Raises what storage raises."""
        with self._reading:
            self._read()

    def refresh_if_due(self, now_s: float) -> bool:
        """Read the stored queues if a polling interval passed since the last read (or they
        were marked stale); returns whether what it read differs from what was in use.
        Raises what storage raises (the last read stays in use)."""
        with self._reading:
            return self._refresh_if_due(now_s)

    def _refresh_if_due(self, now_s: float) -> bool:
        with self._lock:
            due = self._stale or now_s - self._read_at >= self._interval
            if not due:
                return False
            self._stale = False
            self._read_at = now_s
        return self._read()

    def _read(self) -> bool:
        listening = listened_queues()
        found = [
            queue
            for queue in self._storage.list_queues()
            if listening is None or queue.name in listening
        ]
        specs = {queue.name: queue.spec() for queue in found}
        intervals = {queue.name: queue.polling_interval_sec for queue in found}
        interval = min(intervals.values(), default=DEFAULT_POLLING_INTERVAL_S)
        with self._lock:
            changed = (specs, intervals) != (self._specs, self._intervals)
            self._specs, self._intervals, self._interval = specs, intervals, interval
        return changed

    def specs(self) -> list[QueueSpec]:
        """The claim limits of every queue worked on."""
        with self._lock:
            return list(self._specs.values())

    def spec(self, name: str) -> QueueSpec | None:
        """The claim limits of queue `name`, or None if it is not worked on."""
        with self._lock:
            return self._specs.get(name)
