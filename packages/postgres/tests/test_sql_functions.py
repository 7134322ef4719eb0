"""SQL as a client (DBOS Transact 3.4's ``enqueue_workflow`` and ``send_message`` in the system
schema): durable work started from plain SQL, in the caller's own transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any, cast

import psycopg
import pytest
from psycopg.types.json import Json

from dbos import DBOS, DBOSConfig, Queue

pytestmark = pytest.mark.postgres_only

WHEN = dt.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=dt.timezone.utc)


RECEIVERS: list[Callable[[], Any]] = []


@pytest.fixture
def app(dbos_system_database_url: str) -> Iterator[str]:
    """A launched app with a queue and two workflows; yields the database URL (the receiving
    workflow is `RECEIVERS[-1]`)."""
    DBOS.destroy()
    queue = Queue("sql_queue")
    assert queue.name == "sql_queue"

    @DBOS.workflow(name="sql_workflow")
    def sql_workflow(when: dt.datetime, count: int, *, label: str = "none") -> dict[str, Any]:
        return {"is_datetime": isinstance(when, dt.datetime), "count": count, "label": label}

    @DBOS.workflow(name="sql_receiver")
    def sql_receiver() -> Any:
        return [DBOS.recv("orders", timeout_seconds=30), DBOS.recv(timeout_seconds=30)]

    RECEIVERS.append(sql_receiver)

    config = {"name": "sql-app", "system_database_url": dbos_system_database_url}
    DBOS(config=cast(DBOSConfig, config))
    DBOS.launch()
    try:
        yield dbos_system_database_url
    finally:
        DBOS.destroy()


def test_enqueue_from_sql_commits_with_the_callers_own_insert(app: str) -> None:
    with psycopg.connect(app) as connection:
        connection.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, workflow_id TEXT)")
        connection.commit()
        with connection.transaction():
            (workflow_id,) = connection.execute(
                "SELECT dbos.enqueue_workflow('sql_workflow', 'sql_queue',"
                " ARRAY[%s::json, '3'::json], %s::json, workflow_id => 'from-sql')",
                (json.dumps("2024-05-01T12:30:15.250Z"), json.dumps({"label": "x"})),
            ).fetchone() or (None,)
            connection.execute("INSERT INTO orders VALUES ('o1', %s)", (workflow_id,))
    assert workflow_id == "from-sql"
    result = DBOS.retrieve_workflow("from-sql").get_result()
    # The queue worker decoded the portable inputs and coerced the timestamp to the hint.
    assert result == {"is_datetime": True, "count": 3, "label": "x"}
    status = DBOS.get_workflow_status("from-sql")
    assert status is not None and status.queue_name == "sql_queue"
    with psycopg.connect(app) as connection:
        row = connection.execute(
            "SELECT serialization, inputs::jsonb FROM dbos.workflow_status"
            " WHERE workflow_id = 'from-sql'"
        ).fetchone()
    assert row == (
        "portable_json",
        {"positionalArgs": ["2024-05-01T12:30:15.250Z", 3], "namedArgs": {"label": "x"}},
    )


def test_a_rolled_back_transaction_enqueues_nothing(app: str) -> None:
    with psycopg.connect(app) as connection:
        connection.execute("CREATE TABLE payments (id TEXT PRIMARY KEY)")
        connection.commit()
        with pytest.raises(psycopg.errors.UniqueViolation), connection.transaction():
            connection.execute(
                "SELECT dbos.enqueue_workflow('sql_workflow', 'sql_queue',"
                " ARRAY['\"2024-01-01T00:00:00Z\"'::json, '1'::json],"
                " workflow_id => 'rolled-back')"
            )
            connection.execute("INSERT INTO payments VALUES ('p1')")
            connection.execute("INSERT INTO payments VALUES ('p1')")  # the caller's failure
        (count,) = connection.execute(
            "SELECT count(*) FROM dbos.workflow_status WHERE workflow_id = 'rolled-back'"
        ).fetchone() or (None,)
    assert count == 0
    assert DBOS.get_workflow_status("rolled-back") is None


def test_enqueue_returns_a_new_id_and_an_existing_one(app: str) -> None:
    with psycopg.connect(app, autocommit=True) as connection:
        (new_id,) = connection.execute(
            "SELECT dbos.enqueue_workflow('sql_workflow', 'sql_queue',"
            " ARRAY['\"2024-01-01T00:00:00Z\"'::json, '1'::json])"
        ).fetchone() or (None,)
        assert isinstance(new_id, str) and len(new_id) == 36
        again = connection.execute(
            "SELECT dbos.enqueue_workflow('sql_workflow', 'sql_queue', workflow_id => %s)",
            (new_id,),
        ).fetchone()
    assert again == (new_id,)
    assert DBOS.retrieve_workflow(new_id).get_result()["count"] == 1


def test_enqueue_stores_the_application_name_and_timeout(app: str) -> None:
    with psycopg.connect(app, autocommit=True) as connection:
        connection.execute(
            "SELECT dbos.enqueue_workflow('sql_workflow', 'sql_queue',"
            " ARRAY['\"2024-01-01T00:00:00Z\"'::json, '4'::json], workflow_id => 'owned',"
            " application_name => 'billing', timeout_ms => 90000)"
        )
    handle = DBOS.retrieve_workflow("owned")
    assert handle.get_result()["count"] == 4
    status = handle.get_status()
    assert (status.application_name, status.workflow_timeout_ms) == ("billing", 90_000)
    assert status.workflow_deadline_epoch_ms == status.created_at + 90_000


def test_send_message_from_sql_reaches_recv(app: str) -> None:
    handle = DBOS.start_workflow(RECEIVERS[-1])
    with psycopg.connect(app, autocommit=True) as connection:
        connection.execute(
            "SELECT dbos.send_message(%s, %s::json, 'orders', 'msg-1')",
            (handle.workflow_id, Json({"order": 7, "when": "2024-05-01T00:00:00Z"})),
        )
        # The same message ID again is stored once.
        connection.execute(
            "SELECT dbos.send_message(%s, '{\"dup\": true}'::json, 'orders', 'msg-1')",
            (handle.workflow_id,),
        )
        connection.execute("SELECT dbos.send_message(%s, '\"plain\"'::json)", (handle.workflow_id,))
    assert handle.get_result() == [{"order": 7, "when": "2024-05-01T00:00:00Z"}, "plain"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("SELECT dbos.enqueue_workflow(NULL, 'q')", "workflow_name must be"),
        ("SELECT dbos.enqueue_workflow('w', '')", "queue_name must name a queue"),
        (
            "SELECT dbos.enqueue_workflow('w', 'q', named_args => '[1]')",
            "named_args must be a JSON object",
        ),
        (
            "SELECT dbos.enqueue_workflow('w', 'q', workflow_id => '')",
            "workflow_id must not be an empty",
        ),
        ("SELECT dbos.enqueue_workflow('w', 'q', priority => -1)", "priority must be >= 0"),
        (
            "SELECT dbos.enqueue_workflow('w', 'q', config_name => 'c')",
            "config_name needs class_name",
        ),
        ("SELECT dbos.enqueue_workflow('w', 'q', authenticated_user => 'u')", "not supported"),
        (
            "SELECT dbos.enqueue_workflow('w', 'q', application_name => '')",
            "application_name must not be an empty string",
        ),
        ("SELECT dbos.send_message('', '1')", "destination_id must be"),
        ("SELECT dbos.send_message('nobody', '1')", "DBOS non-existent workflow"),
        (
            'SELECT dbos.send_message(\'nobody\', \'{"a": {"__dbos_pickle__": "x"}}\')',
            "is reserved",
        ),
    ],
)
def test_bad_arguments_raise_clear_sql_errors(app: str, call: str, message: str) -> None:
    with (
        psycopg.connect(app, autocommit=True) as connection,
        pytest.raises(psycopg.Error, match=message),
    ):
        connection.execute(call.encode())


def test_a_duplicate_deduplication_id_raises_queue_duplicated(app: str) -> None:
    with psycopg.connect(app, autocommit=True) as connection:
        statement = (
            "SELECT dbos.enqueue_workflow('unknown_workflow', 'parked_queue',"
            " deduplication_id => 'd1')"
        )
        connection.execute(statement)
        with pytest.raises(psycopg.errors.UniqueViolation, match="DBOS queue duplicated") as caught:
            connection.execute(statement)
    assert "deduplication ID d1 already exists" in str(caught.value.diag.message_detail)
