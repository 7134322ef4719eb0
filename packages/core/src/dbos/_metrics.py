"""Metrics of this process, cheaply: counted on the engine's hooks (workflows started,
recovered and ended by name and status; step durations) and read on demand (queue depth and
running tasks from the system database, lease and background-thread health), for the admin
server's JSON view and, with ``enable_otlp``, as OpenTelemetry instruments on the global meter
provider (meter ``dbos``).

Instrument names (units in brackets): ``dbos.workflows.started`` and
``dbos.workflows.recovered`` (counters, attribute ``workflow.name``),
``dbos.workflows.ended`` (counter, ``workflow.name`` and ``workflow.status``),
``dbos.step.duration`` (histogram [ms], ``step.name`` and ``step.status``),
``dbos.queue.depth`` and ``dbos.queue.running`` (gauges, ``queue.name``; every queue this
process declared, 0 when it has no task, and any other queue with tasks),
``dbos.lease.age`` (gauge [s] since the last heartbeat), ``dbos.background.alive`` (gauge, 1 or
0, ``service``)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._engine.health import background_alive, lease_age_s
from ._engine.queues import INTERNAL_QUEUE_NAME, declared_queues
from .plugins import hookimpl
from .storage import WorkflowQuery

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation

    from ._engine.engine import Engine

#: At most this many queued and running rows are read for one depth reading.
QUEUE_SCAN_LIMIT = 10_000
#: Seconds a queue reading is reused: one collection calls the depth and the running gauges
#: one after the other, and they share one listing.
QUEUE_READING_REUSE_S = 1.0

#: The instruments, made once per process (a meter keeps what it made), and the plugin of the
#: launched instance that the gauges read.
_instruments: dict[str, Any] = {}
_current: MetricsPlugin | None = None


def instrument(plugin: MetricsPlugin | None) -> None:
    """Make `plugin` the one the OpenTelemetry instruments report (None: none), creating the
    instruments on the global meter provider's ``dbos`` meter the first time."""
    global _current
    _current = plugin
    if plugin is None or _instruments:
        return
    from opentelemetry import metrics

    meter = metrics.get_meter("dbos")
    _instruments.update(
        started=meter.create_counter(
            "dbos.workflows.started", description="workflow executions started here"
        ),
        recovered=meter.create_counter(
            "dbos.workflows.recovered", description="executions that resumed a workflow"
        ),
        ended=meter.create_counter(
            "dbos.workflows.ended", description="executions ended here, by recorded status"
        ),
        step=meter.create_histogram(
            "dbos.step.duration", unit="ms", description="step duration, retries included"
        ),
    )
    meter.create_observable_gauge(
        "dbos.queue.depth", [_observe_depth], description="ENQUEUED tasks per queue"
    )
    meter.create_observable_gauge(
        "dbos.queue.running", [_observe_running], description="PENDING tasks per queue"
    )
    meter.create_observable_gauge(
        "dbos.lease.age", [_observe_lease], unit="s", description="seconds since the lease renewal"
    )
    meter.create_observable_gauge(
        "dbos.background.alive", [_observe_alive], description="1 while a service's thread runs"
    )


def _observe_queues(which: str) -> Iterable[Observation]:
    from opentelemetry.metrics import Observation

    plugin = _current
    if plugin is None:
        return []
    return [
        Observation(counts[which], {"queue.name": name})
        for name, counts in plugin.queue_reading().items()
    ]


def _observe_depth(options: CallbackOptions) -> Iterable[Observation]:
    return _observe_queues("enqueued")


def _observe_running(options: CallbackOptions) -> Iterable[Observation]:
    return _observe_queues("running")


def _observe_lease(options: CallbackOptions) -> Iterable[Observation]:
    from opentelemetry.metrics import Observation

    plugin = _current
    age = None if plugin is None else lease_age_s(plugin.engine)
    return [] if age is None else [Observation(age)]


def _observe_alive(options: CallbackOptions) -> Iterable[Observation]:
    from opentelemetry.metrics import Observation

    plugin = _current
    if plugin is None:
        return []
    alive = background_alive(plugin.engine)
    return [Observation(int(up), {"service": name}) for name, up in alive.items()]


