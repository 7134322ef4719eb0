"""`DBOSClient.enqueue_in_transaction`, `send_in_transaction` and `send_bulk_in_transaction`
(issue 14, item 4): the app's
own rows and the durable work commit together or not at all, when the system database is
also the app's Postgres database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dbos import (
    DBOS,
    DBOSException,
    DBOSNonExistentWorkflowError,
    DBOSQueueDeduplicatedError,
    DBOSWorkflowConflictIDError,
    Queue,
    SendMessage,
    WorkflowSerializationFormat,
)
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
            # Checked before any statement, so the caller's transaction stays usable.
            bad_options: list[tuple[dict[str, Any], str]] = [
                ({"workflow_id": ""}, "'workflow_id' must be a non-empty string"),
                ({"priority": -1}, "'priority' must be an integer >= 0"),
                ({"queue_partition_key": ""}, "'queue_partition_key' must be a non-empty"),
                ({"instance_name": "i"}, "needs 'class_name' too"),
                ({"delay_seconds": True}, "delay_seconds must be a number"),
                ({"serialization_type": WorkflowSerializationFormat.NATIVE}, "portable JSON"),
            ]
            for bad, message in bad_options:
                with pytest.raises(DBOSException, match=message):
                    client.enqueue_in_transaction(conn, cast(Any, dict(options, **bad)))
            with pytest.raises(DBOSException, match="topic must be a non-empty"):
                client.send_in_transaction(conn, "wf", "hello", topic="")
            with pytest.raises(DBOSException, match="duplicate idempotency keys: k"):
                client.send_bulk_in_transaction(
                    conn, [SendMessage("a", 1, None, "k"), SendMessage("a", 2, None, "k")]
                )
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        sqlite.dispose()


def test_enqueue_takes_the_partition_key_and_other_queue_options(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    partitioned = Queue("in_tx_partitioned", partition_queue=True)
    ranked = Queue("in_tx_ranked", priority_enabled=True)

    @DBOS.workflow(name="ship")
    def ship(order_id: str) -> str:
        return f"shipped {order_id}"

    launch()
    options: Any = {"workflow_name": "ship", "queue_name": partitioned.name}
    with DBOSClient(dbos_system_database_url) as client:
        with app_engine.connect() as conn:
            tx = conn.begin()
            client.enqueue_in_transaction(
                conn,
                cast(Any, dict(options, workflow_id="p-lost", queue_partition_key="eu")),
                "o-0",
            )
            tx.rollback()
        with app_engine.begin() as conn:
            handle = client.enqueue_in_transaction(
                conn, cast(Any, dict(options, workflow_id="p-1", queue_partition_key="eu")), "o-1"
            )
            ranked_options: Any = {
                "workflow_name": "ship",
                "queue_name": ranked.name,
                "priority": 7,
                "serialization_type": WorkflowSerializationFormat.DEFAULT,  # 3.4's default
            }
            ranked_handle = client.enqueue_in_transaction(conn, ranked_options, "o-2")
        assert handle.get_result(timeout_seconds=60) == "shipped o-1"
        assert ranked_handle.get_result(timeout_seconds=60) == "shipped o-2"
        status = client.get_workflow_status("p-1")
        assert status is not None and status.queue_partition_key == "eu"
        ranked_status = client.get_workflow_status(ranked_handle.workflow_id)
        assert ranked_status is not None and ranked_status.priority == 7
        assert client.get_workflow_status("p-lost") is None


def test_enqueue_stores_the_clients_application_name(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    """As `DBOSClient.enqueue`: the workflow belongs to the client's application (3.4)."""
    queue = Queue("in_tx_apps")

    @DBOS.workflow(name="tag")
    def tag() -> str:
        return "tagged"

    launch()
    options: Any = {"workflow_name": "tag", "queue_name": queue.name}
    with DBOSClient(dbos_system_database_url, application_name="billing") as client:
        with app_engine.begin() as conn:
            handle = client.enqueue_in_transaction(conn, options)
        assert handle.get_result(timeout_seconds=60) == "tagged"
        status = client.get_workflow_status(handle.workflow_id)
        assert status is not None and status.application_name == "billing"
    with DBOSClient(dbos_system_database_url) as anonymous:
        with app_engine.begin() as conn:
            handle = anonymous.enqueue_in_transaction(conn, options)
        status = anonymous.get_workflow_status(handle.workflow_id)
        assert status is not None and status.application_name is None


