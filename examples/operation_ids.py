"""Operation IDs, numbered as in DBOS Transact 3.4.

Run it with ``python examples/operation_ids.py``. It uses the embedded SQLite default (a file in
a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

A workflow's operations count from 1: its steps see their ID as ``DBOS.step_id``, a child
workflow started at operation N is named ``<parent ID>-N``, awaiting the child's result is an
operation of its own (``DBOS.getResult``), and ``fork_workflow(id, n)`` re-runs operation n and
everything after it (``fork_workflow(id, 1)``: the whole workflow).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dbos import DBOS, SetWorkflowID

runs: dict[str, int] = {"reserve": 0, "charge": 0}


@DBOS.step()
def reserve(item: str) -> str:
    runs["reserve"] += 1
    return f"{item} reserved at step {DBOS.step_id}"


@DBOS.workflow()
def invoice(item: str) -> str:
    return f"invoice for {item}"


@DBOS.step()
def charge(item: str) -> str:
    runs["charge"] += 1
    return f"{item} charged at step {DBOS.step_id}"


@DBOS.workflow()
def order(item: str) -> list[str]:
    reserved = reserve(item)  # operation 1
    child = DBOS.start_workflow(invoice, item)  # operation 2: the child "<ID>-2"
    text = child.get_result()  # operation 3: DBOS.getResult
    return [reserved, child.workflow_id, text, charge(item)]  # charge: operation 4


def main() -> None:
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{Path(folder) / 'operation_ids.sqlite'}"
        DBOS(config={"name": "operation-ids", "system_database_url": url})
        DBOS.launch()
        try:
            with SetWorkflowID("order-1"):
                print(f"run: {order('lamp')}")
            for step in DBOS.list_workflow_steps("order-1"):
                print(f"step {step['function_id']}: {step['function_name'].rsplit('.', 1)[-1]}")
            DBOS.fork_workflow("order-1", 4).get_result()
            print(f"fork from 4: reserved {runs['reserve']}x, charged {runs['charge']}x")
            DBOS.fork_workflow("order-1", 1).get_result()
            print(f"fork from 1: reserved {runs['reserve']}x, charged {runs['charge']}x")
        finally:
            DBOS.destroy()


if __name__ == "__main__":
    main()
