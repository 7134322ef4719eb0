"""Group commit: writes submitted by many threads at once share one database round trip.

A backend wraps a batch operation (for example "finish these workflows" as one statement) in
a `GroupCommit`. The first thread to submit becomes the leader and runs a batch holding just
its own item, so a lone caller pays no hand-off or delay. Items submitted while a batch is in
flight wait; when the batch is done, the leader passes leadership to the oldest waiter, which
runs everything that has piled up as the next batch. Under load, batches grow by themselves
to the number of threads waiting, and each caller still returns only once its own item is
committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("done", "error", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.lead = False


class GroupCommit(Generic[T, R]):
    """Runs `run_batch` on the items of concurrent `submit` calls, several at a time.

    Args:
        run_batch: Takes a non-empty list of items and returns one result per item, in order;
            a result that is an exception is raised to that item's caller alone. If
            `run_batch` itself raises, every caller of that batch gets the exception.
        max_batch: Most items in one batch.
        in_flight: Most batches running at once (each on its own connection): more cuts the
            wait for a batch in flight, fewer shares more commits.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R | BaseException]],
        max_batch: int = 256,
        in_flight: int = 1,
    ) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._in_flight = in_flight
        self._lock = threading.Lock()
        self._waiting: list[_Slot[T, R]] = []
        self._leaders = 0

    def submit(self, item: T) -> R:
        """Run `item` in the next batch; return its result once the batch is committed."""
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            if self._leaders >= self._in_flight:
                self._waiting.append(slot)
            else:
                self._leaders += 1
                slot.lead = True
        if not slot.lead:
            slot.done.wait()  # served by a leader, or woken to lead
        if slot.lead:
            self._lead(slot)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self, own: _Slot[T, R]) -> None:
        # A leader's own item is never done yet: it is the first submitter, or a waiter that
        # was woken (through its `done` event) to lead instead of being served.
        batch = [own]
        with self._lock:
            room = self._max_batch - 1
            batch.extend(self._waiting[:room])
            del self._waiting[:room]
        try:
            results = self._run_batch([slot.item for slot in batch])
            if len(results) != len(batch):
                raise RuntimeError(
                    f"group commit: {len(results)} results for a batch of {len(batch)}"
                )
            for slot, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    slot.error = result
                else:
                    slot.result = result
        except BaseException as exc:
            for slot in batch:
                slot.error = exc
        finally:
            successor: _Slot[T, R] | None = None
            with self._lock:
                if self._waiting:
                    successor = self._waiting.pop(0)
                    successor.lead = True
                else:
                    self._leaders -= 1
            for slot in batch:
                slot.done.set()
            if successor is not None:
                successor.done.set()
