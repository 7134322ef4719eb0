"""Queue slots: this process's worker concurrency, one `QueueSlot` per running queued task.

A slot is taken by the claim that starts a task (the worker's, or a finishing task's claim
of its successor) and held by that one object until the task ends: the engine releases it
when the execution's future completes, whatever way it completes, or at once when the claimed
task does not run here after all (a stale claim, a workflow already running here). A finishing
task that claims its successor hands its slot over instead of releasing it, so the count never
shows both (or neither) of them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable


class QueueSlots:
    """The count of running tasks per queue in this process."""

    def __init__(self, freed: Callable[[str], None]) -> None:
        """`freed(queue_name)` is called after a slot is released (not handed over)."""
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._freed = freed

    def take(self, queue_name: str) -> QueueSlot:
        with self._lock:
            self._running[queue_name] += 1
        return QueueSlot(self, queue_name)

    def try_take(self, queue_name: str, limit: int) -> QueueSlot | None:
        """A slot if fewer than `limit` tasks of the queue run here (checked and taken at
        once), else None."""
        with self._lock:
            if self._running[queue_name] >= limit:
                return None
            self._running[queue_name] += 1
        return QueueSlot(self, queue_name)

    def running(self, queue_name: str) -> int:
        with self._lock:
            return self._running[queue_name]

    def _give_back(self, slot: QueueSlot, *, handed_over: bool) -> bool:
        with self._lock:
            if not slot._held:
                return False
            slot._held = False
            if not handed_over:
                self._running[slot.queue_name] -= 1
        return True


class QueueSlot:
    """One place in a queue's worker concurrency, held by one task (see the module's text)."""

    def __init__(self, slots: QueueSlots, queue_name: str) -> None:
        self.queue_name = queue_name
        self._slots = slots
        self._held = True
        #: The queue worker's count of reports of new work when this slot's task asked for
        #: a successor (`QueueWorker.successor_claim`); None if it did not ask.
        self.claim_generation: int | None = None

    def release(self) -> None:
        """The task ended (or will not run here): free the place and wake the worker for it.
        Idempotent; a no-op after `hand_over`."""
        if self._slots._give_back(self, handed_over=False):
            self._slots._freed(self.queue_name)

    def hand_over(self) -> QueueSlot:
        """Give this place to the task this one claimed as it finished; returns the
        successor's slot. This slot's `release` then does nothing."""
        if not self._slots._give_back(self, handed_over=True):
            raise RuntimeError(f"a released slot of queue {self.queue_name!r} was handed over")
        return QueueSlot(self._slots, self.queue_name)
