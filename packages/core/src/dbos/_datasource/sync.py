"""`SQLAlchemyDatasource`: exactly-once transactions in the application's database, for
sync code (DBOS Transact 3.4's API)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, overload

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker as SessionMaker

from .._base.errors import DBOSException
from .._engine.effects import run_sync
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


class SQLAlchemyDatasource(DatasourceBase):
    """An application database on SQLAlchemy 2 (Postgres through psycopg 3, or SQLite),
    whose `transaction` functions run exactly once in a workflow: each commits, in the same
    database transaction as its writes, a checkpoint row in ``datasource_outputs``, which
    answers a later execution of the workflow after a crash (DBOS Transact 3.4 semantics).
    Build one with `create`; the checkpoint rows of a workflow are dropped when it finishes.

    Attributes:
        engine: The SQLAlchemy engine every transaction uses.
        sessionmaker: Makes each transaction's session (bound to `engine` per call).
        schema: The schema of the checkpoint table (None on SQLite).
    """

    _kind = "SQLAlchemyDatasource"

    def __init__(
        self,
        *,
        engine: sa.Engine,
        schema: str | None = None,
        sessionmaker: SessionMaker[Any] | None = None,
        created_engine: bool = False,
    ) -> None:
        if sessionmaker is not None and not isinstance(sessionmaker, SessionMaker):
            raise DBOSException(
                "SQLAlchemyDatasource needs a sqlalchemy.orm.sessionmaker, got "
                f"{sessionmaker!r} (use AsyncSQLAlchemyDatasource for an async_sessionmaker)"
            )
        if not isinstance(engine, sa.Engine):
            raise DBOSException(
                f"SQLAlchemyDatasource needs a sqlalchemy Engine, got {engine!r} (use "
                "AsyncSQLAlchemyDatasource for an AsyncEngine)"
            )
        if sessionmaker is not None:
            check_sessionmaker(sessionmaker.kw, engine, self._kind)
        self.engine = engine
        self.created_engine = created_engine
        # Values stay readable after commit: a transaction's result outlives its session.
        self.sessionmaker: SessionMaker[Any] = sessionmaker or SessionMaker(expire_on_commit=False)
        super().__init__(engine.dialect.name, schema)

    @staticmethod
    def create(
        database_url: str,
        engine_kwargs: dict[str, Any] | None = None,
        engine: sa.Engine | None = None,
        schema: str | None = None,
        serializer: Any = None,
        sessionmaker: SessionMaker[Any] | None = None,
        run_migrations: bool = True,
    ) -> SQLAlchemyDatasource:
        """A datasource on the database at `database_url` (``postgresql://...`` gets psycopg
        3; ``sqlite:///path`` the standard library's driver), or on an `engine` you built
        (then `database_url` only says which kind of database it is, and `engine_kwargs`
        is unused). `sessionmaker`: yours, unbound or bound to `engine`. `schema`: where the
        checkpoint table lives on Postgres (default ``dbos``). With `run_migrations` the
        checkpoint table is created or brought up to date now; without, it is only checked
        (for a role that may not run DDL: see `migrate`).

        Raises:
            DBOSException: not a Postgres or SQLite URL; a sessionmaker with ``binds=``,
                bound to another engine, or an async one; a `serializer` (transactions are
                recorded with DBOS's configured serializer).
            DBOSInitializationError: `run_migrations=False` and the table is not migrated.
        """
        refuse_serializer(serializer)
        created = engine is None
        if engine is None:
            url = driver_url(database_url, is_async=False)
            kwargs = dict(engine_kwargs or {})
            if url.get_backend_name() == "sqlite":
                engine = sa.create_engine(url, **sqlite_engine_kwargs(kwargs))
                make_sqlite_transactional(engine)
            else:
                engine = sa.create_engine(url, **kwargs)
        try:
            datasource = SQLAlchemyDatasource(
                engine=engine, schema=schema, sessionmaker=sessionmaker, created_engine=created
            )
        except BaseException:
            if created:
                engine.dispose()  # refused before any use: leave no pool behind
            raise
        if run_migrations:
            datasource.run_migrations()
        else:
            datasource.verify_migrations()
        return datasource

    @staticmethod
    def migrate(
        database_url: str, *, schema: str | None = None, application_role: str | None = None
    ) -> None:
        """Create or update the checkpoint tables at `database_url`, connecting as the
        (privileged) role the URL names, and grant `application_role` what a datasource
        needs at run time: USAGE on the schema, SELECT/INSERT/DELETE on
        ``datasource_outputs``, SELECT on ``dbos_datasource_migrations``. The application
        then creates its datasource with ``run_migrations=False``.

        Raises:
            DBOSException: `application_role` with a SQLite URL.
        """
        migrate_database(database_url, schema, application_role)

    def run_migrations(self) -> None:
        """Create or update the checkpoint tables through this datasource's engine."""
        with self.engine.begin() as conn:
            migrate_tables(conn, self.schema)

    def verify_migrations(self) -> None:
        """Check that the checkpoint tables are up to date, changing nothing.

        Raises:
            DBOSInitializationError: they are not (the message says how to migrate them).
        """
        with self.engine.connect() as conn:
            verify(conn, self.schema, self.engine.url)

    def sql_session(self) -> Session:
        """The session of the transaction function of this datasource running here.

        Raises:
            DBOSException: called outside such a function.
        """
        session: Session = self._session()
        return session

    def _drop_checkpoints(self, workflow_id: str, from_step: int) -> None:
        """Delete the workflow's checkpoint rows from operation `from_step` on."""
        with self.engine.begin() as conn:
            conn.execute(self._delete_statement(workflow_id, from_step))

    def run_tx_step(
        self,
        ds_options: DatasourceOptions | None,
        func: Callable[P, R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run `func(*args, **kwargs)` as a transaction of this datasource (what the
        decorator does for each call): recorded in the running workflow, exactly once;
        outside a workflow (or inside a step), a plain transaction.

        Raises:
            DBOSException: `func` is a coroutine function, or bad options.
            DBOSTransactionRetriesExceeded: every attempt hit a serialization conflict.
            Exception: what `func` (or the commit) raised, after the rollback.
        """
        self._check_function(func, want_async=False)
        spec = self._spec(
            ds_options,
            func,
            args,
            kwargs,
            lambda: self.sessionmaker(bind=self.engine),
        )
        result: R = run_sync(transaction_procedure(spec))
        return result

    @overload
    def transaction(self, func: Callable[P, R]) -> Callable[P, R]: ...

    @overload
    def transaction(
        self,
        func: None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
        max_attempts: int | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def transaction(
        self,
        func: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        isolation_level: IsolationLevel = "SERIALIZABLE",
        max_attempts: int | None = None,
    ) -> Any:
        """Make a function a transaction of this datasource: ``@ds.transaction`` or
        ``@ds.transaction(name=..., isolation_level=...)``. The function reads and writes
        through `sql_session()`; each call runs in one database transaction (retried on a
        serialization conflict, up to `max_attempts`, default 50), recorded as a step of the
        calling workflow with its checkpoint row committed in the same transaction, so it
        runs exactly once per workflow; its result is returned again on replay.

        Raises:
            DBOSException: a coroutine function, an unknown isolation level, or a bad
                `max_attempts` (when decorating).
        """
        options: DatasourceOptions = {"isolation_level": isolation_level}
        if name is not None:
            options["name"] = name
        if max_attempts is not None:
            options["max_attempts"] = max_attempts

        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            self._check_function(f, want_async=False)
            self._options(options, f)  # bad options fail here, not at the first call

            @functools.wraps(f)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                return self.run_tx_step(options, f, *args, **kwargs)

            return wrapper

        return decorator if func is None else decorator(func)
