"""An app process for the rolling-deploy test: version 1 of the code, or version 2, which
changes how an order is priced under ``DBOS.patch("price-by-weight")``.

Usage: python deploy_app.py DATABASE_URL WORKDIR EXECUTOR_ID CODE

CODE is ``v1`` or ``v2``, and is also the application version the process serves. LEASE_S in
the environment sets ``process_lease_sec`` (default 2). The process writes WORKDIR/ready-<pid>
once launched, and stops (``DBOS.destroy``) once WORKDIR/stop-<executor> exists. Each step
body appends "<event> <order> <pid> <code>" to WORKDIR/effects.log.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from dbos import DBOS, Queue

URL, WORKDIR, EXECUTOR, CODE = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
LEASE_S = float(os.environ.get("LEASE_S", "2"))
Queue("orders", worker_concurrency=2, polling_interval_sec=0.05)


def log(event: str, order: str) -> None:
    with (WORKDIR / "effects.log").open("a") as effects:
        effects.write(f"{event} {order} {os.getpid()} {CODE}\n")


@DBOS.step()
def reserve(order: str) -> None:
    log("reserve", order)


@DBOS.step()
def price_by_count(order: str) -> str:
    log("price-by-count", order)
    return "priced by count"


@DBOS.step()
def price_by_weight(order: str) -> str:
    log("price-by-weight", order)
    return "priced by weight"


@DBOS.step()
def ship(order: str) -> None:
    log("ship", order)


@DBOS.workflow(name="deploy_app.order")
def order(order_id: str) -> str:
    reserve(order_id)
    if CODE == "v2" and DBOS.patch("price-by-weight"):
        price = price_by_weight(order_id)
    else:
        price = price_by_count(order_id)
    # The warehouse's go-ahead: orders wait here while the deploy goes on.
    DBOS.recv("ship", timeout_seconds=600)
    ship(order_id)
    return price


def main() -> None:
    DBOS(
        config={
            "name": "deploy-app",
            "system_database_url": URL,
            "executor_id": EXECUTOR,
            "application_version": CODE,
            "process_lease_sec": LEASE_S,
        }
    )
    DBOS.launch()
    (WORKDIR / f"ready-{os.getpid()}").touch()
    while not (WORKDIR / f"stop-{EXECUTOR}").exists():
        time.sleep(0.05)
    DBOS.destroy(workflow_completion_timeout_sec=0)


if __name__ == "__main__":
    main()
