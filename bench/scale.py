"""The scale workload (issue 17): how claiming, listing by status, recovery and queue depths
cost as the system tables grow, on Postgres.

Run by bench/run.py (`nox -s bench`, or `python bench/run.py --only scale`); the table sizes
are 0 and 100,000 finished workflows by default, and `--scale-rows 1000000` adds a larger one.
Each size also holds a queued backlog of a tenth as many tasks (1,000,000 finished with
100,000 queued is the issue's target). Rows are inserted directly with generate_series, as a
busy application would have left them, and VACUUM ANALYZE runs before measuring (what
autovacuum does on a steady table). The statements are timed through the storage layer, one
call at a time, on a warm connection pool: latency, not throughput.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from dbos.storage import ClaimRequest, QueueSpec, WorkflowQuery
from dbos_postgres import PostgresStorage

#: Finished rows are the newest: the queued backlog sits behind them, the case where an
#: unindexed claim or listing would read the whole table. One in 1,000 finished with ERROR.
_FILL_FINISHED = """
INSERT INTO dbos.workflow_status (workflow_id, status, name, executor_id, application_version,
    created_at, updated_at, queue_name, started_at, output, inputs)
SELECT 'done-' || i, CASE WHEN i %% 1000 = 0 THEN 'ERROR' ELSE 'SUCCESS' END, 'scale_wf',
       'local', 'v1', 2000000000 + i, 2000000000 + i, 'scale', 2000000000 + i, '1', '[1]'
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
"""
_FILL_QUEUED = """
INSERT INTO dbos.workflow_status (workflow_id, status, name, application_version, created_at,
    updated_at, queue_name, inputs)
SELECT 'queued-' || i, 'ENQUEUED', 'scale_wf', 'v1', 1000000000 + i, 1000000000 + i,
       'scale', '[1]'
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS i
"""


@dataclass
class ScaleRow:
    """Latencies (ms) of each operation at one table size."""

    finished: int
    queued: int
    table_mb: float
    p50: dict[str, float]
    p99: dict[str, float]


def _fill(url: str, finished: tuple[int, int], queued: tuple[int, int]) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for statement, (start, stop) in ((_FILL_FINISHED, finished), (_FILL_QUEUED, queued)):
            if stop > start:
                connection.execute(statement.encode(), {"start": start + 1, "stop": stop})
        connection.execute("VACUUM ANALYZE dbos.workflow_status")


def _table_mb(url: str) -> float:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_total_relation_size('dbos.workflow_status')").fetchone()
    assert row is not None
    return float(row[0]) / 1e6


def _sample(fn: Callable[[], object], samples: int) -> list[float]:
    fn()  # warm: the pool's connection, the prepared statement
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p99(times: list[float]) -> float:
    return sorted(times)[min(len(times) - 1, round(len(times) * 0.99))]


def _measure(storage: PostgresStorage, url: str, samples: int) -> dict[str, list[float]]:
    instance = uuid.uuid4().hex
    # The same queue, seen by a claimer as having global limits: the claim then takes the
    # queue's lock and counts its running tasks and recent starts first.
    limited = QueueSpec("scale", concurrency=10**6, limit=10**6, period_s=1.0)

    def claim(queue: QueueSpec) -> Callable[[], object]:
        return lambda: storage.claim_queued(
            ClaimRequest(queue, "local", "v1", 1, ("scale_wf",), _now(), instance)
        )

    times = {
        "claim 1": _sample(claim(QueueSpec("scale")), samples),
        "claim 1 (queue with limits)": _sample(claim(limited), samples),
    }
    # Recovery then finds 10 workflows of this executor, at every size: the claims above
    # finish, but for the last 10.
    with psycopg.connect(url) as connection:
        connection.execute(
            "UPDATE dbos.workflow_status SET status = 'SUCCESS' WHERE status = 'PENDING'"
            " AND workflow_id NOT IN (SELECT workflow_id FROM dbos.workflow_status"
            " WHERE status = 'PENDING' ORDER BY started_at DESC LIMIT 10)"
        )
    operations: dict[str, Callable[[], object]] = {
        "list SUCCESS, newest 100": lambda: storage.list_workflows(
            WorkflowQuery(statuses=("SUCCESS",), limit=100, sort_desc=True)
        ),
        "list ERROR, newest 100": lambda: storage.list_workflows(
            WorkflowQuery(statuses=("ERROR",), limit=100, sort_desc=True)
        ),
        "list ENQUEUED, oldest 100": lambda: storage.list_workflows(
            WorkflowQuery(statuses=("ENQUEUED",), limit=100)
        ),
        "recover (10 pending)": lambda: storage.recover_pending("local", "v1", instance),
        "queue depths": storage.queue_depths,
    }
    times.update((name, _sample(fn, samples)) for name, fn in operations.items())
    return times


def _now() -> int:
    return int(time.time() * 1000)


def bench_scale(url: str, sizes: list[int], samples: int) -> list[ScaleRow]:
    """Fill `url`'s (fresh) database to each of `sizes` finished workflows in turn, with a
    tenth as many queued, and time each operation `samples` times at each size."""
    storage = PostgresStorage(url)
    storage.setup()
    rows: list[ScaleRow] = []
    finished = queued = 0
    try:
        for size in sorted(sizes):
            # The claims of the previous size took some of the backlog; top it up to size/10.
            with psycopg.connect(url) as connection:
                left = connection.execute(
                    "SELECT count(*) FROM dbos.workflow_status WHERE status = 'ENQUEUED'"
                ).fetchone()
            assert left is not None
            want_queued = max(size // 10, 2 * samples + 10)
            _fill(url, (finished, size), (queued, queued + max(0, want_queued - left[0])))
            queued += max(0, want_queued - left[0])
            finished = size
            times = _measure(storage, url, samples)
            rows.append(
                ScaleRow(
                    size,
                    want_queued,
                    _table_mb(url),
                    {k: statistics.median(v) for k, v in times.items()},
                    {k: _p99(v) for k, v in times.items()},
                )
            )
    finally:
        storage.close()
    return rows


def report(rows: list[ScaleRow]) -> None:
    """Print one line per operation, one column pair (median, p99, in ms) per table size."""
    print("Scale: latency (ms, median / p99) against table size")
    header = "".join(f"  {r.finished:>11,} done {r.queued:>9,} queued" for r in rows)
    print(f"  {'':<28}{header}")
    sizes = "".join(f"  {f'({r.table_mb:,.0f} MB)':>32}" for r in rows)
    print(f"  {'workflow_status + indexes':<28}{sizes}")
    for name in rows[0].p50:
        cells = "".join(f"  {r.p50[name]:>14.2f} / {r.p99[name]:>15.2f}" for r in rows)
        print(f"  {name:<28}{cells}")
