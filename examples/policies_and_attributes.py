"""Workflow ID reuse and duplication policies, and workflow attributes.

Run it with ``python examples/policies_and_attributes.py``. It uses the embedded SQLite
default (a file in a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system
database.

1. An order is placed under its order ID, tagged with its customer and region. Placing it
   again returns the first execution (the default policy); placing it again with
   ``workflow_id_reuse_policy="reject"`` is refused with `DBOSWorkflowIDInUseError`.
2. Two refund requests for one order are enqueued with one deduplication ID: the second,
   with ``duplication_policy="return-existing"``, gets the first one's handle.
3. The order's attributes are merged with its refund status, and orders are listed by
   attribute.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from dbos import (
    DBOS,
    DBOSWorkflowIDInUseError,
    Queue,
    SetEnqueueOptions,
    SetWorkflowAttributes,
    SetWorkflowID,
)

refunds = Queue("refunds")
#: Holds the refund until both requests are in, so that the second meets the first.
refund_gate = threading.Event()


@DBOS.step()
def charge(order_id: str, cents: int) -> str:
    print(f"  charging {cents} cents for {order_id}")
    return f"charged {order_id}"


@DBOS.workflow()
def place_order(order_id: str, cents: int) -> str:
    return charge(order_id, cents)


@DBOS.workflow()
def refund(order_id: str, reason: str) -> str:
    refund_gate.wait(30)
    DBOS.update_workflow_attributes(order_id, {"refund": reason}, merge=True)
    return f"refunded {order_id} ({reason})"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-policies-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "policies-example", "system_database_url": url})
    DBOS.launch()
    try:
        with SetWorkflowID("order-1"), SetWorkflowAttributes({"customer": "acme", "region": "eu"}):
            print("first:", place_order("order-1", 500))
        with SetWorkflowID("order-1"):
            print("again:", place_order("order-1", 999))  # the first execution's result
        try:
            with SetWorkflowID("order-1", workflow_id_reuse_policy="reject"):
                place_order("order-1", 999)
        except DBOSWorkflowIDInUseError as refused:
            print(f"refused: {refused.workflow_id} is {refused.workflow_status}")

        with SetEnqueueOptions(deduplication_id="refund-order-1"):
            first = refunds.enqueue(refund, "order-1", "damaged")
        with SetEnqueueOptions(
            deduplication_id="refund-order-1", duplication_policy="return-existing"
        ):
            second = refunds.enqueue(refund, "order-1", "late")
        print("same refund:", second.workflow_id == first.workflow_id)
        refund_gate.set()
        print("refund:", second.get_result())

        status = DBOS.get_workflow_status("order-1")
        # Sorted: Postgres (jsonb) gives keys back in its own order.
        print("attributes:", sorted((status.attributes or {}).items()) if status else None)
        found = DBOS.list_workflows(attributes={"customer": "acme", "refund": "damaged"})
        print("acme orders refunded as damaged:", [s.workflow_id for s in found])
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
