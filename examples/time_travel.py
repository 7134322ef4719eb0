"""Debouncing, rewinding, delaying, and cancelling and resuming a tree of workflows.

Run it with ``python examples/time_travel.py``. It uses the embedded SQLite default (a file in
a temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database.

1. Debounce: a burst of edits to one document starts one reindexing workflow, with the last
   text, two seconds after the last edit.
2. Rewind: a receipt workflow delivered to a mail server that lost it; rewinding it to its
   delivery step delivers again, in place (same workflow ID), without rendering again.
3. Delay: a reminder enqueued for an hour from now is brought forward to now.
4. Cancel a tree, resume onto a queue (DBOS Transact 3.4's ``cancel_children`` and
   ``queue_name``): a campaign that scheduled reminders is cancelled with all of them; one
   reminder is then resumed onto the reminders queue, where it runs at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dbos import DBOS, Debouncer, Queue, SetEnqueueOptions, SetWorkflowID

reminders = Queue("reminders")
runs: dict[str, int] = {"render": 0, "deliver": 0}


@DBOS.workflow()
def reindex(document_id: str, text: str) -> str:
    return f"{document_id} indexed with {text!r}"


@DBOS.step()
def render(order_id: str) -> str:
    runs["render"] += 1
    return f"receipt for {order_id}"


@DBOS.step()
def deliver(text: str) -> str:
    runs["deliver"] += 1
    return f"delivered {text!r}"


@DBOS.workflow()
def send_receipt(order_id: str) -> str:
    return deliver(render(order_id))


@DBOS.workflow()
def remind(who: str) -> str:
    return f"reminded {who}"


@DBOS.workflow()
def campaign(name: str) -> str:
    for who in ("ada", "grace"):
        with SetWorkflowID(f"{name}-{who}"), SetEnqueueOptions(delay_seconds=3600):
            reminders.enqueue(remind, who)  # children of the campaign
    return f"{name} scheduled"


def main() -> None:
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL")
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{Path(folder) / 'time_travel.sqlite'}"
        DBOS(config={"name": "time-travel", "system_database_url": url})
        DBOS.launch()
        try:
            debouncer = Debouncer.create(reindex, debounce_timeout_sec=30)
            handles = [
                debouncer.debounce("doc-7", 2.0, "doc-7", text) for text in ("H", "He", "Hello")
            ]
            print(f"debounce: {len({h.workflow_id for h in handles})} workflow for 3 edits")
            print(f"debounce: {handles[-1].get_result(timeout_seconds=60)}")

            with SetWorkflowID("receipt-1"):
                send_receipt("order-1")
            again = DBOS.rewind_workflow("receipt-1", start_step=2)
            print(f"rewind: {again.get_result(timeout_seconds=60)}")
            print(f"rewind: rendered {runs['render']}x, delivered {runs['deliver']}x")

            with SetWorkflowID("reminder-1"), SetEnqueueOptions(delay_seconds=3600):
                reminder = reminders.enqueue(remind, "ada")
            moved = DBOS.set_workflow_delay("reminder-1", delay_seconds=0)
            print(f"delay: moved={moved}, {reminder.get_result(timeout_seconds=60)}")

            with SetWorkflowID("campaign-1"):
                campaign("campaign-1")
            DBOS.cancel_workflow("campaign-1", cancel_children=True)
            children = DBOS.list_workflows(parent_workflow_id="campaign-1")
            print(f"cancel: children {sorted(child.status for child in children)}")
            resumed = DBOS.resume_workflow("campaign-1-ada", queue_name=reminders.name)
            result = resumed.get_result(timeout_seconds=60)
            status = DBOS.get_workflow_status("campaign-1-ada")
            print(f"resume: {result} on {status.queue_name if status else None}")
        finally:
            DBOS.destroy()


if __name__ == "__main__":
    main()
