"""Waiting on many, bulk and idempotent sends, events and stream offsets, in one program.

Run it with ``python examples/bulk_messages.py``. It uses the embedded SQLite default (a file
in a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. A dispatcher starts three courier workflows and takes the first that answers
   (`DBOS.wait_first`, recorded: a recovered dispatcher picks the same courier).
2. A script sends an inbox workflow several notices with one `send_bulk`, and retries a
   payment notice with an idempotency key: the inbox gets it once, even after receiving it.
3. `get_all_events`, `read_stream_offset` and `read_stream(offset=...)` read what a courier
   published.
"""

from __future__ import annotations

import os
import tempfile

from dbos import DBOS, SendMessage, SetWorkflowID


@DBOS.workflow()
def courier(name: str, minutes: float) -> str:
    DBOS.set_event("eta", minutes)
    DBOS.write_stream("route", f"{name}: leaving")
    DBOS.sleep(minutes / 10)  # a tenth of a second per "minute"
    DBOS.write_stream("route", f"{name}: arrived")
    DBOS.close_stream("route")
    return name


@DBOS.workflow()
def inbox() -> list[str]:
    got: list[str] = []
    while (notice := DBOS.recv("notices", timeout_seconds=30)) not in (None, "closing"):
        got.append(str(notice))
        DBOS.set_event("received", len(got))
    return got


@DBOS.workflow()
def dispatch(order_id: str) -> str:
    handles = []
    for name, minutes in (("ana", 9), ("bo", 2), ("cy", 5)):
        with SetWorkflowID(f"{order_id}-{name}"):
            handles.append(DBOS.start_workflow(courier, name, minutes))
    first = DBOS.wait_first(handles)
    return str(first.get_result())


def main() -> None:
    folder = tempfile.mkdtemp(prefix="dbos-bulk-")
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "bulk-messages-example", "system_database_url": url})
    DBOS.launch()
    try:
        with SetWorkflowID("order-7"):
            winner = DBOS.start_workflow(dispatch, "order-7").get_result()
        print("first courier:", winner)
        with SetWorkflowID("inbox-7"):
            box = DBOS.start_workflow(inbox)
        DBOS.send_bulk([SendMessage("inbox-7", f"courier {n} booked", "notices") for n in "abc"])
        for _ in range(3):  # a retrying script: delivered once
            DBOS.send("inbox-7", "order 7 is paid", "notices", idempotency_key="paid-7")
        while DBOS.get_event("inbox-7", "received", timeout_seconds=10) != 4:
            pass
        # Received already, and still refused: the key is remembered.
        DBOS.send("inbox-7", "order 7 is paid", "notices", idempotency_key="paid-7")
        DBOS.send("inbox-7", "closing", "notices")
        print("inbox:", box.get_result())
        print("bo's first stop:", DBOS.read_stream_offset("order-7-bo", "route", 0))
        print("bo's route from 1:", list(DBOS.read_stream("order-7-bo", "route", offset=1)))
        print("ana's events:", DBOS.get_all_events("order-7-ana"))
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
