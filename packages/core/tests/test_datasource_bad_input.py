"""Datasources given bad input (issue 14, point 5): each case gets an error naming the
problem, and nothing is written half-way, on SQLite and Postgres application databases, for
`SQLAlchemyDatasource` and `AsyncSQLAlchemyDatasource`."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

from dbos import (
    DBOS,
    AsyncSQLAlchemyDatasource,
    DBOSException,
    DBOSTransactionRetriesExceeded,
    SetWorkflowID,
    SQLAlchemyDatasource,
)
from dbos._datasource import registry
from dbos.error import DBOSNotLaunchedError

SCHEMA_OF = {"sqlite": None, "postgres": "dbos"}


def sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://")


def has_checkpoint_table(url: str, schema: str | None) -> bool:
    engine = sa.create_engine(sync_url(url))
    try:
        return sa.inspect(engine).has_table("datasource_outputs", schema=schema)
    finally:
        engine.dispose()


def make_orders(url: str) -> sa.Engine:
    """The app's table (a plain engine of the test's own: the datasource's is the one under
    test), with one counter row (id 1) that conflicting writers bump."""
    engine = sa.create_engine(sync_url(url))
    key = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE orders (id {key} PRIMARY KEY, item TEXT NOT NULL)"))
        conn.execute(sa.text("INSERT INTO orders (item) VALUES ('0')"))
    return engine


def items(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT item FROM orders ORDER BY id"))]


def checkpoint_count(engine: sa.Engine, schema: str | None) -> int:
    table = "datasource_outputs" if schema is None else f"{schema}.datasource_outputs"
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def create_async(url: str, engine_kwargs: dict[str, Any] | None = None) -> Any:
    """An `AsyncSQLAlchemyDatasource`, created (and its pool emptied) in a loop of its own:
    each test scenario runs in a later ``asyncio.run``, whose connections are its own."""

    async def create() -> AsyncSQLAlchemyDatasource:
        datasource = await AsyncSQLAlchemyDatasource.create(url, engine_kwargs)
        await datasource.engine.dispose()
        return datasource

    return asyncio.run(create())


@contextmanager
def sqlite_write_lock(url: str) -> Iterator[None]:
    """Another process's writer: holds SQLite's write lock until the block ends."""
    holder = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- a sessionmaker bound to another engine ---------------------------------------------------


def test_a_sessionmaker_bound_to_another_engine_is_refused_before_any_write(
    dbos: type[DBOS], dbos_backend: str, app_database_url: str
) -> None:
    known = len(registry.datasources())
    other = sa.create_engine(sync_url(app_database_url))
    try:
        with pytest.raises(DBOSException, match="bound to another engine") as caught:
            SQLAlchemyDatasource.create(app_database_url, sessionmaker=sessionmaker(bind=other))
        assert "sessionmaker given to SQLAlchemyDatasource" in str(caught.value)
    finally:
        other.dispose()
    # Refused before the migration: no checkpoint table, no datasource registered.
    assert not has_checkpoint_table(app_database_url, SCHEMA_OF[dbos_backend])
    assert len(registry.datasources()) == known


def test_an_async_sessionmaker_bound_to_another_engine_is_refused_before_any_write(
    dbos: type[DBOS], dbos_backend: str, app_database_url: str
) -> None:
    async def scenario() -> str:
        url = sa.make_url(app_database_url)
        driver = "sqlite+aiosqlite" if dbos_backend == "sqlite" else "postgresql+psycopg"
        other = create_async_engine(url.set(drivername=driver))
        try:
            with pytest.raises(DBOSException, match="bound to another engine") as caught:
                await AsyncSQLAlchemyDatasource.create(
                    app_database_url, sessionmaker=async_sessionmaker(bind=other)
                )
            return str(caught.value)
        finally:
            await other.dispose()

    known = len(registry.datasources())
    message = asyncio.run(scenario())
    assert "sessionmaker given to AsyncSQLAlchemyDatasource" in message
    # The other engine is named by its URL (no password), not as an object address.
    shown = sa.make_url(app_database_url).render_as_string(hide_password=True).split("://")[1]
    assert "AsyncEngine on " in message and shown in message and " at 0x" not in message
    assert not has_checkpoint_table(app_database_url, SCHEMA_OF[dbos_backend])
    assert len(registry.datasources()) == known


# --- a datasource used before DBOS.launch() ---------------------------------------------------


def test_before_launch_a_plain_call_runs_and_a_workflow_is_refused(
    dbos_backend: str, dbos_system_database_url: str, app_database_url: str
) -> None:
    """As in DBOS Transact 3.4: a transaction outside a workflow is a plain database
    transaction, usable before launch; a workflow that would record one is refused with
    `DBOSNotLaunchedError`, before its transaction runs."""
    # Not destroy_registry: other test modules' workflows, registered when imported, stay.
    DBOS.destroy()
    DBOS(config={"name": "before-launch", "system_database_url": dbos_system_database_url})
    engine = make_orders(app_database_url)
    ds = SQLAlchemyDatasource.create(app_database_url)
    ads: AsyncSQLAlchemyDatasource = create_async(app_database_url)
    try:

        @ds.transaction()
        def add(item: str) -> str:
            ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
            return item

        @ads.transaction()
        async def add_async(item: str) -> str:
            await ads.sql_session().execute(
                sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item}
            )
            return item

        @DBOS.workflow()
        def place(item: str) -> str:
            return add(item)

        @DBOS.workflow()
        async def place_async(item: str) -> str:
            return await add_async(item)

        async def plain_async() -> str:
            try:
                return await add_async("plain-async")
            finally:
                await ads.engine.dispose()

        assert add("plain") == "plain"
        assert asyncio.run(plain_async()) == "plain-async"
        with pytest.raises(DBOSNotLaunchedError, match=r"DBOS\.launch\(\)"):
            place("in-workflow")
        with pytest.raises(DBOSNotLaunchedError, match=r"DBOS\.launch\(\)"):
            asyncio.run(place_async("in-async-workflow"))
        assert items(engine) == ["0", "plain", "plain-async"]
        assert checkpoint_count(engine, ds.schema) == 0
    finally:
        DBOS.destroy()
        registry.forget(ds)
        registry.forget(ads)
        ds.engine.dispose()
        engine.dispose()


# --- a transaction function that is not registered ----------------------------------------------


def test_an_undecorated_function_runs_as_a_recorded_transaction(
    dbos: type[DBOS], app_database_url: str
) -> None:
    """DBOS Transact 3.4 registers no transaction function: `run_tx_step` runs any plain
    function as a transaction, recorded under its qualified name (or `name`), and a replay
    finds it by its position in the workflow. What is refused is what cannot be one: not a
    function, a coroutine function (sync datasource) or a plain one (async datasource), and
    `sql_session()` of another datasource than the running transaction's."""
    engine = make_orders(app_database_url)
    ds = SQLAlchemyDatasource.create(app_database_url)
    other = SQLAlchemyDatasource.create(app_database_url)
    ran: list[str] = []

    def add(item: str) -> str:  # not decorated
        ran.append(item)
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item.upper()

    def wrong_session() -> None:
        ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES ('half')"))
        other.sql_session()  # not this transaction's datasource

    @DBOS.workflow()
    def place() -> list[str]:
        return [ds.run_tx_step(None, add, "a"), ds.run_tx_step({"name": "named"}, add, "b")]

    try:
        for _ in range(2):  # the second run replays both
            with SetWorkflowID("undecorated-1"):
                assert place() == ["A", "B"]
        assert ran == ["a", "b"]
        names = [s["function_name"] for s in DBOS.list_workflow_steps("undecorated-1")]
        assert names == [add.__qualname__, "named"]

        with pytest.raises(DBOSException, match="needs a function, got 42"):
            ds.run_tx_step(None, 42)  # type: ignore[arg-type]

        async def coroutine() -> None:
            pass

        with pytest.raises(DBOSException, match="is a coroutine function"):
            ds.run_tx_step(None, coroutine)  # type: ignore[unused-coroutine]
        with pytest.raises(DBOSException, match="only available inside a transaction function"):
            ds.run_tx_step(None, wrong_session)
        assert items(engine) == ["0", "a", "b"]  # the half-done insert was rolled back
    finally:
        registry.forget(ds)
        registry.forget(other)
        ds.engine.dispose()
        other.engine.dispose()
        engine.dispose()


