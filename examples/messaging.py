"""Messages, events, streams and a schedule, in one small program.

Run it with ``python examples/messaging.py``. It uses the embedded SQLite default (a file in a
temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. An order workflow publishes its progress as an event, waits for a payment message, and
   streams its shipping updates; the caller sends the payment and reads the stream.
2. A scheduled workflow runs every second for a few seconds.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime

from dbos import DBOS, SetWorkflowID


@DBOS.workflow()
def order(order_id: str) -> str:
    DBOS.set_event("status", "waiting for payment")
    payment = DBOS.recv("payment", timeout_seconds=30)
    if payment is None:
        DBOS.set_event("status", "cancelled: no payment")
        return "cancelled"
    DBOS.set_event("status", f"paid {payment['amount']}")
    for update in ("packed", "shipped", "delivered"):
        DBOS.write_stream("shipping", update)
        DBOS.sleep(0.2)
    DBOS.close_stream("shipping")
    return "done"


ticks: list[str] = []


@DBOS.scheduled("* * * * * *")  # every second (six fields: seconds first)
@DBOS.workflow()
def heartbeat(scheduled_time: datetime, actual_time: datetime) -> None:
    ticks.append(scheduled_time.isoformat())


def main() -> None:
    folder = tempfile.mkdtemp(prefix="dbos-messaging-")
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "messaging-example", "system_database_url": url})
    DBOS.launch()
    try:
        with SetWorkflowID("order-42"):
            handle = DBOS.start_workflow(order, "42")
        print("status:", DBOS.get_event("order-42", "status"))
        DBOS.send("order-42", {"amount": 19.99}, topic="payment")
        for update in DBOS.read_stream("order-42", "shipping"):
            print("shipping:", update)
        print("result:", handle.get_result(), "| status:", DBOS.get_event("order-42", "status"))
        time.sleep(2.5)
        print("heartbeat ticks so far:", len(ticks))
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
