"""A least-privileged application role (issue 14, item 4): a privileged role migrates the
datasource tables and grants the application role what it needs; the application then runs
transactions as that role, which may not change the schema (Postgres only: SQLite has no
roles)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from dbos import DBOS, DBOSException, SetWorkflowID, SQLAlchemyDatasource
from dbos._datasource.registry import forget

# A Postgres role test: nothing to run where no Postgres driver is installed (core alone).
psycopg = pytest.importorskip("psycopg")
sql = pytest.importorskip("psycopg.sql")


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{role}:{role}-pw@{host}"))


@pytest.fixture
def app_role(dbos_backend: str, app_database_url: str) -> Iterator[str]:
    if dbos_backend != "postgres":
        pytest.skip("roles are a Postgres matter")
    role = f"app_{urlsplit(app_database_url).path.strip('/')[-12:]}"
    with psycopg.connect(app_database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(f"{role}-pw")
            )
        )
        # The application's own table, and the rights on it the application needs.
        conn.execute("CREATE TABLE orders (id SERIAL PRIMARY KEY, item TEXT NOT NULL)")
        conn.execute(sql.SQL("GRANT SELECT, INSERT ON orders TO {}").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("GRANT USAGE ON SEQUENCE orders_id_seq TO {}").format(sql.Identifier(role))
        )
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    try:
        yield role
    finally:
        # Roles are cluster-wide: its grants in this database go first, then the role.
        with psycopg.connect(app_database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_application_role_runs_transactions_after_a_privileged_migrate(
    dbos: type[DBOS], app_database_url: str, app_role: str
) -> None:
    role_url = as_role(app_database_url, app_role)
    # Before the migration, the application role can neither use nor create the tables.
    with pytest.raises(DBOSException, match="datasource schema version 0"):
        SQLAlchemyDatasource.create(role_url, run_migrations=False)
    with pytest.raises(DBOSException, match="may not create the datasource tables") as caught:
        SQLAlchemyDatasource.create(role_url)
    assert f"application_role={app_role!r}" in str(caught.value)
    assert f"{app_role}-pw" not in str(caught.value)

    SQLAlchemyDatasource.migrate(app_database_url, application_role=app_role)
    ds = SQLAlchemyDatasource.create(role_url, run_migrations=False)
    try:

        @ds.transaction()
        def add(item: str) -> str:
            ds.sql_session().execute(sa.text("INSERT INTO orders (item) VALUES (:i)"), {"i": item})
            return item

        @DBOS.workflow()
        def wf() -> list[str]:
            return [add("a"), add("b")]

        with SetWorkflowID("least-privileged"):
            assert wf() == ["a", "b"]
        with SetWorkflowID("least-privileged"):
            assert wf() == ["a", "b"]
        # Its rights suffice to drop the rows of a rewound step (and of a finished workflow).
        assert DBOS.rewind_workflow("least-privileged", start_step=2).get_result() == ["a", "b"]
        with ds.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one() == 3
            # The role got only what it needs: no DDL in the datasource's schema.
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text("CREATE TABLE dbos.intruder (x INT)"))
    finally:
        forget(ds)
        ds.engine.dispose()


def test_application_role_is_refused_for_sqlite(tmp_path: Path) -> None:
    with pytest.raises(DBOSException, match="only meaningful for a Postgres database"):
        SQLAlchemyDatasource.migrate(f"sqlite:///{tmp_path}/app.db", application_role="app")
