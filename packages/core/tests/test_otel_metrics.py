"""Metrics through OpenTelemetry (issue 16): with ``enable_otlp``, the ``dbos`` meter's
instruments report workflow counts by name and status, step durations, queue depth and
running tasks, lease age and background-thread health. Read with the SDK's in-memory metric
reader on the global meter provider."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import dbos._metrics
from dbos import DBOS, Queue

Launch = Callable[..., None]

_reader = InMemoryMetricReader()
_lock = threading.Lock()


def _install_reader() -> None:
    with _lock:
        if not isinstance(metrics.get_meter_provider(), MeterProvider):
            metrics.set_meter_provider(MeterProvider(metric_readers=[_reader]))


def _points() -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Each ``dbos`` metric's data points: (attributes, value or histogram point)."""
    data = _reader.get_metrics_data()
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            if scope.scope.name != "dbos":
                continue
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", point)
                    found.setdefault(metric.name, []).append((dict(point.attributes or {}), value))
    return found


metrics_queue = Queue("metrics-queue", polling_interval_sec=0.05)
idle_queue = Queue("metrics-idle-queue")
release = threading.Event()


@DBOS.step()
def measured_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def measured_workflow(x: int) -> int:
    return measured_step(x)


@DBOS.workflow()
def failing_measured() -> None:
    raise ValueError("no")


@DBOS.workflow()
def held() -> None:
    release.wait(30)


def test_counts_durations_queues_lease_and_threads(
    launch: Launch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbos._metrics, "QUEUE_READING_REUSE_S", 0.0)  # each collection reads
    _install_reader()
    launch(enable_otlp=True)
    _points()  # start from what earlier tests left
    before = {
        (tuple(sorted(attrs.items()))): value
        for attrs, value in _points().get("dbos.workflows.ended", [])
    }
    assert measured_workflow(1) == 2
    with contextlib.suppress(ValueError):
        failing_measured()
    release.clear()
    running = metrics_queue.enqueue(held)
    queued = metrics_queue.enqueue(measured_workflow, 5)  # waits for the worker's turn, or runs
    points = _points()

    def ended(name: str, status: str) -> int:
        key = tuple(sorted({"workflow.name": name, "workflow.status": status}.items()))
        now = {tuple(sorted(a.items())): v for a, v in points["dbos.workflows.ended"]}
        return int(now.get(key, 0)) - int(before.get(key, 0))

    assert ended(measured_workflow.__qualname__, "SUCCESS") >= 1
    assert ended(failing_measured.__qualname__, "ERROR") == 1
    steps = [
        p for a, p in points["dbos.step.duration"] if a["step.name"] == measured_step.__qualname__
    ]
    assert steps and steps[0].count >= 1 and steps[0].sum >= 0
    depth = {a["queue.name"]: v for a, v in points.get("dbos.queue.depth", [])}
    busy = {a["queue.name"]: v for a, v in points.get("dbos.queue.running", [])}
    assert depth.get("metrics-queue", 0) + busy.get("metrics-queue", 0) >= 1
    alive = {a["service"]: v for a, v in points["dbos.background.alive"]}
    assert alive == {"heartbeat": 1, "queue_worker": 1, "scheduler": 1}
    (lease,) = points["dbos.lease.age"]
    assert lease[1] >= 0
    # A declared queue without tasks reports 0, not nothing.
    assert depth["metrics-idle-queue"] == 0 and busy["metrics-idle-queue"] == 0
    release.set()
    running.get_result()
    assert queued.get_result() == 6
    # Drained, the queue's series drop to 0 instead of ending.
    points = _points()
    depth = {a["queue.name"]: v for a, v in points.get("dbos.queue.depth", [])}
    busy = {a["queue.name"]: v for a, v in points.get("dbos.queue.running", [])}
    assert depth["metrics-queue"] == 0 and busy["metrics-queue"] == 0
