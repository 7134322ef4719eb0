"""Queues stored in the system database (DBOS Transact 3.4's ``queues`` table): the stored
row, a change to some of its settings, and how many tasks wait on and run from each queue."""

from __future__ import annotations

from dataclasses import dataclass

from ._records import QueueSpec

#: The settings `SystemStorage.update_queue` may change, by column name: the ones DBOS
#: Transact 3.4's `Queue` setters write.
QUEUE_SETTINGS = (
    "concurrency",
    "worker_concurrency",
    "rate_limit_max",
    "rate_limit_period_sec",
    "polling_interval_sec",
    "partition_concurrency",
    "partition_worker_concurrency",
    "partition_rate_limit_max",
    "partition_rate_limit_period_sec",
)


@dataclass(frozen=True, slots=True)
class StoredQueue:
    """One row of the ``queues`` table (DBOS Transact 3.4's columns).

    `concurrency` bounds the queue's tasks running at once across all processes and
    `worker_concurrency` those running in one process; at most `rate_limit_max` start per
    `rate_limit_period_sec` seconds. A queue is partitioned when `partition_queue` is set (3.4
    sets it whenever a ``partition_*`` limit is): `partition_concurrency` and the partition
    rate limit then bound each partition on its own across all processes, and
    `partition_worker_concurrency` each partition within one process, while `concurrency`,
    `worker_concurrency` and the rate limit still bound the whole queue. `application_name`
    is the app that declared the queue (None: any). Times are epoch milliseconds, set by the
    backend.
    """

    name: str
    concurrency: int | None = None
    worker_concurrency: int | None = None
    rate_limit_max: int | None = None
    rate_limit_period_sec: float | None = None
    priority_enabled: bool = False
    partition_queue: bool = False
    polling_interval_sec: float = 1.0
    partition_concurrency: int | None = None
    partition_worker_concurrency: int | None = None
    partition_rate_limit_max: int | None = None
    partition_rate_limit_period_sec: float | None = None
    application_name: str | None = None
    created_at_ms: int = 0
    updated_at_ms: int = 0

    def settings(self) -> tuple[object, ...]:
        """The stored settings, without names or times: equal for two declarations of the
        same queue."""
        return (
            self.concurrency,
            self.worker_concurrency,
            self.rate_limit_max,
            self.rate_limit_period_sec,
            self.priority_enabled,
            self.partition_queue,
            self.polling_interval_sec,
            self.partition_concurrency,
            self.partition_worker_concurrency,
            self.partition_rate_limit_max,
            self.partition_rate_limit_period_sec,
        )

    def spec(self) -> QueueSpec:
        """The limits a claim applies (DBOS Transact 3.4's meanings): `concurrency`,
        `worker_concurrency` and the rate limit bound the whole queue, partitioned or not; the
        ``partition_*`` settings bound each partition of a partitioned queue."""
        return QueueSpec(
            name=self.name,
            concurrency=self.concurrency,
            worker_concurrency=self.worker_concurrency,
            limit=self.rate_limit_max,
            period_s=self.rate_limit_period_sec,
            priority_enabled=self.priority_enabled,
            partitioned=self.partition_queue,
            partition_concurrency=self.partition_concurrency if self.partition_queue else None,
            partition_worker_concurrency=(
                self.partition_worker_concurrency if self.partition_queue else None
            ),
            partition_limit=self.partition_rate_limit_max if self.partition_queue else None,
            partition_period_s=(
                self.partition_rate_limit_period_sec if self.partition_queue else None
            ),
        )


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """A queue's tasks now (output of `SystemStorage.queue_depths`): `enqueued` wait
    (ENQUEUED), `pending` run (PENDING), across all processes."""

    queue_name: str
    enqueued: int
    pending: int
