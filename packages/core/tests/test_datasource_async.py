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

from dbos import DBOS, AsyncSQLAlchemyDatasource, DBOSException, SetWorkflowID
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
