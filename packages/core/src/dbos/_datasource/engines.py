"""Engines and sessionmakers for datasources: which driver a URL gets, SQLite's transaction
handling, and the checks on a sessionmaker the application brings."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event

from .._base.errors import DBOSException
from .schema import _SQLITE, DEFAULT_SCHEMA

#: The isolation levels a transaction may ask for (DBOS Transact 3.4's).
IsolationLevel = Literal["SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED"]
ISOLATION_LEVELS = ("SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED")
#: Seconds a SQLite connection waits for another writer's lock before "database is locked".
SQLITE_BUSY_TIMEOUT_S = 30.0


def driver_url(database_url: str | sa.URL, *, is_async: bool) -> sa.URL:
    """`database_url` with the driver this library uses: psycopg 3 for Postgres (sync and
    async), the standard library's sqlite3 or aiosqlite for SQLite. A URL naming another
    driver keeps it.

    Raises:
        DBOSException: the URL is not a Postgres or SQLite one.
    """
    url = sa.make_url(database_url)
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise DBOSException(
            f"a datasource needs a Postgres or SQLite database URL, got {backend!r} "
            f"({url.render_as_string(hide_password=True)})"
        )
    if "+" in url.drivername:
        return url
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite" if is_async else "sqlite")
    return url.set(drivername="postgresql+psycopg")


def schema_for(dialect_name: str, schema: str | None) -> str | None:
    """The schema of the checkpoint table: none on SQLite, `schema` or ``dbos`` on Postgres."""
    return None if dialect_name == "sqlite" else (schema or DEFAULT_SCHEMA)


def sqlite_engine_kwargs(engine_kwargs: dict[str, Any]) -> dict[str, Any]:
    """A SQLite engine's keyword arguments: a long busy timeout unless given."""
    kwargs = dict(engine_kwargs)
    connect_args = dict(kwargs.get("connect_args") or {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    kwargs["connect_args"] = connect_args
    return kwargs


def make_sqlite_transactional(sync_engine: sa.Engine) -> None:
    """Give a SQLite engine real transactions that take the write lock when they begin.

    The sqlite3 module opens a transaction only before a write, so a transaction's reads
    would run outside it, and two transactions that read and then write could both read
    the old value. Here the driver opens nothing itself, and each transaction starts with
    BEGIN IMMEDIATE: writers take turns (waiting up to the busy timeout), and each reads
    what the previous one committed."""

    @event.listens_for(sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        # Its own statement, no comment: it is the one a "database is locked" error quotes.
        conn.exec_driver_sql(_SQLITE["begin_transaction"])


def check_sessionmaker(session_kw: dict[str, Any], engine: Any, kind: str) -> None:
    """Refuse a sessionmaker that would send statements elsewhere than the datasource's
    engine: the application's writes and the checkpoint row must share one transaction.

    Raises:
        DBOSException: it has ``binds=`` (per-mapper engines), or is bound to another engine.
    """
    if session_kw.get("binds"):
        raise DBOSException(
            f"the sessionmaker given to {kind} has binds=: every statement of a datasource "
            "transaction must go to the datasource's engine, to commit with its checkpoint; "
            "pass a sessionmaker without binds"
        )
    bind = session_kw.get("bind")
    if bind is not None and bind is not engine:
        url = getattr(bind, "url", None)  # an Engine's or AsyncEngine's; a Connection has none
        shown = url.render_as_string(hide_password=True) if url is not None else repr(bind)
        raise DBOSException(
            f"the sessionmaker given to {kind} is bound to another engine ({type(bind).__name__} "
            f"on {shown}) than the datasource's: pass that engine as engine= too, or an "
            "unbound sessionmaker"
        )


def check_isolation(level: object) -> str:
    """`level`, checked.

    Raises:
        DBOSException: it is not one of the isolation levels a transaction may ask for.
    """
    if level not in ISOLATION_LEVELS:
        raise DBOSException(
            f"isolation_level must be one of {', '.join(ISOLATION_LEVELS)}, got {level!r}"
        )
    assert isinstance(level, str)
    return level


def check_max_attempts(value: object) -> int:
    """`value`, checked.

    Raises:
        DBOSException: it is not an int >= 1.
    """
    if type(value) is not int or value < 1:
        raise DBOSException(f"max_attempts must be an integer >= 1, got {value!r}")
    return value
