"""SQLAlchemyDatasource (issue 14): transactions in the application's database, recorded in
their workflow and committed with their checkpoint row, on a SQLite or Postgres application
database (the kind the system database of the run is)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from dbos import (
    DBOS,
    DBOSConfiguredInstance,
    DBOSException,
    DBOSTransactionRetriesExceeded,
    SetWorkflowID,
    SQLAlchemyDatasource,
)
from dbos._datasource.registry import forget
from dbos.error import DBOSInitializationError


def make_orders(ds: SQLAlchemyDatasource) -> None:
    key = "SERIAL" if ds.dialect_name == "postgresql" else "INTEGER"
    with ds.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE orders (id {key} PRIMARY KEY, item TEXT NOT NULL)"))


def orders(ds: SQLAlchemyDatasource) -> list[str]:
    with ds.engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT item FROM orders ORDER BY id"))]


def checkpoints(ds: SQLAlchemyDatasource) -> list[tuple[str, int]]:
    table = "datasource_outputs" if ds.schema is None else f"{ds.schema}.datasource_outputs"
    with ds.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT workflow_id, step_id FROM {table}"))
        return sorted((r[0], r[1]) for r in rows)


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


@pytest.fixture
def ds(dbos: type[DBOS], app_database_url: str) -> Iterator[SQLAlchemyDatasource]:
    datasource = SQLAlchemyDatasource.create(app_database_url)
    make_orders(datasource)
    yield datasource
    forget(datasource)
    datasource.engine.dispose()


def test_transactions_are_steps_whose_results_replay(ds: SQLAlchemyDatasource) -> None:
    ran: list[str] = []

    @ds.transaction()
    def add(item: str) -> int:
        ran.append(item)
        session = ds.sql_session()
        session.execute(sa.text("INSERT INTO orders (item) VALUES (:item)"), {"item": item})
        return int(session.execute(sa.text("SELECT count(*) FROM orders")).scalar_one())

    @DBOS.workflow()
    def place() -> list[int]:
        return [add("a"), add("b")]

    with SetWorkflowID("place-1"):
        assert place() == [1, 2]
    steps = DBOS.list_workflow_steps("place-1")
    assert [s["function_name"] for s in steps] == [
        "test_transactions_are_steps_whose_results_replay.<locals>.add"
    ] * 2
    assert [s["output"] for s in steps] == [1, 2]
    assert steps[0]["function_id"] < steps[1]["function_id"]
    # The same workflow ID again: both transactions replay, nothing is written twice.
    with SetWorkflowID("place-1"):
        assert place() == [1, 2]
    assert ran == ["a", "b"] and orders(ds) == ["a", "b"]
    # Finished: the checkpoint rows are no longer needed, and are dropped.
    wait_until(lambda: checkpoints(ds) == [])


def test_a_plain_call_is_one_unrecorded_transaction(ds: SQLAlchemyDatasource) -> None:
    @ds.transaction
    def add(item: str) -> str:
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item.upper()

    assert add("x") == "X"
    assert orders(ds) == ["x"] and checkpoints(ds) == []


def test_a_failing_transaction_rolls_back_and_its_error_replays(ds: SQLAlchemyDatasource) -> None:
    calls: list[int] = []

    @ds.transaction(name="failing")
    def failing() -> None:
        calls.append(1)
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES ('lost')"))
        raise ValueError("no stock")

    @DBOS.workflow()
    def wf() -> str:
        try:
            failing()
        except ValueError as exc:
            return f"caught {exc}"
        return "not raised"

    with SetWorkflowID("fail-1"):
        assert wf() == "caught no stock"
    with SetWorkflowID("fail-1"):
        assert wf() == "caught no stock"
    assert calls == [1] and orders(ds) == []
    [step] = DBOS.list_workflow_steps("fail-1")
    assert step["function_name"] == "failing" and isinstance(step["error"], ValueError)


def test_the_checkpoint_row_answers_an_execution_that_lost_its_step_record(
    ds: SQLAlchemyDatasource, dbos_system_database_url: str
) -> None:
    """The crash window in one process: the transaction committed (writes and checkpoint row)
    but the step record never reached the system database. The next execution finds the
    row and returns its result, without running the function again."""
    from dbos import hookimpl
    from dbos.plugins import plugin_manager
    from dbos.storage import StepRecord
    from dbos_testing import SimulatedCrash

    class CrashBeforeStepRecord:
        @hookimpl
        def dbos_before_step_checkpoint(self, step: StepRecord) -> None:
            if step.function_name == "add":
                raise SimulatedCrash("killed between the two commits")

    runs: list[str] = []

    @ds.transaction(name="add")
    def add(item: str) -> str:
        runs.append(item)
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return f"added {item}"

    @DBOS.workflow()
    def wf() -> str:
        return add("once")

    plan = CrashBeforeStepRecord()
    manager = plugin_manager()
    manager.register(plan)
    try:
        with SetWorkflowID("window-1"), pytest.raises(SimulatedCrash):
            wf()
    finally:
        manager.unregister(plan)
    assert orders(ds) == ["once"] and DBOS.list_workflow_steps("window-1") == []
    (handle,) = DBOS.recover_pending_workflows()
    assert handle.get_result() == "added once"
    assert runs == ["once"] and orders(ds) == ["once"]
    assert [s["output"] for s in DBOS.list_workflow_steps("window-1")] == ["added once"]


def test_class_instance_workflows_run_transactions(ds: SQLAlchemyDatasource) -> None:
    @DBOS.dbos_class()
    class Shop(DBOSConfiguredInstance):
        def __init__(self, name: str) -> None:
            super().__init__(name)

        @ds.transaction()
        def buy(self, item: str) -> str:
            ds.sql_session().execute(
                sa.text("INSERT INTO orders (item) VALUES (:i)"),
                {"i": f"{self.config_name}:{item}"},
            )
            return item

        @DBOS.workflow()
        def run(self, item: str) -> str:
            return self.buy(item)

    shop = Shop("north")
    with SetWorkflowID("shop-1"):
        assert shop.run("hat") == "hat"
    with SetWorkflowID("shop-1"):
        assert shop.run("hat") == "hat"
    assert orders(ds) == ["north:hat"]


def test_inside_a_step_it_is_a_plain_transaction_of_the_step(ds: SQLAlchemyDatasource) -> None:
    @ds.transaction()
    def add(item: str) -> str:
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item

    @DBOS.step()
    def step() -> str:
        return add("in-step")

    @DBOS.workflow()
    def wf() -> str:
        return step()

    with SetWorkflowID("in-step-1"):
        assert wf() == "in-step"
    assert [s["function_name"] for s in DBOS.list_workflow_steps("in-step-1")] == [
        step.__qualname__
    ]
    assert orders(ds) == ["in-step"] and checkpoints(ds) == []


def test_sql_session_outside_a_transaction_is_refused(ds: SQLAlchemyDatasource) -> None:
    with pytest.raises(DBOSException, match="only available inside a transaction function"):
        ds.sql_session()


def test_bad_functions_and_options_are_refused_when_decorating(ds: SQLAlchemyDatasource) -> None:
    async def coroutine() -> None:
        pass

    with pytest.raises(DBOSException, match="AsyncSQLAlchemyDatasource"):
        ds.transaction(coroutine)
    with pytest.raises(DBOSException, match="isolation_level must be one of"):
        ds.transaction(isolation_level="CHAOS")(lambda: None)  # type: ignore[call-overload]
    with pytest.raises(DBOSException, match="max_attempts must be an integer >= 1"):
        ds.transaction(max_attempts=0)(lambda: None)


def test_sessionmakers_that_would_split_the_transaction_are_refused(
    dbos: type[DBOS], app_database_url: str
) -> None:
    other = sa.create_engine(app_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with pytest.raises(DBOSException, match="bound to another engine"):
            SQLAlchemyDatasource.create(app_database_url, sessionmaker=sessionmaker(bind=other))
        with pytest.raises(DBOSException, match="binds="):
            SQLAlchemyDatasource.create(
                app_database_url, sessionmaker=sessionmaker(binds={object: other})
            )
        # Bound to the engine it is given with: accepted.
        ds = SQLAlchemyDatasource.create(
            app_database_url, engine=other, sessionmaker=sessionmaker(bind=other)
        )
        assert ds.engine is other and not ds.created_engine
        forget(ds)
    finally:
        other.dispose()
    with pytest.raises(DBOSException, match="Postgres or SQLite database URL"):
        SQLAlchemyDatasource.create("mysql://localhost/app")
    with pytest.raises(DBOSException, match="serializer"):
        SQLAlchemyDatasource.create(app_database_url, serializer=object())


def test_run_migrations_false_needs_a_migrated_database(
    dbos: type[DBOS], app_database_url: str
) -> None:
    with pytest.raises(DBOSInitializationError, match="datasource schema version 0"):
        SQLAlchemyDatasource.create(app_database_url, run_migrations=False)
    SQLAlchemyDatasource.migrate(app_database_url)
    SQLAlchemyDatasource.migrate(app_database_url)  # again: nothing to do
    ds = SQLAlchemyDatasource.create(app_database_url, run_migrations=False)
    assert checkpoints(ds) == []
    forget(ds)
    ds.engine.dispose()


def test_serialization_conflicts_are_retried_then_given_up(ds: SQLAlchemyDatasource) -> None:
    """A real conflict: two transactions read the same row, then write it; one must fail with
    a serialization error (Postgres) or wait for the lock (SQLite serializes writers), and is
    retried. With max_attempts=1 a conflict is given up at once with a clear error."""
    with ds.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO orders (item) VALUES ('0')"))
    both_read = threading.Barrier(2, timeout=5)
    attempts: list[int] = []

    def bump_body() -> int:
        attempts.append(1)
        session = ds.sql_session()
        value = int(session.execute(sa.text("SELECT item FROM orders")).scalar_one())
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()  # a retry runs alone, past a broken barrier
        session.execute(sa.text("UPDATE orders SET item = :v"), {"v": str(value + 1)})
        return value + 1

    if ds.dialect_name == "sqlite":
        both_read = threading.Barrier(1)  # SQLite: writers take turns, no conflict to make
    retried = ds.transaction(name="bump")(bump_body)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(retried())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [1, 2] and orders(ds) == ["2"]
    if ds.dialect_name == "postgresql":
        assert len(attempts) == 3  # the loser ran again

        # One attempt only: the loser gives up with the retries error, having written nothing.
        both_read = threading.Barrier(2, timeout=5)
        once = ds.transaction(name="bump_once", max_attempts=1)(bump_body)
        outcomes: list[object] = []

        def call() -> None:
            try:
                outcomes.append(once())
            except DBOSTransactionRetriesExceeded as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [o for o in outcomes if isinstance(o, DBOSTransactionRetriesExceeded)]
        assert len(errors) == 1 and errors[0].attempts == 1
        assert "bump_once" in str(errors[0]) and orders(ds) == ["3"]


def test_rewind_drops_the_checkpoints_of_the_steps_it_runs_again(
    ds: SQLAlchemyDatasource,
) -> None:
    ran: list[str] = []

    @ds.transaction(name="add")
    def add(item: str) -> str:
        ran.append(item)
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item

    @DBOS.workflow()
    def wf() -> list[str]:
        return [add("a"), add("b")]

    with SetWorkflowID("rewound"):
        wf()
    second = DBOS.list_workflow_steps("rewound")[1]["function_id"]
    # A checkpoint row left behind (a cleanup that failed) must not answer the rewound run.
    table = ds._table
    with ds.engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(workflow_id="rewound", step_id=second, output='"stale"')
        )
    handle = DBOS.rewind_workflow("rewound", start_step=second)
    assert handle.get_result() == ["a", "b"]
    assert ran == ["a", "b", "b"] and orders(ds) == ["a", "b", "b"]


def test_fork_runs_the_forked_transactions_again_under_the_new_id(
    ds: SQLAlchemyDatasource,
) -> None:
    ran: list[str] = []

    @ds.transaction(name="add")
    def add(item: str) -> str:
        ran.append(item)
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item

    @DBOS.workflow()
    def wf() -> list[str]:
        return [add("a"), add("b")]

    with SetWorkflowID("forked-from"):
        wf()
    second = DBOS.list_workflow_steps("forked-from")[1]["function_id"]
    fork = DBOS.fork_workflow("forked-from", second)
    assert fork.get_result() == ["a", "b"]
    assert ran == ["a", "b", "b"]
    wait_until(lambda: checkpoints(ds) == [])


def test_the_transactions_example_runs(
    dbos_backend: str, dbos_system_database_url: str, tmp_path: Path
) -> None:
    """examples/transactions.py, in its own process, on the test's backend: on Postgres the
    application database is the system database (so the example also enqueues in the
    order's transaction), else a SQLite file."""
    pytest.importorskip("flask")
    example = Path(__file__).resolve().parents[3] / "examples" / "transactions.py"
    env = {
        **os.environ,
        "DBOS_SYSTEM_DATABASE_URL": dbos_system_database_url,
        "DBOS_APP_DATABASE_URL": dbos_system_database_url
        if dbos_backend == "postgres"
        else f"sqlite:///{tmp_path / 'shop.sqlite'}",
    }
    run = subprocess.run(
        [sys.executable, str(example)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "1. order 1 for a hat: paid",
        "2. the same key again: order 1, 1 order in the table",
        "3. checkpoint rows left after the workflow finished: 0",
    ] + (
        [
            "4. order 2 and its workflow committed together: fulfilled 2",
            "5. 409 not enough stock: 0 coat orders, workflow None",
        ]
        if dbos_backend == "postgres"
        else []
    )


def test_core_imports_without_sqlalchemy() -> None:
    """dbos works without the extra; asking for a datasource says what to install."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "import dbos\n"
        "try:\n"
        "    dbos.SQLAlchemyDatasource\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "pip install 'dbos-core[sqlalchemy]'" in run.stdout


def test_the_public_names_are_dbos_transacts() -> None:
    """The methods a datasource shows are DBOS Transact 3.4's (and `run_tx_step`'s options
    type is where 3.4 has it); what cleanup and rewind call is not public."""
    from dbos import AsyncSQLAlchemyDatasource
    from dbos._datasource import DatasourceOptions

    shared = {"create", "migrate", "run_migrations", "verify_migrations", "sql_session"}
    for cls, run in (
        (SQLAlchemyDatasource, "run_tx_step"),
        (AsyncSQLAlchemyDatasource, "run_tx_step_async"),
    ):
        methods = {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n))}
        assert methods == shared | {"transaction", run}, cls
    assert set(DatasourceOptions.__annotations__) == {"name", "isolation_level", "max_attempts"}