def test_refusals_name_the_problem_as_enqueue_and_send_do(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    queue = Queue("in_tx_refusals")

    @DBOS.workflow(name="refund")
    def refund(order_id: str) -> str:
        return order_id

    @DBOS.workflow(name="other_refund")
    def other_refund(order_id: str) -> str:
        return order_id

    launch()
    insert = sa.text("INSERT INTO orders (id, amount) VALUES (:id, 1)")
    options: Any = {"workflow_name": "refund", "queue_name": queue.name}
    with DBOSClient(dbos_system_database_url) as client:
        with app_engine.begin() as conn:
            client.enqueue_in_transaction(conn, cast(Any, dict(options, workflow_id="r-1")), "o-1")
        # The same ID for another workflow: refused (enqueue refuses it too), nothing
        # written, and the caller's transaction goes on.
        with app_engine.begin() as conn:
            conn.execute(insert, {"id": "kept"})
            other: Any = dict(options, workflow_name="other_refund", workflow_id="r-1")
            with pytest.raises(DBOSWorkflowConflictIDError, match="already belongs to"):
                client.enqueue_in_transaction(conn, other, "o-1")
            again = client.enqueue_in_transaction(
                conn, cast(Any, dict(options, workflow_id="r-1")), "o-1"
            )
            assert again.workflow_id == "r-1"  # the same workflow again: its handle
        assert orders(app_engine) == [("kept", 1.0)]
        assert client.get_workflow_status("r-1").name == "refund"  # type: ignore[union-attr]

        # An active deduplication ID: DBOSQueueDeduplicatedError (the transaction aborts).
        dedup: Any = dict(options, deduplication_id="d-1", delay_seconds=3600)
        with app_engine.begin() as conn:
            client.enqueue_in_transaction(conn, dedup, "o-2")
        with pytest.raises(DBOSQueueDeduplicatedError, match="d-1"), app_engine.begin() as conn:
            conn.execute(insert, {"id": "lost"})
            client.enqueue_in_transaction(conn, dedup, "o-3")
        assert orders(app_engine) == [("kept", 1.0)]


def test_send_refusals_and_keys_are_as_send_has_them(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    @DBOS.workflow()
    def inbox(count: int) -> list[Any]:
        return [DBOS.recv("mail", timeout_seconds=2) for _ in range(count)]

    launch()
    with DBOSClient(dbos_system_database_url) as client:
        # Idempotency keys are per destination and outlive the message's receipt.
        first = DBOS.start_workflow(inbox, 2)
        second = DBOS.start_workflow(inbox, 1)
        with app_engine.begin() as conn:
            client.send_in_transaction(conn, first.workflow_id, "one", "mail", "k")
            client.send_in_transaction(conn, second.workflow_id, "two", "mail", "k")
        assert second.get_result() == ["two"]
        with app_engine.begin() as conn:
            client.send_in_transaction(conn, second.workflow_id, "again", "mail", "k")
            client.send_bulk_in_transaction(
                conn, [SendMessage(first.workflow_id, "one", "mail", "k")]
            )
        assert first.get_result() == ["one", None]

        missing = pytest.raises(DBOSNonExistentWorkflowError, match="no-such-workflow")
        with missing, app_engine.begin() as conn:
            client.send_in_transaction(conn, "no-such-workflow", "hello")
        batch = [SendMessage(first.workflow_id, "x"), SendMessage("no-such-workflow", "y")]
        with missing, app_engine.begin() as conn:
            client.send_bulk_in_transaction(conn, batch)

        # DBOS Transact 3.4's keywords: accepted with the values this library has.
        with app_engine.begin() as conn:
            client.send_in_transaction(
                conn,
                first.workflow_id,
                "portable",
                serialization_type=WorkflowSerializationFormat.PORTABLE,
                send_to_forks=False,
                shard_key=None,
            )
            client.send_bulk_in_transaction(
                conn, [], serialization_type=WorkflowSerializationFormat.DEFAULT
            )
            with pytest.raises(DBOSException, match="send_to_forks must be True or False"):
                client.send_in_transaction(conn, first.workflow_id, 1, send_to_forks="yes")  # type: ignore[arg-type]
            with pytest.raises(DBOSException, match="SendMessage's shard_key"):
                client.send_bulk_in_transaction(conn, [SendMessage("w", 1, None, None, "s")])
            with pytest.raises(DBOSException, match="shard_key"):
                client.send_in_transaction(conn, first.workflow_id, 1, shard_key="s")
            with pytest.raises(DBOSException, match="serialization_type"):
                client.send_bulk_in_transaction(
                    conn, [], serialization_type=WorkflowSerializationFormat.NATIVE
                )


def test_send_to_forks_in_the_callers_transaction(
    launch: Launch, dbos_system_database_url: str, app_engine: sa.Engine
) -> None:
    """DBOS Transact 3.4's send_to_forks=True: the forks are read in the caller's
    transaction, and the copies commit or roll back with it."""

    @DBOS.workflow()
    def mailbox(count: int) -> list[Any]:
        return [DBOS.recv("mail", timeout_seconds=1) for _ in range(count)]

    launch()
    original = DBOS.start_workflow(mailbox, 3)
    fork = DBOS.fork_workflow(original.workflow_id, 1)
    fork_of_fork = DBOS.fork_workflow(fork.workflow_id, 1)
    with DBOSClient(dbos_system_database_url) as client:
        with pytest.raises(RuntimeError), app_engine.begin() as conn:
            client.send_in_transaction(
                conn, original.workflow_id, "lost", "mail", send_to_forks=True
            )
            raise RuntimeError("roll back")
        with app_engine.begin() as conn:
            client.send_in_transaction(
                conn, original.workflow_id, "a", "mail", "key-a", send_to_forks=True
            )
            client.send_bulk_in_transaction(
                conn, [SendMessage(fork.workflow_id, "b", "mail")], send_to_forks=True
            )
            client.send_in_transaction(conn, original.workflow_id, "c", "mail")
    assert original.get_result() == ["a", "c", None]
    assert fork.get_result() == ["a", "b", None]
    assert fork_of_fork.get_result() == ["a", "b", None]


def test_a_connection_to_another_database_is_named(
    dbos_system_database_url: str, dbos_backend: str, dbos_storage: object
) -> None:
    if dbos_backend != "postgres":
        pytest.skip("a Postgres matter")
    import psycopg

    server = sa.make_url(dbos_system_database_url).set(drivername="postgresql+psycopg")
    name = f"in_tx_other_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(server.set(database=name))
    try:
        with DBOSClient(dbos_system_database_url) as client:
            options: Any = {"workflow_name": "bill", "queue_name": "q"}
            refused = pytest.raises(DBOSException, match="connection to the DBOS system database")
            with refused, engine.begin() as conn:
                client.enqueue_in_transaction(conn, options)
            with refused, engine.begin() as conn:
                client.send_in_transaction(conn, "wf", "hello")
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
