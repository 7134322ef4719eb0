"""AsyncSQLAlchemyDatasource (issue 14, item 3): the same transactions for async code, on
aiosqlite or psycopg 3's async driver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import sessionmaker

from dbos import (
    DBOS,
    AsyncSQLAlchemyDatasource,
    DBOSConfiguredInstance,
    DBOSException,
    SetWorkflowID,
)
from dbos._datasource.registry import forget


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def ads(dbos: type[DBOS], app_database_url: str) -> Iterator[AsyncSQLAlchemyDatasource]:
    datasource: AsyncSQLAlchemyDatasource = run(AsyncSQLAlchemyDatasource.create(app_database_url))
    key = "SERIAL" if datasource.dialect_name == "postgresql" else "INTEGER"

    async def setup() -> None:
        async with datasource.engine.begin() as conn:
            await conn.execute(
                sa.text(f"CREATE TABLE orders (id {key} PRIMARY KEY, item TEXT NOT NULL)")
            )
        await datasource.engine.dispose()

    run(setup())
    yield datasource
    forget(datasource)


async def rows(ads: AsyncSQLAlchemyDatasource) -> list[Any]:
    table = "datasource_outputs" if ads.schema is None else f"{ads.schema}.datasource_outputs"
    async with ads.engine.connect() as conn:
        items = [r[0] for r in await conn.execute(sa.text("SELECT item FROM orders ORDER BY id"))]
        marks = (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
    await ads.engine.dispose()  # its connections belong to this call's event loop
    return [items, marks]


def test_async_transactions_replay_and_clean_up(ads: AsyncSQLAlchemyDatasource) -> None:
    ran: list[str] = []

    @ads.transaction()
    async def add(item: str) -> str:
        ran.append(item)
        session = ads.sql_session()
        assert isinstance(session, AsyncSession)
        await session.execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
        return item * 2

    @DBOS.workflow()
    async def place() -> list[str]:
        return [await add("a"), await add("b")]

    async def scenario() -> list[Any]:
        with SetWorkflowID("async-place"):
            first = await place()
        with SetWorkflowID("async-place"):
            second = await place()
        return [first, second, await add("plain")]

    assert run(scenario()) == [["aa", "bb"], ["aa", "bb"], "plainplain"]
    assert ran == ["a", "b", "plain"]
    assert [s["output"] for s in DBOS.list_workflow_steps("async-place")] == ["aa", "bb"]
    deadline = time.monotonic() + 10
    while (found := run(rows(ads))) != [["a", "b", "plain"], 0]:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)


def test_async_errors_roll_back_and_replay(ads: AsyncSQLAlchemyDatasource) -> None:
    @ads.transaction(name="boom")
    async def boom() -> None:
        await ads.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES ('lost')"))
        raise KeyError("sold out")

    @DBOS.workflow()
    async def wf() -> str:
        try:
            await boom()
        except KeyError as exc:
            return f"caught {exc}"
        return "no"

    async def scenario() -> list[str]:
        with SetWorkflowID("async-boom"):
            first = await wf()
        with SetWorkflowID("async-boom"):
            return [first, await wf()]

    assert run(scenario()) == ["caught 'sold out'"] * 2
    assert run(rows(ads))[0] == []


def test_async_refusals(ads: AsyncSQLAlchemyDatasource, app_database_url: str) -> None:
    def plain() -> None:
        pass

    with pytest.raises(DBOSException, match="needs a coroutine function"):
        ads.transaction(plain)  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="async_sessionmaker"):
        run(AsyncSQLAlchemyDatasource.create(app_database_url, sessionmaker=sessionmaker()))  # type: ignore[arg-type]
    with pytest.raises(DBOSException, match="only available inside a transaction function"):
        ads.sql_session()
    # Bound to its own engine: accepted.
    engine = ads.engine
    other = run(
        AsyncSQLAlchemyDatasource.create(
            app_database_url, engine=engine, sessionmaker=async_sessionmaker(bind=engine)
        )
    )
    assert other.engine is engine
    forget(other)


def test_async_transactions_in_class_instances_fork_and_rewind(
    ads: AsyncSQLAlchemyDatasource,
) -> None:
    """A method of a configured instance as the transaction and the workflow; a fork runs
    the transactions from its start step again under the new ID, and a rewind drops the
    checkpoint rows from its start step on, so those run again too (DBOS Transact 3.4)."""
    ran: list[str] = []

    @DBOS.dbos_class()
    class Shop(DBOSConfiguredInstance):
        def __init__(self, name: str) -> None:
            super().__init__(name)

        @ads.transaction(name="buy")
        async def buy(self, item: str) -> str:
            ran.append(item)
            await ads.sql_session().execute(
                sa.text("INSERT INTO orders (item) VALUES (:i)"),
                {"i": f"{self.config_name}:{item}"},
            )
            return item

        @DBOS.workflow()
        async def run(self) -> list[str]:
            return [await self.buy("hat"), await self.buy("scarf")]

    shop = Shop("north")

    async def first() -> list[str]:
        with SetWorkflowID("async-shop"):
            return await shop.run()

    assert run(first()) == ["hat", "scarf"]
    second = DBOS.list_workflow_steps("async-shop")[1]["function_id"]
    # A row left behind (a cleanup that failed) must not answer the rewound run.
    sync_engine = sa.create_engine(
        ads.engine.url.set(drivername="sqlite" if ads.schema is None else "postgresql+psycopg")
    )
    with sync_engine.begin() as conn:
        conn.execute(
            sa.insert(ads._table).values(workflow_id="async-shop", step_id=second, output='"x"')
        )
    sync_engine.dispose()
    assert DBOS.rewind_workflow("async-shop", start_step=second).get_result() == ["hat", "scarf"]
    fork = DBOS.fork_workflow("async-shop", second)
    assert fork.get_result() == ["hat", "scarf"]
    assert ran == ["hat", "scarf", "scarf", "scarf"]
    assert [s["function_name"] for s in DBOS.list_workflow_steps(fork.workflow_id)] == ["buy"] * 2
    deadline = time.monotonic() + 10
    expected = [["north:hat", "north:scarf", "north:scarf", "north:scarf"], 0]
    while (found := run(rows(ads))) != expected:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
