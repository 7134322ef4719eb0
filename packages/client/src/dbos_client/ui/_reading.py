"""What the dashboard shows, read through `DBOSClient`, `Management` and the storage
protocol (never SQL of its own), as plain view records the templates render."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from dbos.management import INTERNAL_QUEUE_NAME, Management, StepInfo, run_sync
from dbos.storage import (
    LeaseHolder,
    ScheduleQuery,
    ScheduleRecord,
    StoredQueue,
    WorkflowQuery,
    WorkflowStatusString,
)

from .. import _render as render
from .._client import DBOSClient

#: Statuses in the order the counts show them.
STATUSES = tuple(status.value for status in WorkflowStatusString)
#: A count stops at this many (the protocol has no COUNT): beyond it the page says "1000+".
COUNT_CAP = 1000
#: How many recent workflows the queues and schedules pages look at.
SCAN_LIMIT = 2000


@dataclass(frozen=True)
class Count:
    """How many workflows (at most `COUNT_CAP`, then `capped`) a count found."""

    value: int
    capped: bool

    def __str__(self) -> str:
        return f"{self.value}+" if self.capped else str(self.value)


@dataclass
class QueueLoad:
    """One queue: its stored settings (`settings`, None for a queue with tasks but no stored
    row, such as one deleted while tasks wait, and for DBOS's internal queue, never stored;
    `internal` says which), tasks waiting (ENQUEUED) and running
    (PENDING), in all and per partition key, the oldest waiting task's creation time, and,
    for a rate-limited queue, the tasks started within the current rate-limit period
    (`started_in_period`; None without a rate limit)."""

    name: str
    settings: StoredQueue | None = None
    waiting: int = 0
    running: int = 0
    oldest_waiting_ms: int | None = None
    partitions: dict[str, list[int]] = field(default_factory=dict)  # key -> [waiting, running]
    started_in_period: int | None = None

    @property
    def internal(self) -> bool:
        """Whether this is DBOS's internal queue (``dbos.internal``): not declared or stored,
        and every launched process works on it, so its tasks do not wait for a declaration."""
        return self.name == INTERNAL_QUEUE_NAME


@dataclass
class ScheduleRuns:
    """One schedule: as stored (`stored`: its cron expression, zone, status, queue, latest
    tick; None for one seen only in its runs, such as a deleted one) and as its recent runs
    show it (how many, the latest; `latest_id` None when none ran among them)."""

    name: str
    workflow_name: str
    stored: ScheduleRecord | None = None
    runs: int = 0
    latest_id: str | None = None
    latest_created_ms: int | None = None
    latest_status: str | None = None


@dataclass(frozen=True)
class Timeline:
    """Steps placed on a common time axis: each step's offset and width in percent of the
    span from the first step's start to the last step's end."""

    rows: list[tuple[StepInfo, float, float]]
    span_ms: int


def json_text(value: Any) -> str:
    """A stored value for people: readable JSON (unreadable values and exceptions as text)."""
    return json.dumps(render.plain(value), indent=2, ensure_ascii=False, default=repr)


class Reader:
    """The dashboard's reads and actions over one client (thread-safe: each call is one or a
    few storage calls on the client's pool). Give it a client whose serializer is strict
    (``JsonPickleSerializer(strict=True)``, as ``dbos ui`` does): a web server must never
    unpickle stored data, and errors then keep their stored traceback text."""

    def __init__(self, client: DBOSClient) -> None:
        self.client = client
        self.management = Management(client.storage, client.codec)

    # --- workflows ----------------------------------------------------------------------

    def list_workflows(self, query: WorkflowQuery) -> list[Any]:
        """The workflows `query` selects, as `WorkflowStatus` records."""
        return run_sync(self.management.list_workflows(query))

    def counts(self, query: WorkflowQuery) -> dict[str, Count]:
        """Workflows per status among those `query` selects (its own status filter aside)."""
        out: dict[str, Count] = {}
        for status in STATUSES:
            found = self.client.storage.list_workflows(
                replace(
                    query,
                    statuses=(status,),
                    limit=COUNT_CAP + 1,
                    offset=None,
                    load_inputs=False,
                    load_output=False,
                )
            )
            out[status] = Count(min(len(found), COUNT_CAP), len(found) > COUNT_CAP)
        return out

    def workflow(self, workflow_id: str) -> Any | None:
        """One workflow's `WorkflowStatus`, or None if there is no such workflow."""
        return run_sync(self.management.get_status(workflow_id))

    def steps(self, workflow_id: str) -> list[StepInfo]:
        """The workflow's recorded steps in step-ID order (`DBOSClient.list_workflow_steps`)."""
        return run_sync(self.management.list_steps(workflow_id))

    def children(self, workflow_id: str) -> list[Any]:
        """The workflow's child workflows (at most 200), without inputs or outputs."""
        query = WorkflowQuery(
            parent_workflow_id=workflow_id, load_inputs=False, load_output=False, limit=200
        )
        return self.list_workflows(query)

    def events(self, workflow_id: str) -> dict[str, Any]:
        """Every event the workflow has set: key -> its latest value."""
        stored = self.client.storage.get_all_events(workflow_id)
        return {key: self.client.codec.decode_value(text) for key, text in stored.items()}

    def stream(self, workflow_id: str, key: str) -> tuple[list[tuple[int, Any]], bool]:
        """The stream's entries (offset, value) and whether it is closed."""
        read = self.client.storage.read_stream(workflow_id, key, 0)
        entries: list[tuple[int, Any]] = []
        closed = False
        for entry in read.entries:
            if entry.value is None:
                closed = True
            else:
                entries.append((entry.offset, self.client.codec.decode_value(entry.value)))
        return entries, closed

    # --- queues, schedules, executors ---------------------------------------------------

    def queues(self) -> list[QueueLoad]:
        """Every stored queue (issue 15: its settings, from the storage protocol's
        `list_queues`) and every queue with tasks waiting or running, with its load from the
        queued workflows the protocol lists, by name."""
        loads: dict[str, QueueLoad] = {
            stored.name: QueueLoad(stored.name, settings=stored)
            for stored in self.client.storage.list_queues()
        }
        query = WorkflowQuery(
            queued_only=True,
            statuses=(WorkflowStatusString.ENQUEUED.value, WorkflowStatusString.PENDING.value),
            limit=SCAN_LIMIT,
            load_inputs=False,
            load_output=False,
        )
        for row in self.client.storage.list_workflows(query):
            if row.queue_name is None:
                continue
            load = loads.setdefault(row.queue_name, QueueLoad(row.queue_name))
            waiting = row.status == WorkflowStatusString.ENQUEUED.value
            if waiting:
                load.waiting += 1
                if load.oldest_waiting_ms is None or row.created_at_ms < load.oldest_waiting_ms:
                    load.oldest_waiting_ms = row.created_at_ms
            else:
                load.running += 1
            if row.queue_partition_key is not None:
                pair = load.partitions.setdefault(row.queue_partition_key, [0, 0])
                pair[0 if waiting else 1] += 1
        now_ms = int(time.time() * 1000)
        for load in loads.values():
            stored = load.settings
            if stored is not None and stored.rate_limit_max is not None:
                period_ms = int((stored.rate_limit_period_sec or 0) * 1000)
                load.started_in_period = self.started_since(load.name, now_ms - period_ms)
        return sorted(loads.values(), key=lambda load: load.name)

    def started_since(self, queue_name: str, since_ms: int) -> int:
        """How many of the queue's tasks started at or after `since_ms` (epoch ms): what its
        rate limiter counts. Such a task is either still PENDING or has completed since it
        started, so two listings find them all (each capped at `SCAN_LIMIT`)."""
        running = WorkflowQuery(
            queue_name=queue_name,
            statuses=(WorkflowStatusString.PENDING.value,),
            limit=SCAN_LIMIT,
            load_inputs=False,
            load_output=False,
        )
        ended = replace(running, statuses=None, completed_after_ms=since_ms)
        started: set[str] = set()
        for query in (running, ended):
            for row in self.client.storage.list_workflows(query):
                if row.started_at_ms is not None and row.started_at_ms >= since_ms:
                    started.add(row.workflow_id)
        return len(started)

    def schedules(self) -> list[ScheduleRuns]:
        """Every stored schedule (the storage protocol's `list_schedules`: those created
        through the API and those ``@DBOS.scheduled`` declares), with its runs among the most
        recent workflows (a workflow a schedule started carries its name), and any schedule
        seen only in those runs, by name."""
        found: dict[str, ScheduleRuns] = {
            stored.schedule_name: ScheduleRuns(
                stored.schedule_name, stored.workflow_name, stored=stored
            )
            for stored in self.client.storage.list_schedules(ScheduleQuery())
        }
        query = WorkflowQuery(
            limit=SCAN_LIMIT, sort_desc=True, load_inputs=False, load_output=False
        )
        for status in self.list_workflows(query):
            if status.schedule_name is None:
                continue
            seen = found.setdefault(
                status.schedule_name, ScheduleRuns(status.schedule_name, status.name)
            )
            seen.runs += 1
            if seen.latest_id is None:  # newest first: the first run seen is the latest
                seen.latest_id = status.workflow_id
                seen.latest_created_ms = status.created_at
                seen.latest_status = status.status
        return sorted(found.values(), key=lambda runs: runs.name)

    def executors(self) -> list[LeaseHolder]:
        """The stored process leases (issue 11), live or expired, by instance ID."""
        return self.client.storage.list_leases()

    # --- actions ------------------------------------------------------------------------

    def cancel(self, workflow_id: str) -> Any:
        """Cancel the workflow; the `ActionResult` says what happened."""
        return run_sync(self.management.cancel_each([workflow_id]))[0]

    def resume(self, workflow_id: str) -> Any:
        """Resume the workflow from its last recorded step; the `ActionResult`."""
        return run_sync(self.management.resume_each([workflow_id]))[0]

    def delete(self, workflow_id: str, children: bool) -> Any:
        """Delete the workflow (and its children with `children`); the `ActionResult`."""
        return run_sync(self.management.delete_each([workflow_id], delete_children=children))[0]

    def fork(self, workflow_id: str, start_step: int) -> str:
        """Fork the workflow from `start_step`; the new workflow's ID."""
        return self.client.fork_workflow(workflow_id, start_step).workflow_id


