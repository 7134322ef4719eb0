"""What sync and async datasources share: the checkpoint table, the decorator's options,
the spec of one call, and dropping checkpoint rows."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, TypedDict

import sqlalchemy as sa

from .._base.errors import DBOSException
from .._engine.registry import function_name
from . import registry
from .engines import IsolationLevel, check_isolation, check_max_attempts, schema_for
from .schema import outputs_table
from .transact import (
    DEFAULT_MAX_ATTEMPTS,
    TransactionSpec,
    is_postgres_conflict,
    is_sqlite_conflict,
    session_of,
)

logger = logging.getLogger("dbos")


class DatasourceOptions(TypedDict, total=False):
    """Options of one transaction function (DBOS Transact 3.4's `DatasourceOptions`; every
    key optional).

    Keys:
        name: The name it is recorded under in its workflow's steps (default: the
            function's qualified name).
        isolation_level: ``"SERIALIZABLE"`` (default), ``"REPEATABLE READ"`` or
            ``"READ COMMITTED"``; Postgres only (a SQLite transaction is always
            serializable: writers take turns).
        max_attempts: Attempts in all when every one fails on a serialization conflict,
            before `DBOSTransactionRetriesExceeded` (ours; default 50).
    """

    name: str | None
    isolation_level: IsolationLevel | None
    max_attempts: int


def refuse_serializer(serializer: object) -> None:
    """Raises `DBOSException` for a `serializer`: a datasource records with the workflow's."""
    if serializer is not None:
        raise DBOSException(
            "a datasource's own serializer is not supported here: its transactions are "
            "recorded with the serializer DBOS is configured with (DBOSConfig['serializer'])"
        )


class DatasourceBase:
    """The part of a datasource independent of sync or async sessions."""

    _kind = "datasource"

    def __init__(self, dialect_name: str, schema: str | None) -> None:
        self.dialect_name = dialect_name
        #: The schema of the checkpoint table (None on SQLite).
        self.schema = schema_for(dialect_name, schema)
        self._table = outputs_table(self.schema)
        self._is_conflict = is_sqlite_conflict if dialect_name == "sqlite" else is_postgres_conflict
        registry.register(self)

    def _options(
        self, options: DatasourceOptions | None, func: Callable[..., Any]
    ) -> tuple[str, str | None, int]:
        options = options or {}
        name = options.get("name") or function_name(func)
        level = check_isolation(options.get("isolation_level") or "SERIALIZABLE")
        attempts = check_max_attempts(options.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        # SQLite knows one isolation (serializable); its driver refuses the others' names.
        return name, None if self.dialect_name == "sqlite" else level, attempts

    def _spec(
        self,
        options: DatasourceOptions | None,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        make_session: Callable[[], Any],
    ) -> TransactionSpec:
        name, level, attempts = self._options(options, func)
        return TransactionSpec(
            owner=self,
            name=name,
            function=func,
            args=args,
            kwargs=kwargs,
            isolation_level=level,
            max_attempts=attempts,
            table=self._table,
            is_conflict=self._is_conflict,
            make_session=make_session,
        )

    def _check_function(self, func: Callable[..., Any], want_async: bool) -> None:
        if not callable(func):
            raise DBOSException(f"{self._kind}.transaction needs a function, got {func!r}")
        if inspect.iscoroutinefunction(func) != want_async:
            raise DBOSException(
                f"{self._kind}.transaction needs a "
                f"{'coroutine' if want_async else 'plain (not async)'} function, but "
                f"{function_name(func)} is {'not' if want_async else 'a coroutine function'}"
                + ("" if want_async else ": use AsyncSQLAlchemyDatasource for async code")
            )

    def _session(self) -> Any:
        return session_of(self, self._kind)

    def _delete_statement(self, workflow_id: str, from_step: int) -> sa.Delete:
        table = self._table
        return sa.delete(table).where(
            table.c.workflow_id == workflow_id, table.c.step_id >= from_step
        )

    def _drop_checkpoints(self, workflow_id: str, from_step: int) -> None:
        """Delete the workflow's checkpoint rows from operation `from_step` on (blocking)."""
        raise NotImplementedError