class MetricsPlugin:
    """Counts on the hooks (thread-safe) and reads the rest when asked."""

    def __init__(self, engine: Engine, instrumented: bool = False) -> None:
        self.engine = engine
        #: Whether to report to the OpenTelemetry instruments (``enable_otlp``).
        self.instrumented = instrumented
        self._lock = threading.Lock()
        self.started: Counter[str] = Counter()
        self.recovered: Counter[str] = Counter()
        self.ended: Counter[tuple[str, str]] = Counter()
        self._step_started: dict[tuple[str, int], float] = {}
        self._queue_reading: tuple[float, dict[str, dict[str, int]]] | None = None

    # --- hooks ----------------------------------------------------------------------------

    @hookimpl
    def dbos_workflow_started(self, workflow_id: str, name: str, recovered: bool) -> None:
        """Count an execution (and a recovery)."""
        with self._lock:
            self.started[name] += 1
            if recovered:
                self.recovered[name] += 1
        if self.instrumented and _instruments:
            _instruments["started"].add(1, {"workflow.name": name})
            if recovered:
                _instruments["recovered"].add(1, {"workflow.name": name})

    @hookimpl
    def dbos_workflow_ended(
        self, workflow_id: str, name: str, status: str | None, error: BaseException | None
    ) -> None:
        """Count an ended execution by status (``NONE``: it stopped without an outcome)."""
        label = status or "NONE"
        with self._lock:
            self.ended[(name, label)] += 1
        if self.instrumented and _instruments:
            _instruments["ended"].add(1, {"workflow.name": name, "workflow.status": label})

    @hookimpl
    def dbos_operation_started(
        self, workflow_id: str, function_id: int, name: str, kind: str
    ) -> None:
        """Time a step (a datasource transaction is one, as in its workflow's step list)."""
        if kind in ("step", "transaction") and self.instrumented and _instruments:
            self._step_started[(workflow_id, function_id)] = time.perf_counter()

    @hookimpl
    def dbos_operation_ended(
        self,
        workflow_id: str,
        function_id: int,
        name: str,
        kind: str,
        error: BaseException | None,
    ) -> None:
        """Record a step's duration."""
        began = self._step_started.pop((workflow_id, function_id), None)
        if began is not None and _instruments:
            elapsed_ms = (time.perf_counter() - began) * 1000
            status = "SUCCESS" if error is None else "ERROR"
            _instruments["step"].record(elapsed_ms, {"step.name": name, "step.status": status})

    # --- reading --------------------------------------------------------------------------

    def queues(self) -> dict[str, dict[str, int]]:
        """ENQUEUED and running (PENDING) tasks per queue, read from the system database (one
        listing of at most `QUEUE_SCAN_LIMIT` rows)."""
        query = WorkflowQuery(
            statuses=("ENQUEUED", "PENDING"),
            queued_only=True,
            load_inputs=False,
            load_output=False,
            limit=QUEUE_SCAN_LIMIT,
        )
        found: dict[str, dict[str, int]] = {}
        for row in self.engine.storage.list_workflows(query):
            if row.queue_name is None:
                continue
            counts = found.setdefault(row.queue_name, {"enqueued": 0, "running": 0})
            if row.status == "ENQUEUED":
                counts["enqueued"] += 1
            elif row.status == "PENDING":
                counts["running"] += 1
        return found

    def queue_reading(self) -> dict[str, dict[str, int]]:
        """What the queue gauges report: `queues`, with every queue this process declared
        that has no task at 0 (so a drained queue's series drops to 0 rather than ending),
        read at most once per `QUEUE_READING_REUSE_S` seconds.

        Raises:
            DBOSConnectionError: the system database could not be read.
        """
        with self._lock:
            cached = self._queue_reading
        now = time.monotonic()
        if cached is not None and now - cached[0] < QUEUE_READING_REUSE_S:
            return cached[1]
        reading = self.queues()
        for queue in declared_queues():
            if queue.name != INTERNAL_QUEUE_NAME:
                reading.setdefault(queue.name, {"enqueued": 0, "running": 0})
        with self._lock:
            self._queue_reading = (now, reading)
        return reading

    def snapshot(self) -> dict[str, Any]:
        """The counts so far, as JSON-ready data."""
        with self._lock:
            ended: dict[str, dict[str, int]] = {}
            for (name, status), count in self.ended.items():
                ended.setdefault(name, {})[status] = count
            return {
                "workflows_started": dict(self.started),
                "workflows_recovered": dict(self.recovered),
                "workflows_ended": ended,
            }
