"""A breaking change shipped with a patch, across a real crash.

Run it with ``python examples/patching.py``. It uses the embedded SQLite default (a file in a
temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. A process runs the old code: `checkout` charges the card, then waits for the warehouse's
   message. It is killed (SIGKILL) while it waits.
2. This process runs the new code, which pays by wallet under ``DBOS.patch("pay-by-wallet")``,
   with the same pinned application version. It recovers the old checkout, which takes the old
   path (the card was charged once; nothing is paid twice), and starts a new checkout, which
   takes the new path and records the patch's marker step.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dbos import DBOS, SetWorkflowID

#: Both versions of the code are in this one file: CODE says which one this process runs.
CODE = os.environ.get("PATCHING_EXAMPLE_CODE", "new")
#: Pinned, so that processes of the new code recover the old code's workflows.
VERSION = "shop-1"


@DBOS.step()
def charge_card(order_id: str) -> str:
    print(f"  [pid {os.getpid()}] charging the card for {order_id}")
    return "card charged"


@DBOS.step()
def charge_wallet(order_id: str) -> str:
    print(f"  [pid {os.getpid()}] charging the wallet for {order_id}")
    return "wallet charged"


@DBOS.step()
def ship(order_id: str, parcel: str) -> str:
    return f"shipped {parcel}"


@DBOS.workflow()
def checkout(order_id: str) -> str:
    if CODE == "old":
        paid = charge_card(order_id)
    elif DBOS.patch("pay-by-wallet"):
        paid = charge_wallet(order_id)
    else:
        paid = charge_card(order_id)
    DBOS.set_event("status", paid)
    parcel = DBOS.recv("warehouse", timeout_seconds=60)
    return f"{paid}, {ship(order_id, parcel)}"


def configure(url: str) -> None:
    DBOS(config={"name": "patching-example", "system_database_url": url,
                 "application_version": VERSION})  # fmt: skip


def old_process(url: str, ready: Path) -> None:
    configure(url)
    DBOS.launch()
    with SetWorkflowID("order-1"):
        DBOS.start_workflow(checkout, "order-1")
    DBOS.get_event("order-1", "status", timeout_seconds=30)
    ready.touch()
    time.sleep(60)  # waiting for the warehouse, until killed


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-patching-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    ready = folder / "ready"
    print("1. the old code starts order-1, which waits for the warehouse; then it is killed")
    old = subprocess.Popen(
        [sys.executable, __file__, "old", url, str(ready)],
        env={**os.environ, "PATCHING_EXAMPLE_CODE": "old"},
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if old.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the old process did not start order-1")
        time.sleep(0.05)
    old.send_signal(signal.SIGKILL)
    old.wait()

    print("2. the new code recovers order-1 and starts order-2")
    configure(url)
    DBOS.launch()
    try:
        with SetWorkflowID("order-2"):
            new = DBOS.start_workflow(checkout, "order-2")
        for order_id in ("order-1", "order-2"):
            DBOS.get_event(order_id, "status", timeout_seconds=30)
            DBOS.send(order_id, f"parcel for {order_id}", "warehouse")
        results = {"order-1": DBOS.retrieve_workflow("order-1").get_result(),
                   "order-2": new.get_result()}  # fmt: skip
        for order_id, result in results.items():
            steps = [step["function_name"] for step in DBOS.list_workflow_steps(order_id)]
            print(f"  {order_id}: {result}\n    steps: {', '.join(steps)}")
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    if sys.argv[1:2] == ["old"]:
        old_process(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