def test_an_undecorated_coroutine_runs_as_a_recorded_async_transaction(
    dbos: type[DBOS], app_database_url: str
) -> None:
    engine = make_orders(app_database_url)

    async def add(item: str) -> str:  # not decorated
        await ads.sql_session().execute(
            sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item}
        )
        return item.upper()

    def plain() -> None:
        pass

    @DBOS.workflow()
    async def place() -> str:
        return await ads.run_tx_step_async(None, add, "a")

    async def scenario() -> list[str]:
        try:
            with SetWorkflowID("undecorated-async"):
                first = await place()
            with pytest.raises(DBOSException, match="needs a coroutine function"):
                await ads.run_tx_step_async(None, plain)  # type: ignore[arg-type]
            return [first]
        finally:
            await ads.engine.dispose()

    ads: AsyncSQLAlchemyDatasource = create_async(app_database_url)
    try:
        assert asyncio.run(scenario()) == ["A"]
        [step] = DBOS.list_workflow_steps("undecorated-async")
        assert step["function_name"] == add.__qualname__ and step["output"] == "A"
        assert items(engine) == ["0", "a"]
    finally:
        registry.forget(ads)
        engine.dispose()


# --- a serialization failure past the retry budget --------------------------------------------


def conflicting_body(
    session_of: Callable[[], Any], engine: sa.Engine, attempts: list[int]
) -> Callable[[], str]:
    """A transaction that conflicts on every attempt (Postgres): it reads the counter row,
    another connection bumps and commits it, then it inserts its order and writes the
    counter, which SERIALIZABLE refuses (SQLSTATE 40001)."""

    def body() -> str:
        attempts.append(1)
        session = session_of()
        session.execute(sa.text("SELECT item FROM orders WHERE id = 1")).scalar_one()
        with engine.begin() as conn:  # the other writer, on its own connection
            conn.execute(sa.text("UPDATE orders SET item = CAST(CAST(item AS INT) + 1 AS TEXT)"))
        session.execute(sa.text("INSERT INTO orders (item) VALUES ('mine')"))
        session.execute(sa.text("UPDATE orders SET item = 'mine' WHERE id = 1"))
        return "committed"

    return body


