"""Transactions in your database: a Flask handler places an order through a workflow whose
database writes are datasource transactions, each committed exactly once.

Run it with ``python examples/transactions.py`` (needs ``pip install flask
'dbos-core[sqlalchemy]'``). It uses SQLite files in a temporary folder for both databases,
unless DBOS_SYSTEM_DATABASE_URL and DBOS_APP_DATABASE_URL name others (a Postgres URL works
for either). The requests go through Flask's test client, so no port is opened.

1. POST /orders with an Idempotency-Key header: the workflow (ID = the key) inserts the order
   (transaction), charges the card (a plain step), marks the order paid (transaction).
2. The same request again: the workflow's recorded results are returned; nothing is written
   twice (the table still holds one order).
3. Once the workflow finished, its checkpoint rows in the application database are gone.
4. Only when both URLs name the same Postgres database: POST /orders/queued writes an order
   and enqueues its fulfilment workflow in one transaction (`enqueue_in_transaction`): both
   commit, or neither.
5. The same handler failing after both writes (a quantity over the stock): its transaction
   rolls back, leaving neither the order nor the workflow.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, request

from dbos import DBOS, Queue, SetWorkflowID, SQLAlchemyDatasource
from dbos_client import DBOSClient, EnqueueOptions

folder = Path(tempfile.mkdtemp(prefix="dbos-transactions-"))
system_url = os.environ.get("DBOS_SYSTEM_DATABASE_URL") or f"sqlite:///{folder / 'dbos.sqlite'}"
app_url = os.environ.get("DBOS_APP_DATABASE_URL") or f"sqlite:///{folder / 'shop.sqlite'}"

DBOS(config={"name": "shop", "system_database_url": system_url})
db = SQLAlchemyDatasource.create(app_url)

metadata = sa.MetaData()
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
)
metadata.create_all(db.engine)


@db.transaction()
def insert_order(item: str) -> int:
    query = sa.insert(orders).values(item=item, status="new").returning(orders.c.id)
    return int(db.sql_session().execute(query).scalar_one())


@DBOS.step()
def charge_card(order_id: int) -> str:
    return f"charge-{order_id}"  # a call to a payment service, at least once


@db.transaction()
def mark_paid(order_id: int, charge: str) -> str:
    db.sql_session().execute(
        sa.update(orders).where(orders.c.id == order_id).values(status=f"paid ({charge})")
    )
    return "paid"


@DBOS.workflow()
def place_order(item: str) -> dict[str, object]:
    order_id = insert_order(item)
    status = mark_paid(order_id, charge_card(order_id))
    return {"order": order_id, "status": status}


fulfilment = Queue("fulfilment")


@DBOS.workflow()
def fulfil(order_id: int) -> str:
    return f"fulfilled {order_id}"


app = Flask(__name__)


@app.post("/orders")
def post_order() -> dict[str, object]:
    with SetWorkflowID(request.headers["Idempotency-Key"]):
        return place_order(request.get_json()["item"])


@app.post("/orders/queued")
def post_queued_order() -> tuple[dict[str, object], int]:
    # One transaction: the order row and the enqueued workflow commit together, or neither.
    body = request.get_json()
    try:
        with DBOSClient(system_url) as client, db.engine.begin() as conn:
            query = sa.insert(orders).values(item=body["item"], status="queued")
            order_id = int(conn.execute(query.returning(orders.c.id)).scalar_one())
            options: EnqueueOptions = {
                "workflow_name": "fulfil",
                "queue_name": fulfilment.name,
                "workflow_id": f"fulfil-{body['item']}",
            }
            handle = client.enqueue_in_transaction(conn, options, order_id)
            if body.get("quantity", 1) > 10:  # found out after both writes: both undone
                raise ValueError("not enough stock")
    except ValueError as exc:
        return {"error": str(exc)}, 409
    return {"order": order_id, "workflow": handle.workflow_id}, 200


def count(query: sa.Select[Any]) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def main() -> None:
    DBOS.launch()
    try:
        client = app.test_client()
        headers = {"Idempotency-Key": "order-7f3a"}
        first = client.post("/orders", json={"item": "hat"}, headers=headers).get_json()
        print(f"1. order {first['order']} for a hat: {first['status']}")
        again = client.post("/orders", json={"item": "hat"}, headers=headers).get_json()
        rows = count(sa.select(sa.func.count()).select_from(orders))
        print(f"2. the same key again: order {again['order']}, {rows} order in the table")
        outputs = sa.table("datasource_outputs", schema=db.schema)
        left = count(sa.select(sa.func.count()).select_from(outputs))
        print(f"3. checkpoint rows left after the workflow finished: {left}")
        if app_url == system_url and app_url.startswith("postgresql"):
            queued = client.post("/orders/queued", json={"item": "scarf"}).get_json()
            result = DBOS.retrieve_workflow(queued["workflow"]).get_result()
            print(f"4. order {queued['order']} and its workflow committed together: {result}")
            refused = client.post("/orders/queued", json={"item": "coat", "quantity": 99})
            coats = count(
                sa.select(sa.func.count()).select_from(orders).where(orders.c.item == "coat")
            )
            workflow = DBOS.get_workflow_status("fulfil-coat")
            error = refused.get_json()["error"]
            print(f"5. {refused.status_code} {error}: {coats} coat orders, workflow {workflow}")
    finally:
        DBOS.destroy()
        db.engine.dispose()


if __name__ == "__main__":
    main()
