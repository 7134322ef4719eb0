"""`DBOSClient.enqueue_in_transaction`, `send_in_transaction` and `send_bulk_in_transaction`
(issue 14, item 4): the app's
own rows and the durable work commit together or not at all, when the system database is
also the app's Postgres database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dbos import DBOS, DBOSException, Queue, SendMessage
from dbos_client import DBOSClient

Launch = Callable[..., None]


@pytest.fixture
def app_engine(dbos_backend: str, dbos_system_database_url: str) -> Iterator[sa.Engine]:
    if dbos_backend != "postgres":
        pytest.skip("the app's transaction is the system database's: a Postgres matter")
    engine = sa.create_engine(
        sa.make_url(dbos_system_database_url).set(drivername="postgresql+psycopg")
    )
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id TEXT PRIMARY KEY, amount FLOAT)"))
    yield engine
    engine.dispose()


def orders(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT id, amount FROM orders"))]


def test_enqueue_commits_or_rolls_back_with_the_apps_rows(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    queue = Queue("in_tx_bills")

    @DBOS.workflow(name="bill")
    def bill(order_id: str, amount: float, *, currency: str) -> str:
        return f"billed {order_id} {amount} {currency}"

    launch()
    insert = sa.text("INSERT INTO orders (id, amount) VALUES (:id, :amount)")
    with DBOSClient(dbos_system_database_url) as client:
        with app_engine.begin() as conn:
            conn.execute(insert, {"id": "o-1", "amount": 12.5})
            handle = client.enqueue_in_transaction(
                conn,
                {"workflow_name": "bill", "queue_name": queue.name, "workflow_id": "bill-o-1"},
                "o-1",
                12.5,
                currency="EUR",
            )
        assert handle.get_result(timeout_seconds=60) == "billed o-1 12.5 EUR"

        with app_engine.connect() as conn:
            tx = conn.begin()
            conn.execute(insert, {"id": "o-2", "amount": 3.0})
            client.enqueue_in_transaction(
                conn,
                {"workflow_name": "bill", "queue_name": queue.name, "workflow_id": "bill-o-2"},
                "o-2",
                3.0,
                currency="EUR",
            )
            tx.rollback()
        assert client.get_workflow_status("bill-o-2") is None
        assert orders(app_engine) == [("o-1", 12.5)]

        # With a Session too, and a generated workflow ID.
        with Session(app_engine) as session, session.begin():
            session.execute(insert, {"id": "o-3", "amount": 1.0})
            third = client.enqueue_in_transaction(
                session,
                {"workflow_name": "bill", "queue_name": queue.name},
                "o-3",
                1.0,
                currency="USD",
            )
        assert third.get_result(timeout_seconds=60) == "billed o-3 1.0 USD"


def test_send_commits_or_rolls_back_with_the_apps_rows(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    @DBOS.workflow()
    def approver() -> Any:
        return DBOS.recv("approval", timeout_seconds=60)

    launch()
    handle = DBOS.start_workflow(approver)
    with DBOSClient(dbos_system_database_url) as client:
        with app_engine.connect() as conn:
            tx = conn.begin()
            client.send_in_transaction(conn, handle.workflow_id, {"ok": False}, "approval")
            tx.rollback()
        with app_engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO orders (id, amount) VALUES ('o-9', 9)"))
            client.send_in_transaction(
                conn, handle.workflow_id, {"ok": True}, "approval", idempotency_key="k-1"
            )
    assert handle.get_result() == {"ok": True}
    assert orders(app_engine) == [("o-9", 9.0)]


def test_send_bulk_commits_or_rolls_back_with_the_apps_rows(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    @DBOS.workflow()
    def collector(count: int) -> list[Any]:
        return [DBOS.recv("parts", timeout_seconds=60) for _ in range(count)]

    launch()
    first = DBOS.start_workflow(collector, 2)
    second = DBOS.start_workflow(collector, 1)
    batch = [
        SendMessage(first.workflow_id, "a", "parts"),
        SendMessage(second.workflow_id, {"only": 1}, "parts"),
        SendMessage(first.workflow_id, "b", "parts", idempotency_key="k-b"),
    ]
    with DBOSClient(dbos_system_database_url) as client:
        with app_engine.connect() as conn:
            tx = conn.begin()
            conn.execute(sa.text("INSERT INTO orders (id, amount) VALUES ('lost', 1)"))
            client.send_bulk_in_transaction(conn, [SendMessage(first.workflow_id, "x", "parts")])
            tx.rollback()
        with app_engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO orders (id, amount) VALUES ('o-b', 2)"))
            client.send_bulk_in_transaction(conn, batch)
            client.send_bulk_in_transaction(conn, [])  # nothing to send: nothing written
        # A bad message anywhere in the list: refused before the first is written.
        with app_engine.begin() as conn:
            with pytest.raises(DBOSException, match="must be a JSON value"):
                client.send_bulk_in_transaction(
                    conn, [SendMessage(second.workflow_id, "fine"), SendMessage("x", object())]
                )
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1  # still usable
        with app_engine.begin() as conn, pytest.raises(DBOSException, match="list of SendMessage"):
            client.send_bulk_in_transaction(conn, [("wf", "hello")])  # type: ignore[list-item]
    assert first.get_result() == ["a", "b"]
    assert second.get_result() == [{"only": 1}]
    assert orders(app_engine) == [("o-b", 2.0)]


def test_bad_input_is_refused_before_anything_is_written(
    dbos_system_database_url: str, dbos_storage: object, tmp_path: Any
) -> None:
    with DBOSClient(dbos_system_database_url) as client:
        sqlite = sa.create_engine(f"sqlite:///{tmp_path}/app.db")
        with sqlite.begin() as conn, pytest.raises(DBOSException, match="need a Postgres"):
            client.send_in_transaction(conn, "wf", "hello")
        options: Any = {"workflow_name": "bill", "queue_name": "q"}
        with sqlite.begin() as conn:
            with pytest.raises(DBOSException, match="return-existing"):
                client.enqueue_in_transaction(
                    conn, cast(Any, dict(options, duplication_policy="return-existing"))
                )
            with pytest.raises(DBOSException, match="does not support the option"):
                client.enqueue_in_transaction(conn, cast(Any, dict(options, attributes={"a": 1})))
            with pytest.raises(DBOSException, match="must be a JSON value"):
                client.enqueue_in_transaction(conn, options, object())
        sqlite.dispose()
