"""Queue decisions that need no I/O: how many queued tasks a claim may take. Backends call
them from their claim procedures, so every backend applies the same limits; kept pure so they
are tested without a database."""

from __future__ import annotations

from ._records import PartitionLoad, QueueSpec


def claimable(queue: QueueSpec, capacity: int, running_global: int, started_in_period: int) -> int:
    """How many queued tasks may start now, under the limits on the whole queue.

    Args:
        queue: the queue's limits (`concurrency`, `limit` per `period_s`; on a partitioned
            queue too, where `partition_quotas` adds the per-partition limits).
        capacity: what this process may still take (its worker concurrency left, or a batch).
        running_global: the queue's tasks running now in every process.
        started_in_period: the queue's tasks started in the last `queue.period_s` seconds.
    """
    allowed = capacity
    if queue.concurrency is not None:
        allowed = min(allowed, queue.concurrency - running_global)
    if queue.limit is not None:
        allowed = min(allowed, queue.limit - started_in_period)
    return max(0, allowed)


def partition_room(queue: QueueSpec, load: PartitionLoad) -> int:
    """How many tasks of one partition may start now under the per-partition limits
    (`partition_concurrency` and `partition_limit` across all processes,
    `partition_worker_concurrency` in this process), at most its queued tasks."""
    allowed = load.queued
    if queue.partition_concurrency is not None:
        allowed = min(allowed, queue.partition_concurrency - load.running)
    if queue.partition_limit is not None:
        allowed = min(allowed, queue.partition_limit - load.started)
    if queue.partition_worker_concurrency is not None:
        allowed = min(allowed, queue.partition_worker_concurrency - load.mine)
    return max(0, allowed)


def partition_quotas(
    queue: QueueSpec, capacity: int, partitions: list[PartitionLoad]
) -> dict[str, int]:
    """How many tasks to claim from each partition of a partitioned queue.

    Each partition gets at most its `partition_room`; `capacity` (what this process may still
    take, already bounded by the whole-queue limits through `claimable`) is shared by all of
    them. Capacity is dealt out one task at a time, round robin, starting with the partition
    served least recently (never served first, then by key), so a partition with a deep
    backlog cannot starve the others: every partition with work gets a task before any gets a
    second.
    """
    room = {load.key: partition_room(queue, load) for load in partitions}
    order = sorted(
        (load for load in partitions if room[load.key] > 0),
        key=lambda load: (load.last_started_ms is not None, load.last_started_ms or 0, load.key),
    )
    quotas = dict.fromkeys((load.key for load in order), 0)
    left = capacity
    while left > 0 and order:
        served = order[:left]
        for load in served:
            quotas[load.key] += 1
        left -= len(served)
        order = [load for load in order if quotas[load.key] < room[load.key]]
    return {key: count for key, count in quotas.items() if count}
