"""Waiting without holding a connection: for a workflow's outcome (shared by the backends) and
for messages, events and streams (`Wakeups`, owned by the engine).

A finish in this process wakes waiters at once through `FinishSignal`; a finish in another
process is seen by polling with a growing interval (backends with notifications call
`FinishSignal.notify` from their listener, which makes the poll a fallback only).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from ._records import Wakeup, WorkflowRow

POLL_START_S = 0.005
POLL_MAX_S = 0.1
#: Set by a handle's ``get_result(polling_interval_sec=...)`` around its wait: the gap
#: between two reads of `wait_until_terminal`, in seconds (None: back off up to its max).
RESULT_POLL_S: ContextVar[float | None] = ContextVar("dbos_result_poll_s", default=None)


class FinishSignal:
    """A generation counter under a condition: bumped whenever some workflow finishes."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        """The current generation: read it before checking, pass it to `wait_for_change`."""
        return self._generation

    def notify(self) -> None:
        """Bump the generation and wake every thread in `wait_for_change`: call it after a
        workflow's outcome is written (or a notification says another process wrote one)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait_for_change(self, seen_generation: int, timeout_s: float) -> None:
        """Block up to `timeout_s` seconds unless the generation has moved past
        `seen_generation` already; returns on a `notify` or the timeout (nothing tells which)."""
        with self._condition:
            if self._generation == seen_generation:
                self._condition.wait(timeout_s)


def wait_until_terminal(
    read_row: Callable[[str], WorkflowRow | None],
    signal: FinishSignal,
    workflow_id: str,
    timeout_s: float | None,
    max_poll_s: float = POLL_MAX_S,
) -> WorkflowRow | None:
    """Poll `read_row` until the workflow is terminal (its row) or `timeout_s` passes (None).
    Under `RESULT_POLL_S` the reads are that many seconds apart (a finish signalled in this
    process still wakes the wait at once)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    chosen = RESULT_POLL_S.get()
    if chosen is not None:
        max_poll_s = chosen
    interval = min(POLL_START_S, max_poll_s) if chosen is None else chosen
    while True:
        generation = signal.generation
        row = read_row(workflow_id)
        if row is not None and row.is_terminal:
            return row
        wait = interval
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(wait, remaining)
        signal.wait_for_change(generation, wait)
        interval = min(interval * 1.5, max_poll_s)


class Waiter:
    """One waiter for one kind of write to one workflow, and optionally for more keys (see
    `Wakeups.register`).

    Re-armed with `clear()` before each check of storage, so a write that lands between the
    check and the wait is not missed. Sync code waits on a threading event; async code on a
    future of its own loop, so an async waiter holds no thread.
    """

    def __init__(self, key: tuple[str, str], *also: tuple[str, str]) -> None:
        self.key = key
        self.keys = (key, *also)
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def fire(self) -> None:
        self._event.set()
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def clear(self) -> None:
        self._event.clear()

    def wait(self, timeout_s: float) -> bool:
        return self._event.wait(max(timeout_s, 0.0))

    async def wait_async(self, timeout_s: float) -> bool:
        if self._event.is_set():
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def resolve() -> None:
            if not future.done():
                future.set_result(None)

        def wake() -> None:
            # A closed loop means nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve)

        with self._lock:
            self._callbacks.append(wake)
        try:
            if self._event.is_set():
                return True
            try:
                await asyncio.wait_for(future, max(timeout_s, 0.0))
            except asyncio.TimeoutError:
                return False
            return True
        finally:
            with self._lock:
                self._callbacks.remove(wake)


W = TypeVar("W", bound=Waiter)


class Wakeups:
    """In-process wake-ups for waiters of messages, events and streams, keyed by
    ``(kind, workflow_id)``. Storage backends report writes through `notify`."""

    def __init__(self, max_poll_s: float = 1.0) -> None:
        #: The longest gap, in seconds, between two re-checks of a waiter that hears no
        #: wake-up: the latency of a write whose notification is missed or not sent (DBOS's
        #: ``notification_listener_polling_interval_sec``).
        self.max_poll_s = max_poll_s
        self._lock = threading.Lock()
        self._waiters: dict[tuple[str, str], set[Waiter]] = {}

    def register(self, kind: str, workflow_id: str, *also: tuple[str, str]) -> Waiter:
        """A new waiter for writes of `kind` (``WAKE_MESSAGE``, ``WAKE_EVENT``, ``WAKE_STREAM``,
        ``WAKE_SETTLED``) to `workflow_id`, also woken by each ``(kind, workflow_id)`` of
        `also`. Register before the first read, so a write between the read and the wait is
        not missed; `unregister` it when done."""
        return self.add(Waiter((kind, workflow_id), *also))

    def add(self, waiter: W) -> W:
        """`register` for a waiter built by the caller (a `Waiter` subclass); returns it."""
        with self._lock:
            for key in waiter.keys:
                self._waiters.setdefault(key, set()).add(waiter)
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        """Forget `waiter`; it is woken no more. Unregistering twice is harmless."""
        with self._lock:
            for key in waiter.keys:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[key]

    def notify(self, wakeup: Wakeup | None) -> None:
        """Wake the waiters of `wakeup` (all waiters if None)."""
        with self._lock:
            if wakeup is None:
                chosen = list({w for waiters in self._waiters.values() for w in waiters})
            else:
                chosen = list(self._waiters.get((wakeup.kind, wakeup.workflow_id), ()))
        for waiter in chosen:
            waiter.fire()
