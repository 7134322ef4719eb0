"""Queue decisions that need no I/O: how many queued tasks a claim may take. Backends call
them from their claim procedures, so every backend applies the same limits; kept pure so they
are tested without a database."""

from __future__ import annotations

from ._records import PartitionLoad, QueueSpec


def claimable(queue: QueueSpec, capacity: int, running_global: int, started_in_period: int) -> int:
    """How many queued tasks may start now.

    Args:
        queue: the queue's limits.
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


def partition_quotas(
    queue: QueueSpec, capacity: int, partitions: list[PartitionLoad]
) -> dict[str, int]:
    """How many tasks to claim from each partition of a partitioned queue.

    The queue's `concurrency` and rate limit apply to each partition on its own; `capacity`
    (what this process may still take) is shared by all of them. Capacity is dealt out one
    task at a time, round robin, starting with the partition served least recently (never
    served first, then by key), so a partition with a deep backlog cannot starve the others:
    every partition with work gets a task before any gets a second.
    """
    room = {
        load.key: min(load.queued, claimable(queue, load.queued, load.running, load.started))
        for load in partitions
    }
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
