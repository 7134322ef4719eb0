"""`AsyncSQLAlchemyDatasource`: exactly-once transactions in the application's database, for
async code on SQLAlchemy's asyncio extension (psycopg 3 async for Postgres, aiosqlite for
SQLite; DBOS Transact 3.4's API)."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from .._base.errors import DBOSException
from .._base.install import install_hint, needs_install
from .._engine.effects import run_async
from .base import DatasourceBase, DatasourceOptions, refuse_serializer
from .engines import (
    IsolationLevel,
    check_sessionmaker,
    driver_url,
    make_sqlite_transactional,
    sqlite_engine_kwargs,
)
from .schema import migrate as migrate_tables
from .schema import migrate_database, verify
from .transact import transaction_procedure

logger = logging.getLogger("dbos")

P = ParamSpec("P")
R = TypeVar("R")


def _missing_driver(exc: ImportError) -> DBOSException:
    return DBOSException(
        needs_install("AsyncSQLAlchemyDatasource", "an async driver", "dbos-core[sqlalchemy]")
        + f" for Postgres (psycopg 3), {install_hint('dbos-core[aiosqlite]')} for SQLite ({exc})"
    )


class AsyncSQLAlchemyDatasource(DatasourceBase):
    """`SQLAlchemyDatasource` for async code: transaction functions are coroutine functions,
    `sql_session()` is an `AsyncSession`, and `create` and `migrate` are awaited (DBOS
    Transact 3.4 semantics: one transaction with its checkpoint row, exactly once in a
    workflow, dropped when the workflow finishes).

    Attributes:
        engine: The `AsyncEngine` every transaction uses.
        sessionmaker: Makes each transaction's `AsyncSession` (bound to `engine` per call).
        schema: The schema of the checkpoint table (None on SQLite).
    """

    _kind = "AsyncSQLAlchemyDatasource"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        schema: str | None = None,
        sessionmaker: async_sessionmaker[Any] | None = None,
        created_engine: bool = False,
    ) -> None:
        if sessionmaker is not None and not isinstance(sessionmaker, async_sessionmaker):
            raise DBOSException(
                "AsyncSQLAlchemyDatasource needs an async_sessionmaker, got "
                f"{sessionmaker!r} (use SQLAlchemyDatasource for a sync sessionmaker)"
            )
        if not isinstance(engine, AsyncEngine):
            raise DBOSException(
                f"AsyncSQLAlchemyDatasource needs an AsyncEngine, got {engine!r} (use "
                "SQLAlchemyDatasource for a sync Engine)"
            )
        if sessionmaker is not None:
            check_sessionmaker(sessionmaker.kw, engine, self._kind)
        self.engine = engine
        self.created_engine = created_engine
        self.sessionmaker: async_sessionmaker[Any] = sessionmaker or async_sessionmaker(
            expire_on_commit=False
        )
        self._cleanup_engine: sa.Engine | None = None
        self._cleanup_lock = threading.Lock()
        super().__init__(engine.dialect.name, schema)

    @staticmethod
    async def create(
        database_url: str,
        engine_kwargs: dict[str, Any] | None = None,
        engine: AsyncEngine | None = None,
        schema: str | None = None,
        serializer: Any = None,
        sessionmaker: async_sessionmaker[Any] | None = None,
        run_migrations: bool = True,
    ) -> AsyncSQLAlchemyDatasource:
        """`SQLAlchemyDatasource.create` for async code: ``postgresql://`` gets psycopg 3's
        async driver, ``sqlite:///path`` aiosqlite; or bring your own `AsyncEngine` and
        `async_sessionmaker`.

        Raises:
            DBOSException: as `SQLAlchemyDatasource.create` does, or the async driver is
                not installed.
            DBOSInitializationError: `run_migrations=False` and the table is not migrated.
        """
        refuse_serializer(serializer)
        created = engine is None
        if engine is None:
            url = driver_url(database_url, is_async=True)
            kwargs = dict(engine_kwargs or {})
            try:
                if url.get_backend_name() == "sqlite":
                    engine = create_async_engine(url, **sqlite_engine_kwargs(kwargs))
                    make_sqlite_transactional(engine.sync_engine)
                else:
                    engine = create_async_engine(url, **kwargs)
            except ImportError as exc:
                raise _missing_driver(exc) from exc
        try:
            datasource = AsyncSQLAlchemyDatasource(
                engine=engine, schema=schema, sessionmaker=sessionmaker, created_engine=created
            )
        except BaseException:
            if created:
                await engine.dispose()  # refused before any use: leave no pool behind
            raise
        if run_migrations:
            await datasource.run_migrations()
        else:
            await datasource.verify_migrations()
        return datasource

    @staticmethod
    async def migrate(
        database_url: str, *, schema: str | None = None, application_role: str | None = None
    ) -> None:
        """`SQLAlchemyDatasource.migrate`, awaited (it runs on a worker thread)."""
        await asyncio.to_thread(migrate_database, database_url, schema, application_role)

    async def run_migrations(self) -> None:
        """Create or update the checkpoint tables through this datasource's engine."""
        schema = self.schema
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync_conn: migrate_tables(sync_conn, schema))

    async def verify_migrations(self) -> None:
        """Check that the checkpoint tables are up to date, changing nothing.

        Raises:
            DBOSInitializationError: they are not.
        """
        schema, url = self.schema, self.engine.url
        async with self.engine.connect() as conn:
            await conn.run_sync(lambda sync_conn: verify(sync_conn, schema, url))

    def sql_session(self) -> AsyncSession:
        """The session of the transaction function of this datasource running here.

        Raises:
            DBOSException: called outside such a function.
        """
        session: AsyncSession = self._session()
        return session

    def _drop_checkpoints(self, workflow_id: str, from_step: int) -> None:
        """Delete the workflow's checkpoint rows from operation `from_step` on. Blocking, from
        any thread: through a small sync engine on the same database (the async engine's
        connections belong to the event loop that opened them)."""
        with self._cleanup_lock:
            if self._cleanup_engine is None:
                url = self.engine.url
                sync_driver = "sqlite" if url.get_backend_name() == "sqlite" else url.drivername
                self._cleanup_engine = sa.create_engine(
                    url.set(drivername=sync_driver), poolclass=NullPool
                )
            engine = self._cleanup_engine
        with engine.begin() as conn:
            conn.execute(self._delete_statement(workflow_id, from_step))

    async def run_tx_step_async(
        self,
        ds_options: DatasourceOptions | None,
        func: Callable[P, Coroutine[Any, Any, R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run `await func(*args, **kwargs)` as a transaction of this datasource (what the
        decorator does for each call); see `SQLAlchemyDatasource.run_tx_step`.

        Raises:
            DBOSException: `func` is not a coroutine function, or bad options.
            DBOSTransactionRetriesExceeded: every attempt hit a serialization conflict.
            Exception: what `func` (or the commit) raised, after the rollback.
        """
        self._check_function(func, want_async=True)
        spec = self._spec(
            ds_options, func, args, kwargs, lambda: self.sessionmaker(bind=self.engine)
        )
        result: R = await run_async(transaction_procedure(spec))
        return result

    @overload
    def transaction(
        self, func: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def transaction(
        self,
        func: None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
        max_attempts: int | None = None,
    ) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]: ...

    def transaction(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
        max_attempts: int | None = None,
    ) -> Any:
        """`SQLAlchemyDatasource.transaction` for coroutine functions.

        Raises:
            DBOSException: a function that is not a coroutine function, an unknown isolation
                level, or a bad `max_attempts` (when decorating).
        """
        options: DatasourceOptions = {"isolation_level": isolation_level}
        if name is not None:
            options["name"] = name
        if max_attempts is not None:
            options["max_attempts"] = max_attempts

        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            self._check_function(f, want_async=True)
            self._options(options, f)

            @functools.wraps(f)
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                return await self.run_tx_step_async(options, f, *args, **kwargs)

            return wrapper

        return decorator if func is None else decorator(func)
