"""Table bloat under a steady queue load (issue 17), on Postgres: run by hand.

Usage: python bench/bloat.py [POSTGRES_SERVER_URL] [--minutes 10] [--rate 200]
       [--retention-s 30] [--snapshot-s 120]

On a fresh database (created on the server, dropped at the end unless --keep): a producer
enqueues about --rate tasks a second while a launched DBOS process drains them (16 at a time);
every 10 seconds retention (`DBOS.garbage_collect`) deletes the workflows finished more than
--retention-s seconds ago. Throughout, a reader holds a REPEATABLE READ transaction open
(an old snapshot, as a long report or a forgotten session would), so vacuum cannot remove
what was deleted after it began; the reader lets go and starts over every --snapshot-s
seconds. Every minute, and at the end, it prints for each system table its live and dead
tuples (pg_stat_user_tables), its size with indexes (pg_total_relation_size) and when
autovacuum last ran. The claim is that sizes level off: what retention deletes, autovacuum
reclaims once no snapshot needs it, and the space is used again.

Autovacuum settings are the server's own; nothing is tuned for the run. On a server with
autovacuum off (test servers often are), the script runs a plain VACUUM of these tables once
a minute instead, as autovacuum would at its default naptime, and says so.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg

from dbos import DBOS, Queue

TABLES = ("workflow_status", "operation_outputs", "notifications", "workflow_events")
BLOAT_QUEUE = Queue("bloat_drain", worker_concurrency=16)


@DBOS.step()
def bloat_step(x: int) -> int:
    return x + 1


@DBOS.workflow()
def bloat_task(x: int) -> int:
    return bloat_step(bloat_step(x))


def report(url: str, label: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT relname, n_live_tup, n_dead_tup, pg_total_relation_size(relid),"
            " greatest(last_autovacuum, last_vacuum) FROM pg_stat_user_tables"
            " WHERE schemaname = 'dbos' AND relname = ANY(%s) ORDER BY relname",
            (list(TABLES),),
        ).fetchall()
    print(f"-- {label}")
    print(f"   {'table':<20} {'live':>9} {'dead':>9} {'size MB':>9}  last vacuum")
    for name, live, dead, size, vacuumed in rows:
        when = vacuumed.strftime("%H:%M:%S") if vacuumed else "-"
        print(f"   {name:<20} {live:>9} {dead:>9} {size / 1e6:>9.1f}  {when}")


def _autovacuum_on(url: str) -> bool:
    with psycopg.connect(url) as connection:
        row = connection.execute("SHOW autovacuum").fetchone()
    return row is not None and row[0] == "on"


def _vacuum(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for table in TABLES:
            connection.execute(f"VACUUM dbos.{table}".encode())


def old_snapshot_reader(url: str, hold_s: float, stop: threading.Event) -> None:
    """Keeps a REPEATABLE READ snapshot open, renewed every `hold_s` seconds."""
    with psycopg.connect(url) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        while not stop.is_set():
            connection.execute("SELECT count(*) FROM dbos.workflow_status").fetchone()
            stop.wait(hold_s)
            connection.rollback()


def producer(rate: float, stop: threading.Event, enqueued: list[int]) -> None:
    """Enqueues about `rate` tasks a second, in bursts of a tenth of a second."""
    burst = max(1, round(rate / 10))
    next_at = time.monotonic()
    while not stop.is_set():
        for i in range(burst):
            BLOAT_QUEUE.enqueue(bloat_task, i)
        enqueued[0] += burst
        next_at += 0.1
        stop.wait(max(0.0, next_at - time.monotonic()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "server",
        nargs="?",
        default=os.environ.get(
            "DBOS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
        ),
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0, help="tasks enqueued per second")
    parser.add_argument("--retention-s", type=float, default=30.0)
    parser.add_argument("--snapshot-s", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0:
        parser.error("--minutes and --rate must be positive")

    name = f"dbos_bloat_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    url = urlunsplit(urlsplit(args.server)._replace(path=f"/{name}"))
    stop = threading.Event()
    enqueued = [0]
    deleted = 0
    try:
        DBOS(config={"name": "bloat", "system_database_url": url})
        DBOS.launch()
        threads = [
            threading.Thread(target=old_snapshot_reader, args=(url, args.snapshot_s, stop)),
            threading.Thread(target=producer, args=(args.rate, stop, enqueued)),
        ]
        for thread in threads:
            thread.start()
        start = time.monotonic()
        end = start + args.minutes * 60
        next_report = start + 60
        autovacuum = _autovacuum_on(url)
        if not autovacuum:
            print("-- autovacuum is off on this server: VACUUM runs once a minute instead")
        while time.monotonic() < end:
            time.sleep(10)
            cutoff = datetime.now(timezone.utc) - timedelta(seconds=args.retention_s)
            deleted += DBOS.garbage_collect(cutoff)
            if time.monotonic() >= next_report:
                if not autovacuum:
                    _vacuum(url)
                minute = round((time.monotonic() - start) / 60)
                report(url, f"minute {minute}: {enqueued[0]} enqueued, {deleted} deleted")
                next_report += 60
        stop.set()
        for thread in threads:
            thread.join()
        report(url, f"end: {enqueued[0]} enqueued, {deleted} deleted by retention")
    finally:
        stop.set()
        DBOS.destroy()
        if not args.keep:
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
