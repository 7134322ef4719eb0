"""A rolling deploy from v1 to v2 that strands nothing.

Run it with ``python examples/rolling_deploy.py``. It uses the embedded SQLite default (a file
in a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. A process of v1 starts order-1, which prices the order (v1 prices by count) and waits for
   the warehouse. The process is then stopped: v1 is drained of processes, and order-1 is left
   PENDING on a version nobody serves, stranded.
2. This process runs v2, which prices by weight under ``DBOS.patch("price-by-weight")``. It
   finds order-1 stranded (`count_stranded_workflows`), moves it to v2
   (`move_workflows_to_version`) and starts order-2. order-1 keeps v1's price (its history
   says so: the patch returns False), order-2 takes v2's; each step runs once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from dbos import DBOS, SetWorkflowID

#: Both versions of the code are in this one file: CODE says which one this process runs,
#: and is also the application version it serves.
CODE = os.environ.get("ROLLING_DEPLOY_EXAMPLE_CODE", "v2")


@DBOS.step()
def price_by_count(order_id: str) -> str:
    print(f"  [{CODE}, pid {os.getpid()}] pricing {order_id} by count")
    return "priced by count"


@DBOS.step()
def price_by_weight(order_id: str) -> str:
    print(f"  [{CODE}, pid {os.getpid()}] pricing {order_id} by weight")
    return "priced by weight"


@DBOS.step()
def ship(order_id: str, parcel: str) -> str:
    print(f"  [{CODE}, pid {os.getpid()}] shipping {order_id}")
    return f"shipped {parcel}"


@DBOS.workflow()
def order(order_id: str) -> str:
    if CODE == "v2" and DBOS.patch("price-by-weight"):
        price = price_by_weight(order_id)
    else:
        price = price_by_count(order_id)
    DBOS.set_event("price", price)
    parcel = DBOS.recv("warehouse", timeout_seconds=120)
    return f"{price}, {ship(order_id, parcel)}"


def configure(url: str) -> None:
    DBOS(config={"name": "rolling-deploy-example", "system_database_url": url,
                 "application_version": CODE})  # fmt: skip


def v1_process(url: str) -> None:
    configure(url)
    DBOS.launch()
    with SetWorkflowID("order-1"):
        DBOS.start_workflow(order, "order-1")
    DBOS.get_event("order-1", "price", timeout_seconds=30)
    # Stopped while order-1 waits: a clean stop releases the lease at once.
    DBOS.destroy()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-rolling-deploy-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    print("1. a v1 process starts order-1, then v1 is stopped while order-1 waits")
    env = {**os.environ, "ROLLING_DEPLOY_EXAMPLE_CODE": "v1"}
    subprocess.run([sys.executable, __file__, "v1", url], env=env, check=True)

    print("2. v2 runs: it finds order-1 stranded, moves it to v2, and starts order-2")
    configure(url)
    DBOS.launch()
    try:
        for count in DBOS.count_stranded_workflows():
            print(f"  stranded on {count['application_version']}: {count['pending']} pending, "
                  f"{count['enqueued']} enqueued")  # fmt: skip
        stranded = [w.workflow_id for w in DBOS.list_workflows(stranded=True, load_input=False)]
        moved = DBOS.move_workflows_to_version(stranded, DBOS.application_version)
        print(f"  moved to {DBOS.application_version}: {', '.join(moved)}")
        with SetWorkflowID("order-2"):
            DBOS.start_workflow(order, "order-2")
        for order_id in ("order-1", "order-2"):
            DBOS.get_event(order_id, "price", timeout_seconds=30)
            DBOS.send(order_id, f"parcel for {order_id}", "warehouse")
        for order_id in ("order-1", "order-2"):
            result = DBOS.retrieve_workflow(order_id).get_result()
            steps = [step["function_name"] for step in DBOS.list_workflow_steps(order_id)]
            print(f"  {order_id}: {result}\n    steps: {', '.join(steps)}")
        print(f"  stranded now: {DBOS.count_stranded_workflows()}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    if sys.argv[1:2] == ["v1"]:
        v1_process(sys.argv[2])
    else:
        main()
