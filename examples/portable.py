"""Portable JSON workflows: work other languages (and SQL) can start and read, with argument
validation.

Run it with ``python examples/portable.py``. It uses the embedded SQLite default (a file in a
temporary folder) unless DBOS_SYSTEM_DATABASE_URL names another system database; on Postgres
it also enqueues a workflow from plain SQL (``dbos.enqueue_workflow``), in one transaction
with an insert of its own.

1. A workflow declared with ``serialization_type=PORTABLE`` is enqueued with a datetime and a
   Decimal: they are stored as plain JSON (what a TypeScript or Go program would write and
   read), and the workflow gets them back as a datetime and a Decimal (coerced to its type
   hints). Its result is portable JSON too.
2. A workflow declared with ``validate_args=pydantic_args_validator`` refuses stored
   arguments that do not fit its hints (skipped when pydantic is not installed).
3. A portable error: what the workflow raised, as `PortableWorkflowError` (name, message,
   code, data).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from dbos import (
    DBOS,
    EnqueueOptions,
    PortableWorkflowError,
    Queue,
    SetWorkflowID,
    WorkflowSerializationFormat,
    pydantic_args_validator,
)

PORTABLE = WorkflowSerializationFormat.PORTABLE
invoices = Queue("invoices")


@DBOS.workflow(name="bill", serialization_type=PORTABLE)
def bill(customer: str, due: dt.datetime, amount: Decimal) -> dict[str, object]:
    print(f"  billing {customer}: {amount} ({type(amount).__name__}) due {due.date()}")
    return {"customer": customer, "due": due, "amount": amount}


@DBOS.workflow(name="refuse", serialization_type=PORTABLE)
def refuse(customer: str) -> None:
    raise PortableWorkflowError(f"{customer} is blocked", "BlockedCustomer", 403, {"why": "fraud"})


#: Argument validation needs the optional pydantic (``dbos-core[pydantic]``).
HAVE_PYDANTIC = importlib.util.find_spec("pydantic") is not None
if HAVE_PYDANTIC:

    @DBOS.workflow(name="checked", validate_args=pydantic_args_validator)
    def checked(customer: str, count: int) -> int:
        return count


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dbos-portable-"))
    url = os.environ.get("DBOS_SYSTEM_DATABASE_URL", f"sqlite:///{folder}/dbos.sqlite")
    DBOS(config={"name": "portable-example", "system_database_url": url})
    DBOS.launch()
    try:
        due = dt.datetime(2030, 1, 31, tzinfo=dt.timezone.utc)
        handle = invoices.enqueue(bill, "acme", due, Decimal("12.50"))
        print("stored result:", handle.get_result())

        if HAVE_PYDANTIC:
            # By name (as another service would): "three" does not fit `count: int`.
            options: EnqueueOptions = {"workflow_name": "checked", "queue_name": "invoices"}
            bad = DBOS.enqueue_workflow_with_options(options, "acme", "three")
            try:
                bad.get_result()
            except ValueError as refused:
                print("refused:", str(refused).splitlines()[1].split(":")[0])
        else:
            print("refused: Argument 'count' (pydantic not installed: skipped)")

        try:
            with SetWorkflowID("refuse-1"):
                refuse("mallory")
        except PortableWorkflowError as error:
            print(f"portable error: {error.name} {error.code} {error.message} {error.data}")

        if url.startswith("postgresql"):
            import psycopg

            with psycopg.connect(url) as connection, connection.transaction():
                connection.execute("CREATE TABLE IF NOT EXISTS bills (id TEXT PRIMARY KEY)")
                row = connection.execute(
                    "SELECT dbos.enqueue_workflow('bill', 'invoices',"
                    " ARRAY['\"globex\"'::json, '\"2030-02-28T00:00:00Z\"'::json, '99'::json])"
                ).fetchone()
                assert row is not None
                connection.execute("INSERT INTO bills VALUES (%s)", (row[0],))
            print("from SQL:", DBOS.retrieve_workflow(row[0]).get_result())
    finally:
        DBOS.destroy()


if __name__ == "__main__":
    main()
