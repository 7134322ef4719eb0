"""The hottest statements run on libpq directly (`dbos_postgres._lean`, issue 17): the same
answers and the same errors as through psycopg's cursors, on a real server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dbos.storage import (
    DBOSConnectionError,
    DBOSNonExistentWorkflowError,
    DBOSStepConflictError,
    NewWorkflow,
    StepRecord,
    WorkflowOutcome,
)
from dbos_postgres import PostgresStorage
from dbos_postgres._lean import LEAN_QUERIES, LeanStatement

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def storage(dbos_system_database_url: str) -> Iterator[PostgresStorage]:
    storage = PostgresStorage(dbos_system_database_url)
    storage.setup()
    yield storage
    storage.close()


def test_placeholders_become_numbered_parameters_in_order_of_first_use() -> None:
    statement = LeanStatement("t", b"SELECT %(b)s, %(a)s, %(b)s LIKE 'x%%'")
    assert statement.sql == b"SELECT $1, $2, $1 LIKE 'x%'"
    assert statement.params == ("b", "a")
    assert statement.name == b"dbos_lean_t"


def test_values_are_sent_as_text_and_results_decoded_by_type(storage: PostgresStorage) -> None:
    statement = LeanStatement(
        "types",
        b"SELECT %(i)s::bigint, %(s)s::text, %(b)s::boolean, %(n)s::int, %(j)s::jsonb::text",
    )
    with storage._connection() as connection:
        names, rows = statement.rows(
            connection, {"i": 2**40, "s": "é\u2603", "b": True, "n": None, "j": '{"k": [1]}'}
        )
    assert len(names) == 5
    assert rows == [(2**40, "é\u2603", True, None, '{"k": [1]}')]


def test_a_value_of_another_type_is_refused_by_name() -> None:
    statement = LeanStatement("refuse", b"SELECT %(x)s::text")
    with pytest.raises(TypeError, match="not float"):
        statement.rows(None, {"x": 1.5})  # type: ignore[arg-type]  # refused before any use


def test_a_statement_the_server_forgot_is_prepared_again(storage: PostgresStorage) -> None:
    statement = LeanStatement("again", b"SELECT %(x)s::int + 1")
    with storage._connection() as connection:
        assert statement.rows(connection, {"x": 1})[1] == [(2,)]
        connection.execute("DEALLOCATE ALL")  # what a pooler's reset does
        assert statement.rows(connection, {"x": 2})[1] == [(3,)]


def test_a_statement_forgotten_inside_a_transaction_fails_it_and_is_prepared_next_time(
    storage: PostgresStorage,
) -> None:
    statement = LeanStatement("again_tx", b"SELECT %(x)s::int * 2")
    with storage._connection() as connection:
        assert statement.rows(connection, {"x": 1})[1] == [(2,)]
        connection.execute("DEALLOCATE ALL")
        with pytest.raises(psycopg.errors.InvalidSqlStatementName), connection.transaction():
            statement.rows(connection, {"x": 2})
        assert statement.rows(connection, {"x": 3})[1] == [(6,)]


def test_server_errors_are_psycopgs_own_classes(storage: PostgresStorage) -> None:
    statement = LeanStatement("fails", b"SELECT 1 / %(x)s::int")
    with storage._connection() as connection:
        with pytest.raises(psycopg.errors.DivisionByZero):
            statement.rows(connection, {"x": 0})
        assert statement.rows(connection, {"x": 1})[1] == [(1,)]  # still usable


def test_a_lost_connection_is_an_operational_error(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    statement = LeanStatement("lost", b"SELECT %(x)s::int")
    with storage._connection() as connection:
        statement.rows(connection, {"x": 1})
        pid = connection.info.backend_pid
        with psycopg.connect(dbos_system_database_url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            statement.rows(connection, {"x": 1})


def test_the_lean_statements_keep_the_protocol_answers(storage: PostgresStorage) -> None:
    """record_step, create_workflow and finish_workflow (the lean ones) answer as the protocol
    says, errors included."""
    assert set(LEAN_QUERIES) == set(storage._lean)
    created = storage.create_workflow(NewWorkflow("lean-1", "wf", "[]", "local", "v1", 1))
    again = storage.create_workflow(NewWorkflow("lean-1", "wf", "[]", "local", "v1", 1))
    assert (created.created, again.created) == (True, False)
    assert again.row.workflow_id == "lean-1" and again.row.status == created.row.status

    record = StepRecord("lean-1", 1, "s", '"out"', None, 1, 2)
    ack = storage.record_step(record)
    assert ack.workflow_status == created.row.status
    with pytest.raises(DBOSStepConflictError):
        storage.record_step(record)
    with pytest.raises(DBOSNonExistentWorkflowError):
        storage.record_step(StepRecord("lean-missing", 1, "s", None, None, 1, 2))
    assert [(s.function_id, s.output) for s in storage.load_steps("lean-1")] == [(1, '"out"')]

    outcome: dict[str, Any] = {"output": '"done"', "error": None, "completed_at_ms": 3}
    assert storage.finish_workflow(WorkflowOutcome("lean-1", "SUCCESS", **outcome)) == "SUCCESS"
    # Applies only from PENDING: a second finish leaves the first outcome.
    assert storage.finish_workflow(WorkflowOutcome("lean-1", "ERROR", **outcome)) == "SUCCESS"
    with pytest.raises(DBOSNonExistentWorkflowError):
        storage.finish_workflow(WorkflowOutcome("lean-missing", "SUCCESS", **outcome))


def test_a_lean_statement_after_an_outage_reconnects(
    storage: PostgresStorage, dbos_system_database_url: str
) -> None:
    """A checkpoint on a connection the server dropped fails as a connection error (which the
    engine rides out), and the next one gets a fresh connection."""
    storage.create_workflow(NewWorkflow("lean-2", "wf", "[]", "local", "v1", 1))
    with storage._connection() as connection:
        pid = connection.info.backend_pid
    with psycopg.connect(dbos_system_database_url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # The dropped connection may be handed out before the pool sees it gone.
    with contextlib.suppress(DBOSConnectionError):
        storage.record_step(StepRecord("lean-2", 1, "s", None, None, 1, 2))
    storage.record_step(StepRecord("lean-2", 2, "s", None, None, 1, 2))
    assert 2 in {s.function_id for s in storage.load_steps("lean-2")}
