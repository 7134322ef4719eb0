"""Datasource transactions against plain steps (issue 14): a workflow of three transactions
writing to the application database, against a workflow of three steps making the same
writes without the exactly-once checkpoint.

Usage: python bench/transactions.py [POSTGRES_SERVER_URL] [--workflows N]

Two fresh databases on the server (system and application) are created and dropped. Prints
workflows/s and transactions/s of each kind, and the application-database round trips per
transaction: statements sent plus BEGIN and COMMIT (psycopg sends BEGIN with the first
statement of a transaction, as its own message; counted through SQLAlchemy's events).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import event

from dbos import DBOS, SQLAlchemyDatasource

INSERT = sa.text("INSERT INTO bench_orders (item) VALUES (:item)")


def with_database(url: str, name: str) -> str:
    return str(sa.make_url(url).set(database=name).render_as_string(hide_password=False))


def count_round_trips(engine: sa.Engine, counts: Counter[str]) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        counts["statements"] += 1

    @event.listens_for(engine, "begin")
    def _begin(_: Any) -> None:
        counts["begins"] += 1

    @event.listens_for(engine, "commit")
    def _commit(_: Any) -> None:
        counts["commits"] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "url",
        nargs="?",
        default=os.environ.get(
            "DBOS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workflows", type=int, default=200)
    options = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    names = (f"bench_sys_{suffix}", f"bench_app_{suffix}")
    with psycopg.connect(options.url, autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        run(with_database(options.url, names[0]), with_database(options.url, names[1]), options)
    finally:
        DBOS.destroy()
        with psycopg.connect(options.url, autocommit=True) as admin:
            for name in names:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


def run(system_url: str, app_url: str, options: argparse.Namespace) -> None:
    DBOS(config={"name": "bench-transactions", "system_database_url": system_url})
    ds = SQLAlchemyDatasource.create(app_url, engine_kwargs={"pool_size": 4})
    with ds.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_orders (id SERIAL PRIMARY KEY, item TEXT)"))
    plain_engine = sa.create_engine(sa.make_url(app_url).set(drivername="postgresql+psycopg"))
    tx_counts: Counter[str] = Counter()
    step_counts: Counter[str] = Counter()
    count_round_trips(ds.engine, tx_counts)
    count_round_trips(plain_engine, step_counts)

    @ds.transaction(isolation_level="READ COMMITTED")
    def tx_write(item: str) -> str:
        ds.sql_session().execute(INSERT, {"item": item})
        return item

    @DBOS.workflow()
    def three_transactions(n: int) -> list[str]:
        return [tx_write(f"{n}-{i}") for i in range(3)]

    @DBOS.step()
    def step_write(item: str) -> str:
        with plain_engine.begin() as conn:
            conn.execute(INSERT, {"item": item})
        return item

    @DBOS.workflow()
    def three_steps(n: int) -> list[str]:
        return [step_write(f"{n}-{i}") for i in range(3)]

    DBOS.launch()
    for workflow in (three_transactions, three_steps):  # warm up both
        workflow(-1)
    tx_counts.clear()
    step_counts.clear()
    results = {}
    for label, workflow, counts in (
        ("3 transactions", three_transactions, tx_counts),
        ("3 plain steps", three_steps, step_counts),
    ):
        started = time.perf_counter()
        for n in range(options.workflows):
            workflow(n)
        elapsed = time.perf_counter() - started
        writes = 3 * options.workflows
        trips = counts["statements"] + counts["begins"] + counts["commits"]
        results[label] = (options.workflows / elapsed, writes / elapsed, trips / writes)
    print(f"{options.workflows} sequential workflows each; application database on Postgres")
    print(f"{'':16} {'workflows/s':>12} {'writes/s':>10} {'app-DB round trips/write':>26}")
    for label, (wps, tps, trips) in results.items():
        print(f"{label:16} {wps:12.1f} {tps:10.1f} {trips:26.2f}")
    plain_engine.dispose()


if __name__ == "__main__":
    main()