def test_a_conflict_past_the_budget_is_given_up_naming_it_and_writing_nothing(
    dbos: type[DBOS], dbos_backend: str, app_database_url: str
) -> None:
    engine = make_orders(app_database_url)
    attempts: list[int] = []
    if dbos_backend == "postgres":
        ds = SQLAlchemyDatasource.create(app_database_url)
        body = conflicting_body(ds.sql_session, engine, attempts)
    else:
        # SQLite has no write-write conflict to force: its writers take turns. Its
        # serialization failure is another writer's lock held past the busy timeout.
        ds = SQLAlchemyDatasource.create(
            app_database_url, engine_kwargs={"connect_args": {"timeout": 0.01}}
        )

        def body() -> str:
            attempts.append(1)
            ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES ('mine')"))
            return "committed"

    reserve = ds.transaction(name="reserve_stock", max_attempts=3)(body)

    @DBOS.workflow()
    def order() -> str:
        return reserve()

    try:
        with sqlite_write_lock(app_database_url) if dbos_backend == "sqlite" else _nothing():
            for _ in range(2):  # the second run replays the recorded error: no new attempt
                with (
                    SetWorkflowID("past-budget"),
                    pytest.raises(DBOSTransactionRetriesExceeded) as caught,
                ):
                    order()
                error = caught.value
                assert error.transaction_name == "reserve_stock" and error.attempts == 3
                assert "'reserve_stock'" in str(error) and "max_attempts=3" in str(error)
        if dbos_backend == "postgres":
            assert len(attempts) == 3 and "could not serialize" in error.last_error
            # Only the other writer's three bumps: none of the transaction's writes.
            assert items(engine) == ["3"]
        else:
            assert attempts == [] and "database is locked" in error.last_error
            assert "migrat" not in error.last_error  # the BEGIN it quotes is the transaction's
            assert items(engine) == ["0"]
        assert checkpoint_count(engine, ds.schema) == 0
        [step] = DBOS.list_workflow_steps("past-budget")
        assert step["function_name"] == "reserve_stock"
        assert isinstance(step["error"], DBOSTransactionRetriesExceeded)
    finally:
        registry.forget(ds)
        ds.engine.dispose()
        engine.dispose()


def test_an_async_conflict_past_the_budget_is_given_up_naming_it_and_writing_nothing(
    dbos: type[DBOS], dbos_backend: str, app_database_url: str
) -> None:
    engine = make_orders(app_database_url)
    attempts: list[int] = []
    kwargs: dict[str, Any] = {"timeout": 0.01} if dbos_backend == "sqlite" else {}
    ads: AsyncSQLAlchemyDatasource = create_async(app_database_url, {"connect_args": kwargs})

    @ads.transaction(name="reserve_async", max_attempts=2)
    async def reserve() -> str:
        attempts.append(1)
        session = ads.sql_session()
        await session.execute(sa.text("SELECT item FROM orders WHERE id = 1"))
        with engine.begin() as conn:  # the other writer (blocking here is fine in a test)
            conn.execute(sa.text("UPDATE orders SET item = CAST(CAST(item AS INT) + 1 AS TEXT)"))
        await session.execute(sa.text("INSERT INTO orders (item) VALUES ('mine')"))
        await session.execute(sa.text("UPDATE orders SET item = 'mine' WHERE id = 1"))
        return "committed"

    async def scenario() -> DBOSTransactionRetriesExceeded:
        try:
            with pytest.raises(DBOSTransactionRetriesExceeded) as caught:
                await reserve()
            return caught.value
        finally:
            await ads.engine.dispose()

    try:
        with sqlite_write_lock(app_database_url) if dbos_backend == "sqlite" else _nothing():
            error = asyncio.run(scenario())
        assert error.attempts == 2 and "'reserve_async'" in str(error)
        assert "max_attempts=2" in str(error)
        if dbos_backend == "postgres":
            assert len(attempts) == 2 and items(engine) == ["2"]
        else:
            assert attempts == [] and items(engine) == ["0"]
    finally:
        registry.forget(ads)
        engine.dispose()


@contextmanager
def _nothing() -> Iterator[None]:
    yield
