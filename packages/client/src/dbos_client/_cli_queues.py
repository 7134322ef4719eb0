"""``dbos queue list`` and ``dbos queue set``: the stored queues (issue 15), their settings,
their tasks now and the processes that work on them, and changing a queue live."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import click

from dbos import DBOSException
from dbos.storage import LeaseHolder, QueueDepth, StoredQueue, SystemStorage

from ._cli_options import connection_options
from ._render import table, to_json

_COLUMNS = (
    "QUEUE",
    "CONCURRENCY",
    "WORKER",
    "LIMITER",
    "PARTITIONED",
    "POLL_S",
    "ENQUEUED",
    "PENDING",
    "LISTENERS",
)


def _limiter(limit: int | None, period: float | None) -> str | None:
    return None if limit is None else f"{limit}/{period:g}s"


def _listeners(name: str, leases: list[LeaseHolder]) -> list[str]:
    """The live processes that work on queue `name`, as ``executor@host:pid``."""
    return [
        f"{lease.executor_id}@{lease.host}:{lease.pid}"
        for lease in leases
        if lease.live and (lease.queues is None or name in lease.queues)
    ]


def queue_records(storage: SystemStorage) -> list[dict[str, Any]]:
    """Every stored queue with its settings, its ENQUEUED and PENDING counts and the live
    processes listening to it (three queries)."""
    queues: list[StoredQueue] = storage.list_queues()
    depths: dict[str, QueueDepth] = {d.queue_name: d for d in storage.queue_depths()}
    leases = storage.list_leases()
    records = []
    for queue in queues:
        depth = depths.get(queue.name, QueueDepth(queue.name, 0, 0))
        records.append(
            {
                "name": queue.name,
                "concurrency": queue.concurrency,
                "worker_concurrency": queue.worker_concurrency,
                "limiter": _limiter(queue.rate_limit_max, queue.rate_limit_period_sec),
                "priority_enabled": queue.priority_enabled,
                "partitioned": queue.partition_queue,
                "partition_concurrency": queue.partition_concurrency,
                "partition_worker_concurrency": queue.partition_worker_concurrency,
                "partition_limiter": _limiter(
                    queue.partition_rate_limit_max, queue.partition_rate_limit_period_sec
                ),
                "polling_interval_sec": queue.polling_interval_sec,
                "enqueued": depth.enqueued,
                "pending": depth.pending,
                "listeners": _listeners(queue.name, leases),
            }
        )
    return records


def _row(record: dict[str, Any]) -> list[object]:
    partitioned = None
    if record["partitioned"]:
        per = record["partition_concurrency"]
        partitioned = "yes" if per is None else f"yes, {per} each"
        if record["partition_worker_concurrency"] is not None:
            partitioned += f", {record['partition_worker_concurrency']} each per process"
        if record["partition_limiter"]:
            partitioned += f", {record['partition_limiter']} each"
    return [
        record["name"],
        record["concurrency"],
        record["worker_concurrency"],
        record["limiter"],
        partitioned,
        f"{record['polling_interval_sec']:g}",
        record["enqueued"],
        record["pending"],
        ", ".join(record["listeners"]) or None,
    ]


def print_queues(records: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(to_json(records))
    elif records:
        click.echo(table(_COLUMNS, [_row(record) for record in records]))
    else:
        click.echo("no queues are stored (an app stores its queues when it launches)")


def make_commands(
    settings: Callable[[], Any], reported: Callable[[Any], AbstractContextManager[None]]
) -> list[click.Command]:
    """The ``list`` and ``set`` commands of the ``dbos queue`` group, over the CLI's settings
    and error reporting."""

    @click.command("list")
    @connection_options
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
    def list_queues(as_json: bool) -> None:
        """List the stored queues: settings, tasks waiting (ENQUEUED) and running (PENDING),
        and the live processes that work on each."""
        current = settings()
        with reported(current):
            print_queues(queue_records(current.client().storage), as_json)

    @click.command("set")
    @click.argument("name")
    @connection_options
    @click.option("--concurrency", type=click.IntRange(min=0), help="Limit across processes.")
    @click.option("--worker-concurrency", type=click.IntRange(min=0), help="Limit per process.")
    @click.option(
        "--partition-concurrency", type=click.IntRange(min=0), help="Limit per partition."
    )
    @click.option(
        "--partition-worker-concurrency",
        type=click.IntRange(min=0),
        help="Limit per partition in one process.",
    )
    @click.option("--limit", type=click.IntRange(min=0), help="Rate limit: starts per period.")
    @click.option("--period", type=float, help="Rate limit: the period in seconds.")
    @click.option(
        "--partition-limit",
        type=click.IntRange(min=0),
        help="Rate limit of each partition: starts per period.",
    )
    @click.option(
        "--partition-period", type=float, help="Rate limit of each partition: the period (s)."
    )
    @click.option("--polling-interval", type=float, help="Seconds between idle polls.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
    def set_queue(
        name: str,
        concurrency: int | None,
        worker_concurrency: int | None,
        partition_concurrency: int | None,
        partition_worker_concurrency: int | None,
        limit: int | None,
        period: float | None,
        partition_limit: int | None,
        partition_period: float | None,
        polling_interval: float | None,
        as_json: bool,
    ) -> None:
        """Change the stored queue NAME live: every process applies the change within its
        polling interval. 0 removes a limit (--limit 0 removes the rate limit,
        --partition-limit 0 the partitions' one). The options are checked together and
        written at once: either all change or none does. Exits 1 if no queue NAME is stored
        or a value is refused."""
        changes: dict[str, Any] = {}
        if concurrency is not None:
            changes["global_concurrency"] = concurrency or None
        if worker_concurrency is not None:
            changes["worker_concurrency"] = worker_concurrency or None
        if partition_concurrency is not None:
            changes["partition_concurrency"] = partition_concurrency or None
        if partition_worker_concurrency is not None:
            changes["partition_worker_concurrency"] = partition_worker_concurrency or None
        for key, count, seconds, flags in (
            ("limiter", limit, period, ("--limit", "--period")),
            (
                "partition_limiter",
                partition_limit,
                partition_period,
                ("--partition-limit", "--partition-period"),
            ),
        ):
            if count == 0:
                changes[key] = None
            elif count is not None and seconds is not None:
                changes[key] = {"limit": count, "period": seconds}
            elif count is not None or seconds is not None:
                raise click.UsageError(
                    f"give {flags[0]} and {flags[1]} together ({flags[0]} 0 removes the limit)"
                )
        if polling_interval is not None:
            changes["polling_interval_sec"] = polling_interval
        if not changes:
            raise click.UsageError("give at least one setting to change (see --help)")
        current = settings()
        with reported(current):
            queue = current.client().retrieve_queue(name)
            if queue is None:
                # A DBOSException, so that `reported` prints it as every error: with its class.
                raise DBOSException(f"no queue named {name!r} is stored")
            queue.set_settings(**changes)
            records = [r for r in queue_records(current.client().storage) if r["name"] == name]
            print_queues(records, as_json)

    return [list_queues, set_queue]
