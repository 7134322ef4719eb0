"""The queue worker: a thread that claims queued tasks within each queue's limits and hands
them to the engine. It wakes at once when this process enqueues a task, another process's
enqueue is relayed, or a task finishes while there may be work it has not seen, and otherwise
polls each queue every `polling_interval_sec` of its own.

"Work it has not seen" is counted per queue: every report of new work (`wake`) bumps the
queue's `posted` count, and a claim that comes back short (fewer tasks than it asked for)
records the count it started under as `drained`. A slot freed on a queue whose claims are
local (no global limits, no partitions) wakes the worker only while `posted > drained`: after
a short claim and no report since, a claim would find nothing, and a finishing task asks for
no successor either. Another process's enqueue that is not relayed is found by polling, as
before."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from .._base.errors import DBOSException
from ..storage._records import ClaimRequest, NewWorkflow, QueueSpec, WorkflowRow
from . import registry as _registry
from .background import BackgroundPort
from .execution import ActiveWorkflow
from .outage import ride_out_outages
from .outcome import now_ms
from .queues import INTERNAL_QUEUE_NAME
from .slots import QueueSlot, QueueSlots
from .stored_queues import StoredQueueView

logger = logging.getLogger("dbos")

#: Tasks one process claims per queue and round when the queue sets no worker concurrency.
DEFAULT_BATCH = 64
_ERROR_BACKOFF_S = 1.0
#: How often each process cancels workflows past their deadline.
_SWEEP_INTERVAL_S = 0.5
_INTERNAL_QUEUE = QueueSpec(name=INTERNAL_QUEUE_NAME)


#: Starts a claimed task: `(row, slot, successor)`. The callee owns `slot` from then on
#: (see `slots`); `successor` is True for a task claimed by a finishing task of its queue.
#: Returns the task's execution here, or None if it does not run here after all.
RunTask = Callable[[WorkflowRow, QueueSlot, bool], ActiveWorkflow | None]


class QueueWorker:
    """Claims queued tasks within each queue's limits and hands each, with its slot, to
    `run_task`."""

    def __init__(self, port: BackgroundPort, run_task: RunTask) -> None:
        self._port = port
        self._run_task = run_task
        self._lock = threading.Lock()
        self.slots = QueueSlots(freed=self._slot_freed)
        self._wake = threading.Event()
        # Reports of new work per queue, and the count as of the last short claim (see the
        # module's text); `_posted_all` counts reports for every queue at once.
        self._posted: Counter[str] = Counter()
        self._posted_all = 0
        self._drained: dict[str, int] = {}
        # Queues to look at on the next round (all of them when `_look_at_all`).
        self._look_at: set[str] = set()
        self._look_at_all = True
        self._stop = threading.Event()
        self._last_sweep_ms = 0
        #: The queues as stored: what every claim applies (see `stored_queues`).
        self.stored = StoredQueueView(port.storage)
        #: The app's name, stored with the queues it declares (set at launch).
        self.application_name: str | None = None
        self._thread = threading.Thread(target=self._run, name="dbos-queue-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def settings_changed(self) -> None:
        """This process stored, changed or deleted a queue: read the stored queues at once,
        so its next claims apply the change (if the read fails, the worker's next round
        reads them)."""
        self.stored.mark_stale()
        try:
            self.stored.refresh()
        except DBOSException as exc:
            logger.warning("could not read the stored queues, the queue worker will: %s", exc)
        self.wake()

    def runs_latest_version(self) -> bool:
        """Whether this process runs the latest application version (as last read)."""
        return self._port.standing.is_latest

    def _spec(self, queue_name: str) -> QueueSpec | None:
        if queue_name == INTERNAL_QUEUE_NAME:
            return _INTERNAL_QUEUE
        return self.stored.spec(queue_name)

    def wake(self, queue_name: str | None = None) -> None:
        """Look for work on `queue_name` (every queue if None) at once."""
        with self._lock:
            if queue_name is None:
                self._look_at_all = True
                self._posted_all += 1
            else:
                self._look_at.add(queue_name)
                self._posted[queue_name] += 1
        self._wake.set()

    def _generation(self, queue_name: str) -> int:
        """The queue's count of reports of new work (callers hold `_lock`)."""
        return self._posted[queue_name] + self._posted_all

    def _claimed_short(self, queue_name: str, generation: int) -> None:
        """A claim started at `generation` found fewer tasks than it asked for."""
        with self._lock:
            if generation > self._drained.get(queue_name, -1):
                self._drained[queue_name] = generation

    def _may_have_work(self, queue_name: str) -> bool:
        with self._lock:
            return self._generation(queue_name) > self._drained.get(queue_name, -1)

    def _slot_freed(self, queue_name: str) -> None:
        spec = self._spec(queue_name)
        if spec is None or spec.has_global_limits or spec.partitioned:
            self.wake(queue_name)  # claimed by the worker alone, counted across processes
        elif self._may_have_work(queue_name):
            with self._lock:
                self._look_at.add(queue_name)
            self._wake.set()

    def notice(self, queue_name: str | None, slot_freed: bool) -> None:
        """Storage's report of another process's queue activity (`on_queue_activity`). Any
        queue's (None, after a lost notification connection) may include settings changes
        that were not reported: the stored queues are read again too."""
        if queue_name is None:
            self.stored.mark_stale()
        if slot_freed and queue_name is not None:
            spec = self._spec(queue_name)
            if spec is None or not (spec.has_global_limits or spec.partitioned):
                return  # a task ending elsewhere frees no slot here
        self.wake(queue_name)

    def settings_notice(self, queue_name: str | None) -> None:
        """Storage's report that another process stored, changed or deleted queue
        `queue_name`'s settings (None: any queue's; `on_queue_settings`): the worker reads
        the stored queues at once and looks at the queue again under what it read."""
        self.stored.mark_stale()
        self.wake(queue_name)

    def successor_claim(self, slot: QueueSlot) -> ClaimRequest | None:
        """The claim a finishing task holding `slot` makes for the one task that takes its
        slot, or None where the worker must decide: queues with global limits or partitions
        (their claims are serialized and counted), a worker that is stopping, and settings
        reported changed but not read yet."""
        spec = self._spec(slot.queue_name)
        if (
            spec is None
            or self.stored.stale
            or spec.has_global_limits
            or spec.partitioned
            or self._stop.is_set()
            # The finishing task still counts: with it gone, is there room for one?
            or self.slots.running(slot.queue_name) > (spec.worker_concurrency or DEFAULT_BATCH)
        ):
            return None
        with self._lock:  # one look at the counts: the generation claimed under is the one read
            generation = self._generation(slot.queue_name)
            if generation <= self._drained.get(slot.queue_name, -1):
                return None  # nothing reported since a claim found the queue drained
            slot.claim_generation = generation
        return self._request(spec, 1)

    def take_local_slot(self, workflow: NewWorkflow) -> QueueSlot | None:
        """A free slot for a task this process is enqueueing, which then stores it already
        claimed by this process and runs it here (no claim round trip, no worker round), or
        None where the worker must decide: a queue this process does not work on, or one
        with global limits, partitions or priorities (their claims are counted, or ordered,
        across every task stored); a delayed task; another application version's; a worker
        that is stopping; settings reported changed but not read yet; no free slot."""
        name = workflow.queue_name
        if (
            name is None
            or name == INTERNAL_QUEUE_NAME
            or workflow.delay_until_ms is not None
            or workflow.queue_partition_key is not None
            or workflow.application_version not in (None, self._port.application_version)
            or self._stop.is_set()
            or not self._thread.is_alive()
            or self.stored.stale
        ):
            return None
        spec = self.stored.spec(name)
        if spec is None or spec.has_global_limits or spec.partitioned or spec.priority_enabled:
            return None
        return self.slots.try_take(name, spec.worker_concurrency or DEFAULT_BATCH)

    def start_successors(self, slot: QueueSlot, rows: list[WorkflowRow]) -> None:
        """Start the task a finishing task claimed in its place, on the slot it hands over.
        A retried claim may also report what an earlier attempt's lost reply took (see
        `_resilient`): those rows run too, each on a slot of its own."""
        if not rows and slot.claim_generation is not None:
            self._claimed_short(slot.queue_name, slot.claim_generation)
        for index, row in enumerate(rows):
            taken = slot.hand_over() if index == 0 else self.slots.take(slot.queue_name)
            self._run_task(row, taken, True)

    def _request(self, queue: QueueSpec, capacity: int) -> ClaimRequest:
        return ClaimRequest(
            queue=queue,
            executor_id=self._port.executor_id,
            application_version=self._port.application_version,
            capacity=capacity,
            workflow_names=_registry.workflow_names(),
            now_ms=now_ms(),
            instance_id=self._port.instance_id,
            takes_unversioned=self._port.standing.is_latest,
        )

    def _sweep_deadlines(self) -> None:
        """Cancel overdue workflows (queued ones never start; running ones stop at their next
        step). Every process sweeps; the statement is idempotent."""
        current = now_ms()
        if current - self._last_sweep_ms < _SWEEP_INTERVAL_S * 1000:
            return
        self._last_sweep_ms = current
        cancelled = self._port.storage.cancel_expired(current)
        if cancelled:
            logger.info("cancelled %d workflow(s) past their deadline", len(cancelled))

    def _run(self) -> None:
        # Through an outage the worker waits in its storage call (reported by the storage's
        # outage report) rather than failing and warning once a round.
        with ride_out_outages():
            self._loop()

    def _loop(self) -> None:
        # When each queue is next polled (monotonic seconds): every queue at its own
        # `polling_interval_sec`, as DBOS Transact polls each queue, so one fast queue does not
        # make the worker claim on every other queue (the internal one included) as often.
        next_poll: dict[str, float] = {}
        look_at_all = True  # the first round, and a round after new settings, sees all
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                look_at, self._look_at = self._look_at, set()
                if self._look_at_all:
                    look_at_all, self._look_at_all = True, False
            try:
                now = time.monotonic()
                if self.stored.refresh_if_due(now):
                    look_at_all = True  # new settings: look at every queue under them
                specs = self.stored.specs()
                work = [(spec, spec.worker_concurrency) for spec in specs]
                work.append((_INTERNAL_QUEUE, None))
                due = [
                    (spec, n)
                    for spec, n in work
                    if look_at_all or spec.name in look_at or next_poll.get(spec.name, now) <= now
                ]
                look_at_all = False
                for spec, _ in due:
                    next_poll[spec.name] = now + self.stored.interval_of(spec.name)
                self._sweep_deadlines()
                busy = [spec.name for spec, n in due if self._claim(spec, n)]
            except DBOSException as exc:
                if self._port.failed("the queue worker", exc):
                    return
                logger.warning("queue worker could not claim tasks, retrying: %s", exc)
                look_at_all = True  # the round's claims may not have run: all of them again
                self._stop.wait(_ERROR_BACKOFF_S)
                continue
            if busy:  # there may be more; ask again before sleeping
                with self._lock:
                    self._look_at.update(busy)
                continue
            worked_on = {spec.name for spec, _ in work}
            next_due = min((at for name, at in next_poll.items() if name in worked_on), default=now)
            wait_s = min(max(next_due - time.monotonic(), 0.0), _SWEEP_INTERVAL_S)
            self._wake.wait(wait_s)

    def _claim(self, queue: QueueSpec, worker_concurrency: int | None) -> int:
        # The settings as they are now: a change this process made, or one reported, during
        # the round applies, and a queue deleted (or no longer listened to) since the round
        # began is not claimed. New settings: the next round looks at every queue under them.
        if self.stored.refresh_if_stale():
            with self._lock:
                self._look_at_all = True
            self._wake.set()
        current = self._spec(queue.name)
        if current is None:
            return 0
        queue, worker_concurrency = current, current.worker_concurrency
        limit = worker_concurrency or DEFAULT_BATCH
        capacity = limit - self.slots.running(queue.name)
        if capacity <= 0:
            return 0
        with self._lock:
            generation = self._generation(queue.name)
        rows = self._port.storage.claim_queued(self._request(queue, capacity))
        if len(rows) < capacity:
            self._claimed_short(queue.name, generation)
        for row in rows:
            self._run_task(row, self.slots.take(queue.name), False)
        return len(rows)
