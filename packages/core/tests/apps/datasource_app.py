"""An app with datasource transactions, run as a real subprocess and killed with SIGKILL by
test_datasource_crashes.py.

Usage: python datasource_app.py SYSTEM_URL APP_URL WORKDIR MODE [async]

MODE ``kill_in_tx``: the second transaction announces itself (WORKDIR/reached) after its write
and waits, uncommitted, to be killed. ``kill_after_commit``: the process waits to be killed
after the second transaction committed, before its step record reaches the system database.
``recover``: launch (which recovers the workflow) and print its result as JSON.
``kill_first_after_commit``: as ``kill_after_commit``, for workflow ``just-b`` whose first
operation is transaction B (so nothing of it is recorded in the system database).
``serve_just_b``: launch, and print workflow ``just-b``'s result once a queue worker has run
it. Every run of a transaction body appends a line to WORKDIR/effects.log.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from dbos import (
    DBOS,
    AsyncSQLAlchemyDatasource,
    SetWorkflowID,
    SQLAlchemyDatasource,
    hookimpl,
)
from dbos.plugins import plugin_manager
from dbos.storage import StepRecord

SYSTEM_URL, APP_URL, WORKDIR, MODE = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
ASYNC = sys.argv[5:] == ["async"]
INSERT = sa.text("INSERT INTO orders (item) VALUES (:item)")


def effect(item: str) -> None:
    with (WORKDIR / "effects.log").open("a") as log:
        log.write(f"{item} {os.getpid()}\n")


def wait_to_be_killed() -> None:
    (WORKDIR / "reached").touch()
    while True:
        time.sleep(1)


class StopAfterCommit:
    """Stops the process between the two commits of transaction B."""

    @hookimpl
    def dbos_before_step_checkpoint(self, step: StepRecord) -> None:
        if step.function_name == "add_order" and step.output == json.dumps("added B"):
            wait_to_be_killed()


DBOS(config={"name": "datasource-app", "system_database_url": SYSTEM_URL})

if ASYNC:
    ads = asyncio.run(AsyncSQLAlchemyDatasource.create(APP_URL))

    @ads.transaction(name="add_order")
    async def add_order_async(item: str) -> str:
        effect(item)
        await ads.sql_session().execute(INSERT, {"item": item})
        if MODE == "kill_in_tx" and item == "B":
            wait_to_be_killed()
        return f"added {item}"

    @DBOS.workflow()
    async def orders_async() -> list[str]:
        return [await add_order_async("A"), await add_order_async("B")]

    @DBOS.workflow()
    async def just_b_async() -> list[str]:
        return [await add_order_async("B")]

else:
    ds = SQLAlchemyDatasource.create(APP_URL)

    @ds.transaction(name="add_order")
    def add_order(item: str) -> str:
        effect(item)
        ds.sql_session().execute(INSERT, {"item": item})
        if MODE == "kill_in_tx" and item == "B":
            wait_to_be_killed()
        return f"added {item}"

    @DBOS.workflow()
    def orders() -> list[str]:
        return [add_order("A"), add_order("B")]

    @DBOS.workflow()
    def just_b() -> list[str]:
        return [add_order("B")]


def main() -> None:
    if MODE in ("kill_after_commit", "kill_first_after_commit"):
        plugin_manager().register(StopAfterCommit())
    DBOS.launch()
    if MODE == "recover":
        result = DBOS.retrieve_workflow("orders").get_result()
    elif MODE == "serve_just_b":
        result = DBOS.retrieve_workflow("just-b").get_result(timeout_seconds=60)
    elif MODE == "kill_first_after_commit":
        with SetWorkflowID("just-b"):
            handle = DBOS.start_workflow(just_b_async if ASYNC else just_b)
        result = handle.get_result()
    else:
        with SetWorkflowID("orders"):
            handle = DBOS.start_workflow(orders_async if ASYNC else orders)
        result = handle.get_result()
    print(json.dumps({"result": result}), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
