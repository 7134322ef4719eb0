"""The queue worker: a thread that claims queued tasks within each queue's limits and hands
them to the engine. It wakes at once when this process enqueues a task or a task finishes,
and otherwise polls every queue's `polling_interval_sec`."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import TYPE_CHECKING

from .._base.errors import DBOSException
from ..storage._records import ClaimRequest, QueueSpec, WorkflowRow
from . import registry as _registry
from .outage import ride_out_outages
from .outcome import now_ms
from .queues import (
    DEFAULT_POLLING_INTERVAL_S,
    INTERNAL_QUEUE_NAME,
    declared_queues,
    find_declared_queue,
)

if TYPE_CHECKING:
    from .engine import Engine

logger = logging.getLogger("dbos")

#: Tasks one process claims per queue and round when the queue sets no worker concurrency.
DEFAULT_BATCH = 64
_ERROR_BACKOFF_S = 1.0
#: How often each process cancels workflows past their deadline.
_SWEEP_INTERVAL_S = 0.5
_INTERNAL_QUEUE = QueueSpec(name=INTERNAL_QUEUE_NAME)


class QueueWorker:
    """Claims and starts queued tasks for one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._wake = threading.Event()
        # Queues to look at on the next round (all of them when `_look_at_all`).
        self._look_at: set[str] = set()
        self._look_at_all = True
        self._stop = threading.Event()
        self._last_sweep_ms = 0
        self._thread = threading.Thread(target=self._run, name="dbos-queue-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def wake(self, queue_name: str | None = None) -> None:
        """Look for work on `queue_name` (every queue if None) at once."""
        with self._lock:
            if queue_name is None:
                self._look_at_all = True
            else:
                self._look_at.add(queue_name)
        self._wake.set()

    def notice(self, queue_name: str | None, slot_freed: bool) -> None:
        """Storage's report of another process's queue activity (`on_queue_activity`)."""
        if slot_freed and queue_name is not None:
            queue = find_declared_queue(queue_name)
            if queue is None or not (queue.spec.has_global_limits or queue.spec.partitioned):
                return  # a task ending elsewhere frees no slot here
        self.wake(queue_name)

    def task_started(self, queue_name: str) -> None:
        with self._lock:
            self._running[queue_name] += 1

    def task_finished(self, queue_name: str, *, wake: bool = True) -> None:
        """A task of this process stopped running. `wake` is False when it already claimed
        the task that takes its slot (see `successor_claim`)."""
        with self._lock:
            self._running[queue_name] -= 1
        if wake:
            self.wake(queue_name)  # a slot is free

    def successor_claim(self, queue_name: str) -> ClaimRequest | None:
        """The claim a finishing task of `queue_name` makes for the one task that takes its
        slot, or None where the worker must decide: queues with global limits or partitions
        (their claims are serialized and counted) and a worker that is stopping."""
        queue = find_declared_queue(queue_name)
        if (
            queue is None
            or queue.spec.has_global_limits
            or queue.spec.partitioned
            or self._stop.is_set()
            # The finishing task still counts: with it gone, is there room for one?
            or self.running(queue_name) > (queue.spec.worker_concurrency or DEFAULT_BATCH)
        ):
            return None
        return ClaimRequest(
            queue=queue.spec,
            executor_id=self._engine.executor_id,
            application_version=self._engine.application_version,
            capacity=1,
            workflow_names=_registry.workflow_names(),
            now_ms=now_ms(),
        )

    def start_claimed(self, rows: list[WorkflowRow]) -> None:
        """Start the tasks a finishing task claimed in its place."""
        for row in rows:
            self._engine.run_pending(row, successor=True)

    def running(self, queue_name: str) -> int:
        with self._lock:
            return self._running[queue_name]

    def _sweep_deadlines(self) -> None:
        """Cancel overdue workflows (queued ones never start; running ones stop at their next
        step). Every process sweeps; the statement is idempotent."""
        current = now_ms()
        if current - self._last_sweep_ms < _SWEEP_INTERVAL_S * 1000:
            return
        self._last_sweep_ms = current
        cancelled = self._engine.storage.cancel_expired(current)
        if cancelled:
            logger.info("cancelled %d workflow(s) past their deadline", len(cancelled))

    def _run(self) -> None:
        # Through an outage the worker waits in its storage call (reported by the storage's
        # outage report) rather than failing and warning once a round.
        with ride_out_outages():
            self._loop()

    def _loop(self) -> None:
        polling = True  # the first round, and every round after a polling interval, sees all
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                look_at, self._look_at = self._look_at, set()
                if self._look_at_all:
                    polling, self._look_at_all = True, False
            queues = declared_queues()
            work = [(queue.spec, queue.spec.worker_concurrency) for queue in queues]
            work.append((_INTERNAL_QUEUE, None))
            due = work if polling else [(spec, n) for spec, n in work if spec.name in look_at]
            try:
                self._sweep_deadlines()
                busy = [spec.name for spec, n in due if self._claim(spec, n)]
            except DBOSException as exc:
                if self._engine.background_failed("the queue worker", exc):
                    return
                logger.warning("queue worker could not claim tasks, retrying: %s", exc)
                self._stop.wait(_ERROR_BACKOFF_S)
                continue
            if busy:  # there may be more; ask again before sleeping
                with self._lock:
                    self._look_at.update(busy)
                polling = False
                continue
            interval = min(
                (queue.polling_interval_sec for queue in queues), default=DEFAULT_POLLING_INTERVAL_S
            )
            interval = min(interval, _SWEEP_INTERVAL_S)
            polling = not self._wake.wait(interval)

    def _claim(self, queue: QueueSpec, worker_concurrency: int | None) -> int:
        limit = worker_concurrency or DEFAULT_BATCH
        capacity = limit - self.running(queue.name)
        if capacity <= 0:
            return 0
        rows = self._engine.storage.claim_queued(
            ClaimRequest(
                queue=queue,
                executor_id=self._engine.executor_id,
                application_version=self._engine.application_version,
                capacity=capacity,
                workflow_names=_registry.workflow_names(),
                now_ms=now_ms(),
            )
        )
        for row in rows:
            self._start(row)
        return len(rows)

    def _start(self, row: WorkflowRow) -> None:
        self._engine.run_pending(row)