def _number(value: float) -> str:
    return f"{value:g}"


def queue_settings(stored: StoredQueue) -> list[tuple[str, str, str]]:
    """A stored queue's settings for people, as (key, label, value) triples in a fixed order;
    a limit that is not set is left out (an unlimited queue shows only its polling interval)."""
    out: list[tuple[str, str, str]] = []
    if stored.concurrency is not None:
        out.append(("concurrency", "concurrency", str(stored.concurrency)))
    if stored.worker_concurrency is not None:
        out.append(("worker_concurrency", "per process", str(stored.worker_concurrency)))
    if stored.rate_limit_max is not None:
        period = _number(stored.rate_limit_period_sec or 0)
        out.append(("limiter", "rate limit", f"{stored.rate_limit_max} per {period}s"))
    if stored.priority_enabled:
        out.append(("priority_enabled", "priority", "on"))
    if stored.partition_queue:
        out.append(("partition_queue", "partitioned", "yes"))
    if stored.partition_concurrency is not None:
        out.append(("partition_concurrency", "per partition", str(stored.partition_concurrency)))
    if stored.partition_worker_concurrency is not None:
        value = str(stored.partition_worker_concurrency)
        out.append(("partition_worker_concurrency", "per partition per process", value))
    if stored.partition_rate_limit_max is not None:
        period = _number(stored.partition_rate_limit_period_sec or 0)
        value = f"{stored.partition_rate_limit_max} per {period}s"
        out.append(("partition_limiter", "partition rate limit", value))
    polling = _number(stored.polling_interval_sec)
    out.append(("polling_interval_sec", "polling interval", f"{polling}s"))
    if stored.application_name is not None:
        out.append(("application_name", "app", stored.application_name))
    return out


def timeline(steps: Iterable[StepInfo]) -> Timeline:
    """Place steps on one time axis (a step still running ends now)."""
    listed = list(steps)
    now = int(time.time() * 1000)
    starts = [s["started_at_epoch_ms"] for s in listed if s["started_at_epoch_ms"] is not None]
    if not starts:
        return Timeline([(step, 0.0, 0.0) for step in listed], 0)
    first = min(starts)
    ends = [s["completed_at_epoch_ms"] or now for s in listed]
    span = max(max(ends) - first, 1)
    rows = []
    for step in listed:
        started = step["started_at_epoch_ms"]
        if started is None:
            rows.append((step, 0.0, 0.0))
            continue
        ended = step["completed_at_epoch_ms"] or now
        left = min(100.0 * (started - first) / span, 99.5)
        width = max(100.0 * (ended - started) / span, 0.5)
        rows.append((step, round(left, 2), round(min(width, 100.0 - left), 2)))
    return Timeline(rows, span)
