"""The checkpoint table a datasource keeps in the application database, and its migrations.

``datasource_outputs`` (in schema ``dbos`` by default on Postgres; unqualified on SQLite)
holds one row per transaction a workflow ran: (workflow_id, step_id) as primary key, the
encoded output or error, and when it was written. ``dbos_datasource_migrations`` holds the
schema version. Both are DBOS Transact 3.4's tables. The DDL lives in ``postgres.sql`` and
``sqlite.sql``; the rows are read and written with SQLAlchemy Core expressions over
`outputs_table`."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from .._base.errors import DBOSException, DBOSInitializationError
from ..storage._sqlfiles import load_queries

logger = logging.getLogger("dbos")

_POSTGRES = load_queries(__package__ or "dbos._datasource", "postgres.sql")
_SQLITE = load_queries(__package__ or "dbos._datasource", "sqlite.sql")
#: The migrations in order; the schema version is how many are applied.
_MIGRATIONS = ("migration_1",)
LATEST_VERSION = len(_MIGRATIONS)
DEFAULT_SCHEMA = "dbos"


def outputs_table(schema: str | None) -> sa.Table:
    """The checkpoint table, in `schema` (None: unqualified, for SQLite)."""
    return sa.Table(
        "datasource_outputs",
        sa.MetaData(schema=schema),
        sa.Column("workflow_id", sa.Text, primary_key=True),
        sa.Column("step_id", sa.Integer, primary_key=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("serialization", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=True),
    )


def is_sqlite(dialect_name: str) -> bool:
    """Whether a dialect (``engine.dialect.name``) is SQLite's."""
    return dialect_name == "sqlite"


def _statement(conn: sa.Connection, name: str, schema: str | None, role: str = "") -> sa.TextClause:
    queries = _SQLITE if is_sqlite(conn.dialect.name) else _POSTGRES
    quote = conn.dialect.identifier_preparer.quote
    text = queries[name].replace("{schema}", quote(schema) if schema else "")
    if role:
        text = text.replace("{role}", quote(role))
    return sa.text(text)


def _table_exists(conn: sa.Connection, schema: str | None, table: str) -> bool:
    params = {"table": table} if schema is None else {"table": table, "schema": schema}
    return conn.execute(_statement(conn, "table_exists", schema), params).first() is not None


def schema_version(conn: sa.Connection, schema: str | None) -> int:
    """The datasource schema version in this database (0: none yet)."""
    if not _table_exists(conn, schema, "dbos_datasource_migrations"):
        return 0
    row = conn.execute(_statement(conn, "read_version", schema)).first()
    return 0 if row is None else int(row[0])


def migrate(conn: sa.Connection, schema: str | None) -> None:
    """Bring the datasource tables up to date inside `conn`'s transaction; no DDL at all
    when they already are (so a role without DDL rights may call it on a migrated database).
    Concurrent migrators take turns (an advisory lock on Postgres, the write lock on SQLite).
    """
    if schema_version(conn, schema) >= LATEST_VERSION:
        return
    try:
        _apply(conn, schema)
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        role = conn.engine.url.username or "the connecting role"
        raise DBOSInitializationError(
            f"{role} may not create the datasource tables ({exc.orig}); migrate them once "
            "as a privileged role with SQLAlchemyDatasource.migrate(url, "
            f"application_role={role!r}), then create this datasource with "
            "run_migrations=False"
        ) from exc


def _apply(conn: sa.Connection, schema: str | None) -> None:
    if is_sqlite(conn.dialect.name):
        raw = conn.connection.driver_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            conn.execute(_statement(conn, "begin_immediate", None))
        current = schema_version(conn, schema)
        if current >= LATEST_VERSION:
            return
        conn.execute(_statement(conn, "create_version_table", None))
    else:
        assert schema is not None
        conn.execute(_statement(conn, "lock", schema), {"schema": schema})
        current = schema_version(conn, schema)
        if current >= LATEST_VERSION:
            return
        # Asked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE right even when it exists.
        exists = conn.execute(_statement(conn, "schema_exists", schema), {"schema": schema})
        if exists.first() is None:
            conn.execute(_statement(conn, "create_schema", schema))
        if not _table_exists(conn, schema, "dbos_datasource_migrations"):
            conn.execute(_statement(conn, "create_version_table", schema))
    for number, name in enumerate(_MIGRATIONS, 1):
        if number > current:
            logger.info("applying datasource schema migration %d", number)
            conn.execute(_statement(conn, name, schema))
    query = "insert_version" if current == 0 else "update_version"
    conn.execute(_statement(conn, query, schema), {"version": LATEST_VERSION})


def verify(conn: sa.Connection, schema: str | None, url: sa.URL) -> None:
    """Check that the datasource tables are up to date, changing nothing.

    Raises:
        DBOSInitializationError: they are missing or older than this library needs (the
            message says how to migrate them).
    """
    current = schema_version(conn, schema)
    if current < LATEST_VERSION:
        raise DBOSInitializationError(
            f"the application database {url.render_as_string(hide_password=True)} has "
            f"datasource schema version {current}, but version {LATEST_VERSION} is needed; "
            "this datasource was created with run_migrations=False, so migrate it with "
            "SQLAlchemyDatasource.migrate(url, application_role=...) as a privileged role, "
            "or create the datasource with run_migrations=True"
        )


def grant(conn: sa.Connection, schema: str, role: str) -> None:
    """Grant `role` what a datasource needs at run time and no more: use of the schema,
    SELECT/INSERT/DELETE on the checkpoint table, SELECT on the version table."""
    for name in ("grant_schema", "grant_outputs", "grant_version"):
        conn.execute(_statement(conn, name, schema, role))


def migrate_database(url: str, schema: str | None, application_role: str | None) -> None:
    """Migrate the datasource tables at `url` (as the privileged role it names), then grant
    `application_role` (if given) what it needs to use them.

    Raises:
        DBOSException: `application_role` with a SQLite URL (SQLite has no roles).
    """
    parsed = sa.make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and application_role:
        raise DBOSException("application_role is only meaningful for a Postgres database")
    driver = "sqlite" if sqlite else "postgresql+psycopg"
    engine = sa.create_engine(parsed.set(drivername=driver))
    try:
        with engine.begin() as conn:
            resolved = None if sqlite else (schema or DEFAULT_SCHEMA)
            migrate(conn, resolved)
            if application_role:
                assert resolved is not None
                logger.info("granting datasource rights on %s to %s", resolved, application_role)
                grant(conn, resolved, application_role)
    finally:
        engine.dispose()
